"""store.query.prompts over a real store: linked stats, fingerprint stats, trace versions."""

from __future__ import annotations

from pathlib import Path

import pytest

from store.prompts import PromptMatcher, PromptRegistry
from store.query.prompts import (
    STATS_COLUMNS,
    attribute,
    fingerprint_stats,
    first_llm_spans,
    linked_stats,
    prompt_spans,
    trace_versions,
    unlinked_llm_spans,
)
from store.query.reader import StoreReader
from tests.support.prompt_store import OLD_SUPPORT_VERSION, build


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    ps = build(tmp_path_factory.mktemp("pq"))
    return ps, StoreReader(ps.store)


def test_linked_stats_per_version(built) -> None:  # type: ignore[no-untyped-def]
    ps, reader = built
    df = linked_stats(reader)
    assert tuple(df.columns) == STATS_COLUMNS
    by_version = {r["prompt_version"]: r for r in df.iter_rows(named=True)}
    current = by_version[ps.support_version]
    assert current["prompt_id"] == "support-answer"
    assert current["traces"] == 6 and current["calls"] == 6
    assert current["error_rate"] == pytest.approx(1 / 6)
    assert current["cost_usd"] > 0 and current["unpriced"] == 0
    assert 800 < current["mean_latency_ms"] < 1000
    assert by_version[OLD_SUPPORT_VERSION]["traces"] == 2
    assert "summarize" not in set(df["prompt_id"])  # those spans carry no prompt.id


def test_fingerprint_links_spans_without_prompt_id(built) -> None:  # type: ignore[no-untyped-def]
    ps, reader = built
    spans = unlinked_llm_spans(reader)
    assert spans.height == 5  # 3 summarize + 2 unrelated
    matcher = PromptMatcher(PromptRegistry(ps.prompts_dir), include_history=True)
    found = attribute(spans, matcher)
    assert set(found["trace_id"]) == set(ps.fingerprint_traces)
    stats = fingerprint_stats(spans, matcher)
    assert stats.rows(named=True)[0] | {"last_seen": None, "cost_usd": None, "mean_latency_ms": None} == {
        "prompt_id": "summarize", "prompt_version": ps.summarize_version, "traces": 3, "calls": 3,
        "cost_usd": None, "unpriced": 0, "mean_latency_ms": None, "error_rate": 0.0, "last_seen": None}
    assert fingerprint_stats(spans.head(0), matcher).columns == list(STATS_COLUMNS)


def test_unlinked_spans_limit_keeps_the_newest(built) -> None:  # type: ignore[no-untyped-def]
    ps, reader = built
    newest = unlinked_llm_spans(reader, limit=2)
    assert set(newest["trace_id"]) == set(ps.other_traces)


def test_trace_versions_carry_examples_and_counts(built) -> None:  # type: ignore[no-untyped-def]
    ps, reader = built
    versions = trace_versions(reader, "support-answer")
    assert [v.version for v in versions] == [ps.support_version, OLD_SUPPORT_VERSION]
    assert versions[1].count == 2 and "[system]\nYou are a support bot." in versions[1].examples[0]
    history = PromptRegistry(ps.prompts_dir).history("support-answer", versions)
    assert history[0].version == ps.support_version and "trace" in history[0].sources
    assert history[-1].version == OLD_SUPPORT_VERSION and history[-1].text is None


def test_prompt_spans_and_first_llm_spans(built) -> None:  # type: ignore[no-untyped-def]
    ps, reader = built
    spans = prompt_spans(reader, "support-answer", ps.support_version, limit=3)
    assert spans["trace_id"].to_list() == ps.linked_traces[:3]
    rows = first_llm_spans(reader, [ps.other_traces[0], "nope", ps.linked_traces[0]], prompt_id="support-answer")
    assert [r["trace_id"] for r in rows] == [ps.other_traces[0], ps.linked_traces[0]]
    assert rows[1]["prompt_id"] == "support-answer" and rows[1]["kind"] == "llm"
    assert first_llm_spans(reader, []) == []


def test_replays_are_not_counted_as_traffic(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json
    from datetime import timedelta

    from console.replay.recording import SERVICE_NAME
    from store.query.prompts import REPLAY_SERVICE
    from tests.support.prompt_store import llm_trace
    from tests.support.stores import T0, chat, write

    assert REPLAY_SERVICE == SERVICE_NAME
    ps = build(tmp_path)
    write(ps.store, llm_trace(900, T0 + timedelta(hours=1), [chat("user", "Customer (Team plan) asks:\nhi")], "ok",
                             service=REPLAY_SERVICE, prompt_id="support-answer", prompt_version=ps.support_version,
                             prompt_vars=json.dumps({"question": "hi", "plan": "Team"})))
    reader = StoreReader(ps.store)
    current = linked_stats(reader).filter(prompt_version=ps.support_version).row(0, named=True)
    assert current["traces"] == 6
    assert prompt_spans(reader, "support-answer", limit=1)["trace_id"].to_list() == [ps.linked_traces[0]]
    assert [v.count for v in trace_versions(reader, "support-answer")] == [6, 2]
