"""Guardrail events: the log (paged, newest first), counts by detector over time,
and each detector's false-positive rate from the scores people left.

The guardrails filter language (the pane's filter bar and ``guardrails list -f``):

    detector:pii.* category:injection,jailbreak severity>=high action:blocked source:litellm
    service:shop user:alice direction:input fp:yes since:1h until:2026-11-20 "ignore all"

* ``key:value`` with ``*`` wildcards; several values with commas (``action:blocked,redacted``);
  ``-key:value`` negates. Keys: detector, category, severity, action, source, service, user,
  direction, trace, span.
* ``severity`` also compares by rank: ``severity>=high`` (low < medium < high < critical).
* ``fp:yes`` only events marked false positive, ``fp:no`` only the others.
* ``since:`` / ``until:`` take a duration back from now (``30s 15m 1h 7d 2w``) or a date
  (``2026-11-20``, ``2026-11-20T10:00``).
* Anything else is free text, matched case-insensitively against the excerpt and the
  detector; quote it to keep spaces.

A false-positive mark is a score named ``guardrail_false_positive`` whose ``target_id`` is
the event id; the latest score for an event wins (value 1 marks, 0 unmarks). The same event
can be stored twice (a replayed span); the log shows it once.
"""

from __future__ import annotations

import re
import shlex
import time
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from store.query.filters import FilterError, like_pattern
from store.query.filters import parse_when
from store.query.reader import StoreReader, TimeRange, time_bounds
from store.segments.manifest import Segment

FP_SCORE = "guardrail_false_positive"
SEVERITIES = ("low", "medium", "high", "critical")
DIRECTIONS = ("input", "output")
ACTIONS = ("flagged", "redacted", "blocked")
SOURCES = ("ingest", "openinference", "span_event", "litellm", "api")
COLUMNS = {"detector": "detector", "category": "category", "severity": "severity", "action": "action",
           "source": "source", "service": "service", "user": "user_id", "direction": "direction",
           "trace": "trace_id", "span": "span_id"}
CHOICES = {"severity": SEVERITIES, "direction": DIRECTIONS, "action": ACTIONS}
KEYS = set(COLUMNS) | {"fp", "since", "until"}
# scores can carry an earlier clock than the event they mark (another machine's clock)
SCORE_SKEW_US = 86_400_000_000
_SEVERITY_CMP = re.compile(r"^severity(>=|<=|>|<|=)([a-z]+)$")

LIST_COLUMNS = ("event_id", "time", "trace_id", "span_id", "direction", "detector", "detector_version",
                "category", "severity", "action", "source", "service", "user_id", "excerpt", "details",
                "false_positive")


@dataclass(frozen=True)
class Term:
    key: str
    values: tuple[str, ...]
    negate: bool = False


@dataclass
class GuardrailFilter:
    terms: list[Term] = field(default_factory=list)
    severities: tuple[str, ...] | None = None  # from severity>=high and the like
    fp: bool | None = None
    text: list[str] = field(default_factory=list)
    since_us: int | None = None
    until_us: int | None = None

    @property
    def time_range(self) -> TimeRange:
        return TimeRange(self.since_us, self.until_us)

    def is_empty(self) -> bool:
        return not (self.terms or self.severities is not None or self.fp is not None or self.text
                    or self.since_us or self.until_us)


def _severity_range(op: str, word: str) -> tuple[str, ...]:
    if word not in SEVERITIES:
        raise FilterError(f"severity is one of {', '.join(SEVERITIES)}; got {word!r}")
    i = SEVERITIES.index(word)
    pick = {">=": lambda j: j >= i, ">": lambda j: j > i, "<=": lambda j: j <= i, "<": lambda j: j < i,
            "=": lambda j: j == i}[op]
    return tuple(s for j, s in enumerate(SEVERITIES) if pick(j))


def parse(query: str, now: float | None = None) -> GuardrailFilter:
    """The filter for a query typed in the pane or passed with ``-f``; FilterError says
    what to fix."""
    now = time.time() if now is None else now
    f = GuardrailFilter()
    try:
        tokens = shlex.split(query or "")
    except ValueError as e:
        raise FilterError(f"unbalanced quotes: {e}") from None
    for tok in tokens:
        m = _SEVERITY_CMP.match(tok.lower())
        if m:
            picked = _severity_range(m.group(1), m.group(2))
            f.severities = picked if f.severities is None else tuple(s for s in f.severities if s in picked)
            continue
        key, sep, val = tok.partition(":")
        negate = key.startswith("-")
        key = key.lstrip("-").lower()
        if not sep or not re.fullmatch(r"[a-z_]+", key):
            f.text.append(tok)
            continue
        if key not in KEYS:
            known = ", ".join(sorted(KEYS))
            raise FilterError(f"unknown filter {key + ':'!r}; known: {known}; or severity>=high")
        if not val:
            raise FilterError(f"{key}: needs a value, e.g. {key}:{'1h' if key in ('since', 'until') else 'x*'}")
        if key in ("since", "until"):
            us = parse_when(val, now)
            if key == "since":
                f.since_us = us
            else:
                f.until_us = us
            continue
        if key == "fp":
            word = val.lower()
            if word not in ("yes", "no", "true", "false", "1", "0"):
                raise FilterError("fp: is yes or no")
            f.fp = (word in ("yes", "true", "1")) != negate
            continue
        values = tuple(v for v in val.split(",") if v)
        for v in values:
            if key in CHOICES and "*" not in v and v.lower() not in CHOICES[key]:
                raise FilterError(f"{key}: is one of {', '.join(CHOICES[key])}; got {v!r}")
        f.terms.append(Term(key, values, negate))
    if f.since_us and f.until_us and f.since_us >= f.until_us:
        raise FilterError("since: must be before until:")
    return f


