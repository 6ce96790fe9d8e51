"""Readers in other processes query continuously while the collector ingests and
compacts (fan_in=2, every 0.2 s): no errors, no span counted twice or missing in any
snapshot. And compaction plus retention keep exactly the same rows."""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time
from datetime import datetime, timedelta, timezone

import httpx
import pytest
import reader_worker
from ingest_support import expected_cost, pb_request

from store.collector.runner import Collector
from store.query import StoreReader
from store.query.traces import TraceQueries
from store.segments import compaction
from store.segments.compaction import CompactionPolicy
from tests.support.collector import RunningCollector, settings_for, wait_healthy

READERS = 2
TRACES_PER_SENDER = 20
POLICY = CompactionPolicy(fan_in=2)


def _compacting_collector(store, interval: float = 0.2) -> RunningCollector:  # type: ignore[no-untyped-def]
    c = Collector(settings_for(store), workers=0)
    c.core.settings.compact_interval = interval
    c.core.settings.policy = POLICY
    c.start_in_thread()
    rc = RunningCollector(store=store, url=f"http://{c.address}", collector=c)
    wait_healthy(rc.url)
    return rc


def _spans(trace_id: bytes, n: int, root: bool, start_ns: int | None = None, **attrs):  # type: ignore[no-untyped-def]
    start_ns = start_ns or time.time_ns()
    out = []
    for i in range(n):
        out.append({"trace_id": trace_id, "span_id": os.urandom(8), "name": f"call-{i}", "kind": 3,
                    "parent": b"" if root and i == 0 else b"\x01" * 8, "start_ns": start_ns + i * 1000,
                    "end_ns": start_ns + i * 1000 + 5_000_000, "attrs": {
                        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                        "gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": 100,
                        "gen_ai.usage.output_tokens": 10, **attrs}})
    return out


def _send(url: str, spans: list) -> list[str]:  # type: ignore[type-arg]
    r = httpx.post(url, content=pb_request(spans, service="conc").SerializeToString(),
                   headers={"content-type": "application/x-protobuf"}, timeout=30)
    assert r.status_code == 200, r.text
    return [s["span_id"].hex() for s in spans]


def test_readers_see_consistent_snapshots_while_ingesting_and_compacting(store_dir):
    rc = _compacting_collector(store_dir)
    ctx = mp.get_context("spawn")
    stop, out = ctx.Event(), ctx.Queue()
    readers = [ctx.Process(target=reader_worker.run, args=(str(store_dir), stop, out), daemon=True)
               for _ in range(READERS)]
    try:
        for p in readers:
            p.start()
        for _ in readers:
            kind, detail = out.get(timeout=60)
            assert kind == "ready", detail

        sent: list[str] = []
        lock = threading.Lock()

        def sender(k: int) -> None:
            for i in range(TRACES_PER_SENDER):
                tid = os.urandom(16)
                ids = _send(rc.traces_url, _spans(tid, 5, root=True))
                time.sleep(0.005)
                ids += _send(rc.traces_url, _spans(tid, 3, root=False))  # a second part, later
                with lock:
                    sent.extend(ids)

        threads = [threading.Thread(target=sender, args=(k,)) for k in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        rc.wait_stored(len(sent))
        writer = rc.collector.core.writer
        deadline = time.monotonic() + 30  # let the compactor finish what the policy asks for
        while compaction.plan(writer, POLICY) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.3)
        stop.set()
        results = [out.get(timeout=60) for _ in readers]
        compactions = rc.collector.core.stats.compactions
    finally:
        stop.set()
        for p in readers:
            p.join(10)
            if p.is_alive():
                p.kill()
        rc.stop()

    errors = [d for k, d in results if k == "error"]
    assert not errors, errors[0]
    for _, (iterations, last) in results:
        assert iterations > 5 and last == len(sent)
    assert compactions > 0

    reader = StoreReader(store_dir)
    final = reader_worker.snapshot_counts(reader)
    assert final["spans"] == final["distinct"] == final["parts_spans"] == len(sent) == 2 * TRACES_PER_SENDER * 8
    assert final["span_cost"] == pytest.approx(len(sent) * expected_cost("gpt-4o-mini", 100, 10))
    ids = set(reader.query(f"SELECT span_id FROM {reader.scan('spans')}")["span_id"].to_list())
    assert ids == set(sent)
    page = TraceQueries(reader).list(limit=1000)
    assert page.rows.height == 2 * TRACES_PER_SENDER and set(page.rows["span_count"].to_list()) == {8}


def test_compaction_and_retention_keep_exactly_the_same_rows(store_dir):
    rc = _compacting_collector(store_dir, interval=3600)  # compaction only when this test says
    now = datetime.now(timezone.utc)
    days_ago = (0, 3, 10, 40)
    traces: dict[int, list[str]] = {}
    try:
        for part in range(3):  # three flushes: three trace parts per trace, three segments per day
            for d in days_ago:
                start = int((now - timedelta(days=d, hours=1)).timestamp() * 1e9) + part * 1_000_000
                for k in range(2):
                    tid = bytes([d, k]) + b"\x07" * 14
                    traces.setdefault(d, []).append(tid.hex()) if part == 0 else None
                    _send(rc.traces_url, _spans(tid, 2, root=part == 0, start_ns=start,
                                                **{"session.id": f"s-{d}", "tag.tags": [f"part{part}"]}))
            rc.wait_stored((part + 1) * len(days_ago) * 2 * 2)
        reader = StoreReader(store_dir)
        queries = TraceQueries(reader)

        def spans_rows():  # type: ignore[no-untyped-def]
            return reader.query(f"SELECT * EXCLUDE (received_at) FROM {reader.scan('spans')} ORDER BY span_id").to_dicts()

        def summaries():  # type: ignore[no-untyped-def]
            return {t: queries.summary(t) for ts in traces.values() for t in ts}

        def parts_per_trace():  # type: ignore[no-untyped-def]
            df = reader.query(f"SELECT trace_id, count(*) AS n FROM {reader.scan('trace_parts')} GROUP BY trace_id")
            return dict(zip(df["trace_id"].to_list(), df["n"].to_list()))

        before_rows, before_summaries = spans_rows(), summaries()
        assert set(parts_per_trace().values()) == {3}
        assert all(s["span_count"] == 6 and s["root_name"] == "call-0" for s in before_summaries.values())
        segments_before = len(reader.manifest().segments)

        writer = rc.collector.core.writer
        assert compaction.full_compaction(writer, POLICY) > 0
        assert len(reader.manifest().segments) < segments_before
        assert spans_rows() == before_rows
        assert summaries() == before_summaries
        assert set(parts_per_trace().values()) == {1}  # the parts of each trace merged
        merged = queries.summary(traces[0][0])
        assert merged["tags"] == ["part0", "part1", "part2"] and merged["session_id"] == "s-0"

        dropped = compaction.drop_older_than(writer, 7)
        assert dropped == sorted({(now - timedelta(days=d, hours=1)).date().isoformat() for d in (10, 40)})
        kept = {t for d in (0, 3) for t in traces[d]}
        assert {r["trace_id"] for r in spans_rows()} == kept
        assert spans_rows() == [r for r in before_rows if r["trace_id"] in kept]
        assert {t: queries.summary(t) for t in kept} == {t: before_summaries[t] for t in kept}
        assert all(queries.summary(t) is None for d in (10, 40) for t in traces[d])
        assert set(TraceQueries(reader).list(limit=100).rows["trace_id"].to_list()) == kept
    finally:
        rc.stop()
