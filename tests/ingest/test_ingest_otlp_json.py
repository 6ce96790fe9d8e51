"""OTLP/JSON built by hand per the spec (the SDK has no JSON exporter): hex ids, integer
enums, int64 as strings, structured (array/kvlist) attribute values, optional gzip.
Also structured values over protobuf, which the SDK cannot produce either."""

from __future__ import annotations

import gzip
import json

import httpx
import orjson
import pytest
from ingest_support import (expected_cost, json_request, json_span, messages, new_span_id, new_trace_id,
                            pb_request, read_trace)

STRUCTURED_INPUT = [
    {"role": "user", "parts": [{"type": "text", "content": "Summarise the report."},
                               {"type": "uri", "modality": "image", "uri": "https://example.invalid/chart.png"}]},
]
STRUCTURED_OUTPUT = [{"role": "assistant", "parts": [{"type": "text", "content": "Revenue grew 12%."}],
                      "finish_reason": "stop"}]


def _post_json(url: str, doc: dict, compress: bool = False) -> httpx.Response:
    body = orjson.dumps(doc)
    headers = {"content-type": "application/json"}
    if compress:
        body = gzip.compress(body)
        headers["content-encoding"] = "gzip"
    return httpx.post(url, content=body, headers=headers, timeout=10)


@pytest.mark.parametrize("compress", [False, True])
def test_structured_messages_as_array_attributes(collector, compress):
    tid, root_id, chat_id = new_trace_id(), new_span_id(), new_span_id()
    doc = json_request([
        json_span(tid, root_id, "summarise", {"gen_ai.operation.name": "invoke_workflow"}, kind=1),
        json_span(tid, chat_id, "chat o3-mini", {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "o3-mini",
            "gen_ai.usage.input_tokens": 2000,
            "gen_ai.usage.output_tokens": 900,
            "gen_ai.usage.cache_read.input_tokens": 1500,
            "gen_ai.usage.reasoning.output_tokens": 700,
            "gen_ai.request.seed": 7,
            "gen_ai.request.stop_sequences": ["\n\n"],
            "gen_ai.response.finish_reasons": ["stop"],
            "gen_ai.system_instructions": [{"type": "text", "content": "You write summaries."}],
            "gen_ai.input.messages": STRUCTURED_INPUT,
            "gen_ai.output.messages": STRUCTURED_OUTPUT,
            "gen_ai.tool.definitions": [{"type": "function", "name": "lookup", "parameters": {"type": "object"}}],
        }, parent=root_id),
    ], service="report-svc", resource={"deployment.environment.name": "staging"})
    r = _post_json(collector.traces_url, doc, compress)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json" and r.json() == {}

    t = read_trace(collector.store, tid, spans=2)
    row = t.span("chat o3-mini")
    assert (row["trace_id"], row["span_id"], row["parent_id"]) == (tid, chat_id, root_id)
    assert (row["service"], row["otel_kind"], row["kind"]) == ("report-svc", 3, "llm")
    assert (row["input_tokens"], row["output_tokens"], row["cache_read_tokens"], row["reasoning_tokens"]) == (
        2000, 900, 1500, 700)
    assert row["cost_usd"] == pytest.approx(expected_cost("o3-mini", 2000, 900, cache_read=1500), rel=1e-9)
    assert row["cost_source"] == "computed"
    assert messages(row, "input_messages") == [
        {"role": "system", "content": "You write summaries."},
        {"role": "user", "content": "Summarise the report.\n[uri]"},
    ]
    assert messages(row, "output_messages") == [{"role": "assistant", "content": "Revenue grew 12%.",
                                                 "finish_reason": "stop"}]
    params = json.loads(row["request_params"])
    assert params["seed"] == 7 and params["stop"] == ["\n\n"]
    assert params["tools"] == [{"type": "function", "name": "lookup", "parameters": {"type": "object"}}]
    assert row["tags"] == ["staging"]
    assert t.span("summarise")["kind"] == "chain"
    assert t.summary["root_name"] == "summarise" and t.summary["tags"] == ["staging"]


def test_inference_details_event_with_structured_values(collector):
    tid, sid = new_trace_id(), new_span_id()
    doc = json_request([json_span(tid, sid, "chat gpt-4o-mini", {
        "gen_ai.provider.name": "openai", "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 4,
    }, events=[("gen_ai.client.inference.operation.details", {
        "gen_ai.input.messages": [{"role": "user", "parts": [{"type": "text", "content": "ping"}]}],
        "gen_ai.output.messages": [{"role": "assistant", "parts": [{"type": "text", "content": "pong"}],
                                    "finish_reason": "stop"}],
    })])])
    assert _post_json(collector.traces_url, doc).status_code == 200
    row = read_trace(collector.store, tid).span("chat gpt-4o-mini")
    assert messages(row, "input_messages") == [{"role": "user", "content": "ping"}]
    assert messages(row, "output_messages") == [{"role": "assistant", "content": "pong", "finish_reason": "stop"}]
    assert row["finish_reason"] == "stop"
    assert row["cost_usd"] == pytest.approx(expected_cost("gpt-4o-mini", 10, 4), rel=1e-9)


def test_partial_success_in_json(collector):
    tid = new_trace_id()
    good = json_span(tid, new_span_id(), "good", {"gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 1})
    bad = json_span(tid, "abcd", "short-id", {})
    r = _post_json(collector.traces_url, json_request([good, bad]))
    assert r.status_code == 200
    ps = r.json()["partialSuccess"]
    assert ps["rejectedSpans"] == "1" and "short-id" in ps["errorMessage"] and "spanId" in ps["errorMessage"]
    assert read_trace(collector.store, tid).summary["span_count"] == 1


def test_structured_values_over_protobuf(collector):
    tid, sid = bytes.fromhex(new_trace_id()), bytes.fromhex(new_span_id())
    req = pb_request([{"trace_id": tid, "span_id": sid, "name": "chat gpt-4o-mini", "kind": 3, "attrs": {
        "gen_ai.provider.name": "openai", "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 20,
        "gen_ai.input.messages": STRUCTURED_INPUT, "gen_ai.output.messages": STRUCTURED_OUTPUT,
        "app.blob": b"\x00\x01", "app.nested": {"a": [1, 2.5, True]},
    }}])
    r = httpx.post(collector.traces_url, content=req.SerializeToString(),
                   headers={"content-type": "application/x-protobuf"}, timeout=10)
    assert r.status_code == 200 and r.headers["content-type"] == "application/x-protobuf"
    row = read_trace(collector.store, tid.hex()).span("chat gpt-4o-mini")
    assert messages(row, "input_messages") == [{"role": "user", "content": "Summarise the report.\n[uri]"}]
    assert messages(row, "output_messages")[0]["content"] == "Revenue grew 12%."
    assert row["cost_usd"] == pytest.approx(expected_cost("gpt-4o-mini", 100, 20), rel=1e-9)
    assert json.loads(row["attributes"]) == {"app.blob": "base64:AAE=", "app.nested": {"a": [1, 2.5, True]}}
