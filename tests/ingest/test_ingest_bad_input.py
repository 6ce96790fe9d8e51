"""Malformed, hostile and absurd input: the collector answers with the right status and a
message, stores what is valid safely, and keeps serving after each. Run against inline
decoders and against a decoder process (the production setup)."""

from __future__ import annotations

import gzip
import json
import os
import time

import httpx
import orjson
import pytest
from ingest_support import attributes, json_request, json_span, messages, new_span_id, new_trace_id, pb_request, read_trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from tests.support.collector import start_inprocess

PB = {"content-type": "application/x-protobuf"}
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module", params=[0, 1], ids=["inline", "decoder-process"])
def rc(request, tmp_path_factory):
    running = start_inprocess(tmp_path_factory.mktemp("bad") / "store", workers=request.param)
    try:
        yield running
    finally:
        running.stop()


def _span(**kw):  # type: ignore[no-untyped-def]
    base = {"trace_id": os.urandom(16), "span_id": os.urandom(8), "name": "ok", "kind": 3,
            "attrs": {"gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": 3}}
    base.update(kw)
    return base


def _post(rc, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:  # type: ignore[no-untyped-def]
    return httpx.post(rc.traces_url, content=body, headers=headers or PB, timeout=30)


def assert_still_serving(rc) -> None:  # type: ignore[no-untyped-def]
    s = _span(name="after")
    assert _post(rc, pb_request([s]).SerializeToString()).status_code == 200
    read_trace(rc.store, s["trace_id"].hex())


def _good_body() -> bytes:
    big = "x" * 5000
    return pb_request([_span(attrs={"gen_ai.input.messages": big, "gen_ai.request.model": "m"})]).SerializeToString()


def test_truncated_protobuf_is_400(rc):
    body = _good_body()
    r = _post(rc, body[: len(body) // 2])
    assert r.status_code == 400 and r.headers["content-type"] == "application/x-protobuf"
    assert b"not a valid OTLP ExportTraceServiceRequest protobuf" in r.content
    assert_still_serving(rc)


@pytest.mark.parametrize("junk", [b"\xff" * 64, b"\x0a\xff\xff\xff\xff\x0f" + b"\x00" * 10, b"GET / HTTP/1.1\r\n"])
def test_binary_junk_is_400(rc, junk):
    r = _post(rc, junk)
    assert r.status_code == 400
    assert_still_serving(rc)


@pytest.mark.parametrize("ctype", ["text/plain", "application/xml", None])
def test_wrong_content_type_is_415(rc, ctype):
    headers = {"content-type": ctype} if ctype else {}
    r = httpx.post(rc.traces_url, content=_good_body(), headers=headers)
    assert r.status_code == 415
    assert "application/x-protobuf or application/json" in r.json()["error"]
    assert_still_serving(rc)


@pytest.mark.parametrize("body, needle", [
    (b'{"resourceSpans": [', "not valid JSON"),
    (b"[1, 2, 3]", "must be an object"),
    (b'{"resourceSpans": "nope"}', "not a valid OTLP/JSON"),
    (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz", "spanId": "00"}]}]}]}', "is not hex"),
    (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"startTimeUnixNano": "-5"}]}]}]}', "OTLP/JSON"),
    (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": 5}]}]}]}', "OTLP/JSON"),
    (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "no ids"}]}]}]}', "no valid spans"),
])
def test_bad_json_is_400_with_a_message(rc, body, needle):
    r = _post(rc, body, JSON)
    assert r.status_code == 400
    doc = r.json()
    assert doc["code"] == 3 and needle in doc["message"], doc
    assert_still_serving(rc)


def test_deep_nesting_is_refused_not_a_crash(rc):
    value: dict = {"leaf": 1}
    for _ in range(60):  # 180 messages deep: beyond protobuf's limit of 100
        value = {"n": value}
    tid, sid = new_trace_id(), new_span_id()
    r = _post(rc, orjson.dumps(json_request([json_span(tid, sid, "deep", {"app.deep": value})])), JSON)
    assert r.status_code == 400 and "OTLP/JSON" in r.json()["message"]
    deeper = json.dumps(json_request([json_span(tid, sid, "deeper", {"app.deep": {"n": [[[[[[value]]]]]] * 2}})]))
    r = _post(rc, b'{"resourceSpans": ' + b"[" * 3000 + b"]" * 3000 + b"}", JSON)  # beyond the JSON parser's limit
    assert r.status_code == 400 and "not valid JSON" in r.json()["message"]
    assert _post(rc, deeper.encode(), JSON).status_code == 400
    assert_still_serving(rc)


