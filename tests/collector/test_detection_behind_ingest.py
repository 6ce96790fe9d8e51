"""Guardrail detection runs behind ingest on published segments, exactly once."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from store.query import StoreReader
from store.segments import compaction
from tests.support.collector import start_inprocess, start_subprocess


def _body(i: int, text: str) -> bytes:
    now = time.time_ns()
    attrs = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini",
             "gen_ai.input.messages": json.dumps([{"role": "user", "content": text}]),
             "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 5}
    span = Span(trace_id=i.to_bytes(16, "big"), span_id=(i + 1).to_bytes(8, "big"), name="chat",
                start_time_unix_nano=now, end_time_unix_nano=now + 10**6,
                attributes=[KeyValue(key=k, value=AnyValue(string_value=v) if isinstance(v, str)
                                     else AnyValue(int_value=v)) for k, v in attrs.items()])
    return ExportTraceServiceRequest(resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=[span])])]
                                     ).SerializeToString()


def _events(store: Path) -> list[dict]:
    r = StoreReader(store)
    return r.query(f"SELECT * FROM {r.scan('guardrail_events')} ORDER BY trace_id").to_dicts()


def _wait_events(store: Path, n: int, timeout: float = 30) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ev = _events(store)
        if len(ev) >= n:
            return ev
        time.sleep(0.1)
    return _events(store)


def test_events_found_after_ingest_and_never_twice(tmp_path: Path) -> None:
    store = tmp_path / "store"
    rc = start_inprocess(store)
    try:
        for i in range(1, 13):
            text = f"mail me at person{i}@corp-mail.com" if i % 3 == 0 else "what is the refund policy?"
            assert httpx.post(rc.traces_url, content=_body(i * 10, text),
                              headers={"content-type": "application/x-protobuf"}).status_code == 200
        events = _wait_events(store, 4)
        assert {e["detector"] for e in events} >= {"pii.email"}
        assert len(events) == 4 and all("[REDACTED" in e["excerpt"] for e in events)
        # compaction may run now: scanned segments merge, nothing is scanned again
        compaction.full_compaction(rc.collector.core.writer, compaction.CompactionPolicy(fan_in=2))
        time.sleep(1.0)
        assert len(_events(store)) == 4
    finally:
        rc.stop()


def test_detection_resumes_after_a_crash(tmp_path: Path) -> None:
    store = tmp_path / "store"
    rc = start_subprocess(store, workers=0)
    try:
        for i in range(1, 7):
            httpx.post(rc.traces_url, content=_body(i * 10, f"card 4111 1111 1111 1111 #{i}"),
                       headers={"content-type": "application/x-protobuf"})
        rc.kill9()
    finally:
        rc.stop()
    rc2 = start_subprocess(store, port=None, workers=0)
    try:
        events = _wait_events(store, 6)
        ids = [e["event_id"] for e in events]
        assert len(events) == 6 and len(set(ids)) == 6
    finally:
        rc2.stop()
