"""The demo's traffic generator on its own (no collector): determinism, counts,
times, the featured traces and the request batching."""

from __future__ import annotations

from collections import Counter

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from console.demo import generate_traces
from console.demo.otlp import batches
from console.demo.schedule import FEATURED

NOW = 1_763_000_000 * 10**9  # pinned, so times are part of the determinism too
DAY = 86_400 * 10**9


def _bodies(seed: int, n: int) -> list[bytes]:
    return [b for b, _, _ in batches(generate_traces(n, 7, seed=seed, now_ns=NOW), 80)]


def test_same_seed_same_bytes_other_seed_other_bytes() -> None:
    assert _bodies(3, 60) == _bodies(3, 60)
    assert _bodies(3, 60) != _bodies(4, 60)


def test_exact_count_unique_ids_and_times_inside_the_window() -> None:
    traces = list(generate_traces(400, 2, seed=5, now_ns=NOW))
    assert len(traces) == 400
    assert len({t.trace_id for t in traces}) == 400
    span_ids = [s.span_id for t in traces for s in t.spans]
    assert len(span_ids) == len(set(span_ids))
    for t in traces:
        assert NOW - 2 * DAY <= t.start_ns and t.end_ns <= NOW
        for s in t.spans:
            assert s.end_ns >= s.start_ns
    # denser in the last day than in the day before
    recent = sum(1 for t in traces if t.start_ns >= NOW - DAY)
    assert recent > len(traces) - recent


def test_featured_traces_come_first_even_when_few() -> None:
    traces = list(generate_traces(len(FEATURED), 7, seed=1, now_ns=NOW))
    features = Counter(f for t in traces for f in t.features)
    for wanted in ("runaway", "injection", "indirect", "pii", "secret", "refusal", "rate_limit", "context_length",
                   "text_linked", "timeout"):
        assert features[wanted] >= 1, wanted
    runaway = next(t for t in traces if "runaway" in t.features)
    assert sum(1 for s in runaway.spans if s.name == "openai.chat") >= 40
    assert runaway.duration_ns > 5 * 3600 * 10**9  # it ran all night
    tiny = list(generate_traces(1, 7, seed=1, now_ns=NOW))
    assert len(tiny) == 1 and "runaway" in tiny[0].features


def test_runaway_fits_a_short_window() -> None:
    traces = list(generate_traces(30, 0.25, seed=2, now_ns=NOW))
    runaway = next(t for t in traces if "runaway" in t.features)
    assert runaway.start_ns >= NOW - DAY // 4 and runaway.end_ns <= NOW


def test_batches_keep_traces_whole_and_label_every_resource() -> None:
    traces = list(generate_traces(120, 7, seed=9, now_ns=NOW))
    seen: dict[bytes, int] = {}
    for i, (body, spans, _) in enumerate(batches(traces, 80)):
        req = ExportTraceServiceRequest()
        req.ParseFromString(body)
        n = 0
        for rs in req.resource_spans:
            attrs = {kv.key: kv.value for kv in rs.resource.attributes}
            assert attrs["llmops.demo"].bool_value is True
            assert attrs["service.name"].string_value.startswith("demo-")
            for ss in rs.scope_spans:
                for sp in ss.spans:
                    assert seen.setdefault(sp.trace_id, i) == i, "a trace split across requests"
                    n += 1
        assert n == spans
        assert spans <= 80 or len({sp.trace_id for rs in req.resource_spans for ss in rs.scope_spans
                                   for sp in ss.spans}) == 1


def test_a_tool_call_that_keeps_timing_out_is_retried_once() -> None:
    """A third identical call is the runaway heuristic's loop: only the featured runaway shows
    it (an ordinary analytics run whose tool timed out twice was flagged at some demo hours)."""
    import random
    import threading

    from console.demo.corpus.support import Step
    from console.demo.dialects import openllmetry as oll
    from console.demo.models import O3_MINI
    from console.demo.scenarios.agent import Loop, run
    from console.demo.scenarios.sql import SERVICE
    from console.demo.spans import Trace

    rng = random.Random(3)
    trace = Trace(rng, "sql")
    ctx = oll.association("analytics_agent", {"user_id": "u", "session_id": "s"})
    root = trace.add(SERVICE, oll.entity("agent", "analytics_agent", {"question": "q"}, None, ctx), 0, 0)
    loop = Loop(trace, SERVICE, root, rng, O3_MINI, lambda call: oll.llm(call, ctx), lambda r: oll.tool(r, ctx),
                tool_error_rate=1.0)
    steps = [[Step("run_sql", {"query": "select 1"}, {"rows": []})]]
    worker = threading.Thread(target=run, args=(loop, 0, [{"role": "user", "content": "q"}], steps, "done"),
                              daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "retried for ever"
    assert len(loop.tool_runs) == 2 and all(r.error is not None for r in loop.tool_runs)