def test_giant_values_are_stored_with_a_visible_cut(rc):
    huge = "word " * 600_000  # 3 MB of user text
    s = _span(name="giant " + "n" * 2_000_000, attrs={
        "gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": 10,
        "gen_ai.input.messages": json.dumps([{"role": "user", "content": huge}]),
        "app.blob": "b" * 2_500_000, "app.small": "kept"})
    r = _post(rc, pb_request([s]).SerializeToString())
    assert r.status_code == 200
    row = read_trace(rc.store, s["trace_id"].hex()).spans[0]
    content = messages(row, "input_messages")[0]["content"]  # still valid JSON
    assert content.startswith("word word") and content.endswith("chars]") and "…[cut " in content
    assert len(content) < len(huge)
    raw = attributes(row)
    assert raw["app.small"] == "kept" and "…[cut " in raw["app.blob"] and len(raw["app.blob"]) < 2_500_000
    assert row["name"].startswith("giant nnn") and "…[cut " in row["name"]
    assert_still_serving(rc)


def test_wrong_id_lengths_partial_success_or_400(rc):
    good = _span(name="good")
    bad = [_span(name="short-span-id", span_id=b"\x01\x02\x03\x04"),
           _span(name="long-trace-id", trace_id=os.urandom(20)),
           _span(name="zero-trace-id", trace_id=b"\x00" * 16),
           _span(name="bad-parent", parent=b"\x01\x02")]
    r = _post(rc, pb_request([good] + bad).SerializeToString())
    assert r.status_code == 200
    resp = ExportTraceServiceResponse.FromString(r.content)
    assert resp.partial_success.rejected_spans == 4
    for name in ("short-span-id", "long-trace-id", "zero-trace-id"):
        assert name in resp.partial_success.error_message
    assert read_trace(rc.store, good["trace_id"].hex()).spans[0]["name"] == "good"

    r = _post(rc, pb_request(bad).SerializeToString())
    assert r.status_code == 400 and b"no valid spans" in r.content
    assert_still_serving(rc)


def test_missing_and_absurd_timestamps_are_stored_safely(rc):
    now_us = time.time_ns() // 1000
    missing = _span(name="no-times", start_ns=0, end_ns=0)
    backwards = _span(name="ends-before-start", start_ns=time.time_ns(), end_ns=time.time_ns() - 10**9)
    far_future = _span(name="year-584554", start_ns=2**64 - 1, end_ns=2**64 - 1)
    ancient = _span(name="1970", start_ns=1, end_ns=2)
    for s in (missing, backwards, far_future, ancient):
        assert _post(rc, pb_request([s]).SerializeToString()).status_code == 200

    row = read_trace(rc.store, missing["trace_id"].hex()).spans[0]
    start_us = int(row["start_time"].timestamp() * 1e6)
    assert abs(start_us - now_us) < 60e6 and row["duration_ms"] == 0
    assert attributes(row)["llmops.missing_start_time"] is True
    row = read_trace(rc.store, backwards["trace_id"].hex()).spans[0]
    assert row["duration_ms"] == 0 and attributes(row)["llmops.end_before_start"] is True
    # nonsense times are kept at arrival time too, and never jam the flush of later data
    row = read_trace(rc.store, far_future["trace_id"].hex()).spans[0]
    assert abs(int(row["start_time"].timestamp() * 1e6) - now_us) < 60e6
    read_trace(rc.store, ancient["trace_id"].hex())
    assert_still_serving(rc)


def test_out_of_range_numbers_do_not_crash(rc):
    s = _span(name="odd-numbers", kind=200, attrs={
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.usage.input_tokens": 1e300,
        "gen_ai.usage.output_tokens": "99999999999999999999999999",
        "gen_ai.usage.cache_read.input_tokens": -5,
        "llm.cost.total": float("nan"),
        "gen_ai.response.time_to_first_chunk": float("inf"),
        "gen_ai.request.temperature": float("nan")})
    r = _post(rc, pb_request([s]).SerializeToString())
    assert r.status_code == 200, r.content
    row = read_trace(rc.store, s["trace_id"].hex()).spans[0]
    assert row["input_tokens"] is None and row["output_tokens"] is None
    assert row["cost_usd"] is None or row["cost_usd"] >= 0
    assert_still_serving(rc)


def test_gzip_bomb_is_413(rc):
    bomb = gzip.compress(b"\0" * (80 << 20), compresslevel=9)  # 80 MB inflated, ~80 KB sent
    r = _post(rc, bomb, {**PB, "content-encoding": "gzip"})
    assert r.status_code == 413
    r = _post(rc, b"\x1f\x8b not gzip at all", {**PB, "content-encoding": "gzip"})
    assert r.status_code == 400 and b"not valid gzip" in r.content
    r = _post(rc, _good_body(), {**PB, "content-encoding": "br"})
    assert r.status_code == 415
    assert_still_serving(rc)


def test_oversized_bodies_are_413(rc):
    body = b"\0" * ((16 << 20) + 1)
    r = _post(rc, body)
    assert r.status_code == 413 and "limit" in r.json()["error"]

    def chunks():  # no content-length: the limit holds while reading
        for _ in range(17):
            yield b"\0" * (1 << 20)

    r = httpx.post(rc.traces_url, content=chunks(), headers=PB, timeout=30)
    assert r.status_code == 413
    assert_still_serving(rc)