def predicates(f: GuardrailFilter) -> tuple[list[str], list[Any]]:
    """SQL over one event row (GUARDRAIL_EVENTS columns), without the fp mark."""
    sql, bound_params = time_bounds("time", f.since_us, f.until_us)
    params: list[Any] = list(bound_params)
    for t in f.terms:
        col = COLUMNS[t.key]
        ors = " OR ".join(f"coalesce({col}, '') ILIKE ? ESCAPE '\\'" for _ in t.values)
        sql.append(f"NOT ({ors})" if t.negate else f"({ors})")
        params.extend(like_pattern(v) for v in t.values)
    if f.severities is not None:
        sql.append("list_contains(?, severity)")
        params.append(list(f.severities))
    for word in f.text:
        sql.append("(contains(lower(coalesce(excerpt, '')), ?) OR contains(lower(detector), ?))")
        params.extend([word.lower(), word.lower()])
    return sql, params


@dataclass(frozen=True)
class Cursor:
    """Keyset paging: the last event seen (newest first)."""

    time_us: int
    event_id: str


@dataclass
class EventPage:
    rows: pl.DataFrame
    next_cursor: Cursor | None


@dataclass(frozen=True)
class DetectorCounts:
    """Events per detector in equal time buckets over [since_us, until_us)."""

    since_us: int
    until_us: int
    bucket_us: int
    counts: dict[str, list[int]]


# Bucket sizes a person reads at a glance: 1m, 5m, 15m, 30m, 1h, 3h, 6h, 12h, 1d, 7d.
NICE_BUCKETS_S = (60, 300, 900, 1800, 3600, 10800, 21600, 43200, 86400, 604800)


def bucket_for(span_us: int, max_buckets: int = 60) -> int:
    for seconds in NICE_BUCKETS_S:
        if span_us / (seconds * 1_000_000) <= max_buckets:
            return seconds * 1_000_000
    return NICE_BUCKETS_S[-1] * 1_000_000


def _days_desc(segments: list[Segment], tr: TimeRange) -> list[str]:
    return sorted({s.day for s in segments if s.table == "guardrail_events" and tr.overlaps(s.min_us, s.max_us)},
                  reverse=True)


