"""The headless guardrail queries on a real store in tmp: the paged log, every filter,
counts by detector per bucket, false-positive rates from scores (latest wins)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from store.query import StoreReader
from store.query.filters import FilterError
from store.query.guardrails import EventPage, GuardrailQueries, bucket_for, parse
from tests.guardrails_ui.guardrails_ui_support import T0, event, score, write

NOW = (T0 + timedelta(hours=2)).timestamp()


def queries(store: Path) -> GuardrailQueries:
    return GuardrailQueries(StoreReader(store))


def ids(page_or_df: EventPage | pl.DataFrame) -> list[str]:
    df = page_or_df.rows if isinstance(page_or_df, EventPage) else page_or_df
    return df["event_id"].to_list()


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    """Ten events a minute apart, plus two on the day before (another day partition)."""
    store = tmp_path / "store"
    kinds = [
        dict(detector="pii.email", category="pii", severity="medium", action="redacted"),
        dict(detector="injection.rules", category="injection", severity="high", action="flagged"),
        dict(detector="secret.api_key", category="secret", severity="critical", action="redacted"),
        dict(detector="lakera", category="injection", severity="high", action="blocked", source="span_event"),
        dict(detector="output.refusal", category="output", severity="low", action="flagged", direction="output"),
    ]
    rows = [event(i, **kinds[i % 5], user_id="alice" if i < 5 else "bob", service="shop" if i % 2 else "support")
            for i in range(10)]
    rows += [event(100 + i, time=T0 - timedelta(days=1, minutes=i), detector="pii.phone",
                   excerpt="yesterday's [REDACTED:phone]")
             for i in range(2)]
    write(store, events=rows[:6])
    write(store, events=rows[6:])  # two flushes: several segments per day
    return store


def test_list_is_newest_first_and_pages_across_days_without_gaps(mixed: Path) -> None:
    q = queries(mixed)
    first = q.list(limit=4)
    assert ids(first) == ["ev0009", "ev0008", "ev0007", "ev0006"]
    seen, cursor = ids(first), first.next_cursor
    while cursor is not None:
        page = q.list(limit=4, cursor=cursor)
        seen += ids(page)
        cursor = page.next_cursor
    assert seen == [f"ev{i:04d}" for i in range(9, -1, -1)] + ["ev0100", "ev0101"]
    assert q.all(page=5)["event_id"].to_list() == seen
    assert q.list(limit=100).next_cursor is None


@pytest.mark.parametrize(("query", "expected"), [
    ("detector:pii.*", [5, 0, 100, 101]),
    ("detector:PII.EMAIL", [5, 0]),
    ("-detector:pii.*", [9, 8, 7, 6, 4, 3, 2, 1]),
    ("category:injection", [8, 6, 3, 1]),
    ("category:secret,output", [9, 7, 4, 2]),
    ("severity:high", [8, 6, 3, 1]),
    ("severity>=high", [8, 7, 6, 3, 2, 1]),
    ("severity<medium", [9, 4]),
    ("action:blocked", [8, 3]),
    ("action:blocked,redacted", [7, 8, 5, 3, 2, 0]),
    ("source:span_event", [8, 3]),
    ("service:support", [8, 6, 4, 2, 0]),
    ("user:bob", [9, 8, 7, 6, 5]),
    ("direction:output", [9, 4]),
    ("user:alice severity>=high action:flagged", [1]),
    ("lakera", [8, 3]),
])
def test_filters(mixed: Path, query: str, expected: list[int]) -> None:
    rows = queries(mixed).list(parse(query, now=NOW), limit=100).rows
    assert sorted(ids(rows)) == sorted(f"ev{i:04d}" for i in expected)
    assert rows["time"].to_list() == sorted(rows["time"].to_list(), reverse=True)


def test_time_range_and_free_text(mixed: Path) -> None:
    q = queries(mixed)
    # NOW is two hours after T0: the last 115 minutes hold the events at minute 5 and later
    assert ids(q.list(parse("since:115m", now=NOW))) == [f"ev{i:04d}" for i in range(9, 4, -1)]
    assert ids(q.list(parse("until:2026-11-20", now=NOW))) == ["ev0100", "ev0101"]
    assert ids(q.list(parse("since:2026-11-20T12:03 until:2026-11-20T12:05", now=NOW))) == ["ev0004", "ev0003"]
    assert ids(q.list(parse('"yesterday\'s"', now=NOW))) == ["ev0100", "ev0101"]
    assert ids(q.list(parse("trace:0af7*", now=NOW), limit=3)) == ["ev0009", "ev0008", "ev0007"]
    assert ids(q.list(parse("span:nope", now=NOW))) == []


@pytest.mark.parametrize(("query", "message"), [
    ("colour:red", "unknown filter 'colour:'"),
    ("severity:urgent", "severity: is one of low, medium, high, critical"),
    ("severity>=urgent", "severity is one of"),
    ("action:dropped", "action: is one of flagged, redacted, blocked"),
    ("fp:maybe", "fp: is yes or no"),
    ("since:", "since: needs a value"),
    ("since:yesterday", "since/until takes a duration"),
    ("since:1h until:2h", "since: must be before until:"),
    ('"open quote', "unbalanced quotes"),
])
def test_filter_errors_say_what_to_fix(query: str, message: str) -> None:
    with pytest.raises(FilterError, match=message.replace("(", r"\(")):
        parse(query, now=NOW)


def test_an_event_stored_twice_is_listed_once(tmp_path: Path) -> None:
    store = tmp_path / "store"
    write(store, events=[event(1), event(2)])
    write(store, events=[event(1)])  # the same span scanned again (a replay)
    q = queries(store)
    assert ids(q.list()) == ["ev0002", "ev0001"]
    assert q.detector_stats()["events"].to_list() == [2]


def test_false_positive_marks_latest_wins_and_rates_per_detector(tmp_path: Path) -> None:
    store = tmp_path / "store"
    events = [event(i, detector="pii.email" if i < 4 else "injection.rules") for i in range(6)]
    later = T0 + timedelta(hours=1)
    write(store, events=events, scores=[
        score("ev0000", 1, later),
        score("ev0001", 1, later), score("ev0001", 0, later + timedelta(seconds=5)),  # unmarked
        score("ev0002", 0, later), score("ev0002", 1, later + timedelta(seconds=5)),  # marked again
        score("ev0004", 1, later),
        score("ev0005", 1, later, name="helpfulness"),  # another score on the event: not a mark
    ])
    q = queries(store)
    rows = {r["event_id"]: r["false_positive"] for r in q.list().rows.to_dicts()}
    assert rows == {"ev0000": True, "ev0001": False, "ev0002": True, "ev0003": False, "ev0004": True,
                    "ev0005": False}
    assert ids(q.list(parse("fp:yes"))) == ["ev0004", "ev0002", "ev0000"]
    assert ids(q.list(parse("fp:no"))) == ["ev0005", "ev0003", "ev0001"]
    assert ids(q.list(parse("-fp:yes"))) == ["ev0005", "ev0003", "ev0001"]
    stats = {r["detector"]: r for r in q.detector_stats(parse("fp:yes")).to_dicts()}  # fp: is ignored for rates
    assert (stats["pii.email"]["events"], stats["pii.email"]["false_positives"]) == (4, 2)
    assert stats["pii.email"]["fp_rate"] == pytest.approx(0.5)
    assert (stats["injection.rules"]["events"], stats["injection.rules"]["false_positives"]) == (2, 1)
    assert q.event("ev0002")["false_positive"] is True
    assert q.event("missing") is None
    # a later unmark on the shared store flips the rate back
    write(store, scores=[score("ev0000", 0, later + timedelta(minutes=1))])
    stats = {r["detector"]: r for r in q.detector_stats().to_dicts()}
    assert stats["pii.email"]["false_positives"] == 1


def test_detector_stats_follow_the_filter(mixed: Path) -> None:
    stats = queries(mixed).detector_stats(parse("user:alice", now=NOW)).to_dicts()
    assert [(r["detector"], r["events"]) for r in stats] == [
        ("pii.phone", 2), ("injection.rules", 1), ("lakera", 1), ("output.refusal", 1), ("pii.email", 1), ("secret.api_key", 1)]
    assert all(r["fp_rate"] == 0 for r in stats)


def test_counts_by_detector_per_bucket(mixed: Path) -> None:
    q = queries(mixed)
    since = int(T0.timestamp() * 1e6)
    counts = q.counts(None, since, since + 10 * 60_000_000, max_buckets=10)
    assert counts.bucket_us == 60_000_000
    assert counts.counts["pii.email"] == [1, 0, 0, 0, 0, 1, 0, 0, 0, 0]
    assert counts.counts["lakera"] == [0, 0, 0, 1, 0, 0, 0, 0, 1, 0]
    assert sum(sum(v) for v in counts.counts.values()) == 10  # yesterday's are outside the window
    # five-minute buckets, filtered
    counts = q.counts(parse("category:injection", now=NOW), since, since + 3600 * 1_000_000, max_buckets=12)
    assert counts.bucket_us == 300_000_000
    assert set(counts.counts) == {"injection.rules", "lakera"}
    assert counts.counts["injection.rules"][:2] == [1, 1]
    assert len(counts.counts["lakera"]) == 12


def test_bucket_sizes_are_round() -> None:
    hour = 3600 * 1_000_000
    assert bucket_for(hour, 60) == 60_000_000
    assert bucket_for(24 * hour, 48) == 1800 * 1_000_000
    assert bucket_for(7 * 24 * hour, 48) == 6 * hour  # 3h would make 56 buckets
    assert bucket_for(10_000 * 24 * hour, 48) == 7 * 24 * hour


def test_an_empty_store_answers_with_empty_results(tmp_path: Path) -> None:
    store = tmp_path / "store"
    write(store, scores=[score("x", 1, T0)])
    q = queries(store)
    page = q.list()
    assert page.rows.height == 0 and page.next_cursor is None
    assert "false_positive" in page.rows.columns
    assert q.detector_stats().height == 0
    assert q.counts(None, 0, 3600 * 1_000_000).counts == {}