class GuardrailQueries:
    def __init__(self, reader: StoreReader):
        self.r = reader

    # -- the SQL every question shares -------------------------------------------------------
    def _events_sql(self, f: GuardrailFilter, event_files: list[str] | None, since_us: int | None) -> tuple[str, list[Any]]:
        """``ev``: the filtered events, once each, with ``false_positive`` from the latest mark."""
        where, params = predicates(f)
        scores_tr = TimeRange(None if since_us is None else since_us - SCORE_SKEW_US, None)
        fp_where = ["TRUE"]
        if f.fp is not None:
            fp_where.append("false_positive" if f.fp else "NOT false_positive")
        sql = f"""
            WITH e AS (
                SELECT * FROM {self.r.scan('guardrail_events', f.time_range, files=event_files)}
                WHERE {' AND '.join(where) or 'TRUE'}
                QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY time DESC) = 1
            ),
            marks AS (
                SELECT target_id, arg_max(value, time) AS mark
                FROM {self.r.scan('scores', scores_tr)}
                WHERE name = '{FP_SCORE}' AND target_id IS NOT NULL
                GROUP BY target_id
            ),
            ev AS (
                SELECT e.*, coalesce(marks.mark, 0) > 0 AS false_positive
                FROM e LEFT JOIN marks ON marks.target_id = e.event_id
            )
            SELECT * FROM ev WHERE {' AND '.join(fp_where)}
        """
        return sql, params

    # -- the log -----------------------------------------------------------------------------
    def list(self, f: GuardrailFilter | None = None, limit: int = 100, cursor: Cursor | None = None) -> EventPage:
        """Newest first. Reads one day partition at a time, newest day first, and stops as
        soon as the page is full. ``next_cursor`` is set only when more events match."""
        f = f or GuardrailFilter()
        tr = f.time_range
        if cursor is not None:
            tr = TimeRange(tr.since_us, min(tr.until_us or 2**62, cursor.time_us + 1))
        frames: list[pl.DataFrame] = []
        need = limit + 1  # one more than asked: then next_cursor is only set when there is more
        for day in _days_desc(self.r.manifest().segments, tr):
            df = self.r.query_fresh(self._page_sql, f, day, tr, need, cursor)
            if df.height:
                frames.append(df)
                need -= df.height
            if need <= 0:
                break
        rows = pl.concat(frames, how="vertical_relaxed") if frames else self._empty()
        rows = rows.unique("event_id", keep="first", maintain_order=True).select(LIST_COLUMNS)
        nxt = None
        if rows.height > limit:
            rows = rows.head(limit)
            last = rows.row(limit - 1, named=True)
            nxt = Cursor(_us(last["time"]), last["event_id"])
        return EventPage(rows, nxt)

    def _page_sql(self, f: GuardrailFilter, day: str | None, tr: TimeRange, limit: int,
                  cursor: Cursor | None) -> tuple[str, list[Any]]:
        # the day's files from the current manifest, so a retry after compaction sees the new ones
        segs = [s for s in self.r.manifest().segments
                if s.table == "guardrail_events" and s.day == day and tr.overlaps(s.min_us, s.max_us)]
        since_us = min((s.min_us for s in segs), default=None)
        sql, params = self._events_sql(f, [str(self.r.root / s.path) for s in segs], since_us)
        outer = ["TRUE"]
        if cursor is not None:
            outer.append("(time < make_timestamp(?) OR (time = make_timestamp(?) AND event_id < ?))")
            params = params + [cursor.time_us, cursor.time_us, cursor.event_id]
        return (f"SELECT {', '.join(LIST_COLUMNS)} FROM ({sql}) WHERE {' AND '.join(outer)} "
                f"ORDER BY time DESC, event_id DESC LIMIT {int(limit)}"), params

    def _empty(self) -> pl.DataFrame:
        return self.r.query_fresh(self._page_sql, GuardrailFilter(), None, TimeRange(), 0, None)

    def all(self, f: GuardrailFilter | None = None, max_rows: int = 1_000_000, page: int = 5000) -> pl.DataFrame:
        """Every matching event, newest first (exports), up to ``max_rows``."""
        frames, cursor = [], None
        total = 0
        while total < max_rows:
            p = self.list(f, limit=min(page, max_rows - total), cursor=cursor)
            frames.append(p.rows)
            total += p.rows.height
            if p.next_cursor is None:
                break
            cursor = p.next_cursor
        return pl.concat(frames, how="vertical_relaxed") if frames else self._empty()

    def event(self, event_id: str) -> dict[str, Any] | None:
        df = self.r.query_fresh(
            lambda: (f"SELECT {', '.join(LIST_COLUMNS)} FROM ({self._events_sql(GuardrailFilter(), None, None)[0]}) "
                     f"WHERE event_id = ?", [event_id]))
        return df.row(0, named=True) if df.height else None

    # -- per detector -------------------------------------------------------------------------
    def detector_stats(self, f: GuardrailFilter | None = None) -> pl.DataFrame:
        """One row per detector: events, marked false positives, the false-positive rate
        (marked / events), the last event's time. The ``fp:`` term is ignored (a rate
        needs both sides). Most events first."""
        f = _without_fp(f or GuardrailFilter())

        def build() -> tuple[str, list[Any]]:
            sql, params = self._events_sql(f, None, f.since_us)
            return (f"""
                SELECT detector, count(*)::BIGINT AS events,
                       count(*) FILTER (WHERE false_positive)::BIGINT AS false_positives,
                       count(*) FILTER (WHERE false_positive) / count(*) AS fp_rate,
                       max(time) AS last_time,
                       arg_max(category, time) AS category
                FROM ({sql}) GROUP BY detector ORDER BY events DESC, detector
            """, params)

        return self.r.query_fresh(build)

    def counts(self, f: GuardrailFilter | None, since_us: int, until_us: int,
               max_buckets: int = 60) -> DetectorCounts:
        """Events per detector per bucket over [since_us, until_us); bucket size from
        ``bucket_for`` so there are at most ``max_buckets``."""
        f = _without_fp(f or GuardrailFilter())
        bucket = bucket_for(until_us - since_us, max_buckets)
        n = max(1, -(-(until_us - since_us) // bucket))
        window = GuardrailFilter(f.terms, f.severities, None, f.text, max(since_us, f.since_us or since_us),
                                 min(until_us, f.until_us or until_us))

        def build() -> tuple[str, list[Any]]:
            sql, params = self._events_sql(window, None, window.since_us)
            return (f"""
                SELECT detector, ((epoch_us(time) - ?) // ?)::BIGINT AS bucket, count(*)::BIGINT AS n
                FROM ({sql}) GROUP BY ALL
            """, [since_us, bucket] + params)

        df = self.r.query_fresh(build)
        counts: dict[str, list[int]] = {}
        for detector, b, k in df.iter_rows():
            if 0 <= b < n:
                counts.setdefault(detector, [0] * n)[b] += k
        return DetectorCounts(since_us, since_us + n * bucket, bucket, counts)


def _without_fp(f: GuardrailFilter) -> GuardrailFilter:
    return GuardrailFilter(f.terms, f.severities, None, f.text, f.since_us, f.until_us)


def _us(v: Any) -> int:
    if isinstance(v, int):
        return v
    return int(v.timestamp() * 1_000_000)
