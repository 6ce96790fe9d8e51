"""The Langfuse Python SDK (v5, OTLP export) pointed at the collector with
LANGFUSE_BASE_URL and its keys, as a Langfuse user would configure it."""

from __future__ import annotations

import base64
import json
import logging
import uuid

import httpx
import pytest
from ingest_support import eventually, messages, read_trace

from store.query import StoreReader
from tests.support.collector import start_inprocess

@pytest.fixture
def keys() -> tuple[str, str]:
    # The SDK keeps one client per public key for the whole process: a fresh key per test.
    tag = uuid.uuid4().hex[:8]
    return f"pk-lf-{tag}", f"sk-lf-{tag}"


@pytest.fixture
def langfuse_collector(store_dir, keys):
    rc = start_inprocess(store_dir, langfuse_public_key=keys[0], langfuse_secret_key=keys[1])
    try:
        yield rc
    finally:
        rc.stop()


def _client(monkeypatch, url: str, public: str, secret: str):  # type: ignore[no-untyped-def]
    """Configured the way a user does it (environment), with a private TracerProvider so
    that the SDK does not claim this test process's global one."""
    from langfuse import Langfuse
    from opentelemetry.sdk.trace import TracerProvider

    monkeypatch.setenv("LANGFUSE_BASE_URL", url)
    monkeypatch.setenv("LANGFUSE_PUBLIC_KEY", public)
    monkeypatch.setenv("LANGFUSE_SECRET_KEY", secret)
    monkeypatch.setenv("LANGFUSE_TRACING_ENVIRONMENT", "ci")
    return Langfuse(tracer_provider=TracerProvider())


def _send_trace(lf):  # type: ignore[no-untyped-def]
    from langfuse import propagate_attributes

    with lf.start_as_current_observation(as_type="span", name="answer-question",
                                         input={"question": "Capital of France?"}) as root:
        with propagate_attributes(user_id="dana", session_id="sess-lf", tags=["langfuse", "beta"]):
            with lf.start_as_current_observation(as_type="span", name="retrieve") as span:
                span.update(output={"documents": 2})
            with lf.start_as_current_observation(
                    as_type="generation", name="llm-call", model="gpt-4o-mini",
                    model_parameters={"temperature": 0.2, "max_tokens": 64},
                    input=[{"role": "system", "content": "Answer briefly."},
                           {"role": "user", "content": "Capital of France?"}]) as gen:
                gen.update(output={"role": "assistant", "content": "Paris."},
                           usage_details={"input": 1200, "output": 40, "cache_read_input_tokens": 1000},
                           cost_details={"input": 0.0001, "output": 0.00002, "total": 0.00012})
        root.update(output={"answer": "Paris."})
    trace_id = root.trace_id
    lf.flush()
    return trace_id


def test_langfuse_sdk_trace_generation_and_nested_span(langfuse_collector, keys, monkeypatch):
    lf = _client(monkeypatch, langfuse_collector.url, *keys)
    try:
        trace_id = _send_trace(lf)
        assert lf.auth_check() is True  # GET /api/public/projects answers like Langfuse
        lf.create_score(name="helpfulness", value=0.9, trace_id=trace_id, comment="good answer")
        lf.create_score(name="verdict", value="correct", trace_id=trace_id, data_type="CATEGORICAL")
        lf.flush()
    finally:
        lf.shutdown()

    t = read_trace(langfuse_collector.store, trace_id, spans=3)
    assert {s["dialect"] for s in t.spans} == {"langfuse"}
    gen = t.span("llm-call")
    assert (gen["kind"], gen["model"]) == ("llm", "gpt-4o-mini")
    # Langfuse counts input without the cache; the store counts it in
    assert (gen["input_tokens"], gen["output_tokens"], gen["cache_read_tokens"]) == (2200, 40, 1000)
    assert (gen["cost_usd"], gen["cost_source"]) == (pytest.approx(0.00012), "reported")
    assert messages(gen, "input_messages") == [{"role": "system", "content": "Answer briefly."},
                                               {"role": "user", "content": "Capital of France?"}]
    assert messages(gen, "output_messages") == [{"role": "assistant", "content": "Paris."}]
    assert json.loads(gen["request_params"]) == {"temperature": 0.2, "max_tokens": 64}
    root = t.span("answer-question")
    assert root["parent_id"] is None and gen["parent_id"] == root["span_id"]
    assert t.span("retrieve")["parent_id"] == root["span_id"]
    assert t.span("retrieve")["kind"] == "chain"
    assert json.loads(root["input_value"]) == {"question": "Capital of France?"}
    for row in (gen, t.span("retrieve")):
        assert (row["user_id"], row["session_id"], sorted(row["tags"])) == ("dana", "sess-lf", ["beta", "langfuse"])

    s = t.summary
    assert (s["root_name"], s["span_count"], s["llm_calls"]) == ("answer-question", 3, 1)
    assert (s["user_id"], s["session_id"], s["tags"]) == ("dana", "sess-lf", ["beta", "langfuse"])
    assert s["cost_usd"] == pytest.approx(0.00012)

    # scores sent with create_score land in the scores table
    reader = StoreReader(langfuse_collector.store)
    scores = eventually(lambda: reader.query(
        f"SELECT trace_id, name, value, string_value, comment FROM {reader.scan('scores')} ORDER BY name").to_dicts())
    assert scores == [
        {"trace_id": trace_id, "name": "helpfulness", "value": 0.9, "string_value": None, "comment": "good answer"},
        {"trace_id": trace_id, "name": "verdict", "value": None, "string_value": "correct", "comment": None},
    ]


def test_langfuse_wrong_keys_are_refused(langfuse_collector, keys, monkeypatch):
    lf = _client(monkeypatch, langfuse_collector.url, keys[0], "sk-lf-wrong")
    try:
        _send_trace(lf)
    finally:
        lf.shutdown()
    basic = "Basic " + base64.b64encode(f"{keys[0]}:{keys[1]}".encode()).decode()
    stats = httpx.get(langfuse_collector.url + "/v1/stats", headers={"authorization": basic}).json()
    assert stats["requests"] == 0 and stats["spans_received"] == 0
    # and plain requests without credentials get 401
    r = httpx.post(langfuse_collector.url + "/api/public/otel/v1/traces", content=b"",
                   headers={"content-type": "application/x-protobuf"})
    assert r.status_code == 401
    assert "authorization" in r.json()["error"].lower() or "credentials" in r.json()["error"].lower()


def test_langfuse_media_upload_is_harmless(collector, keys, monkeypatch, caplog):
    """Inline base64 media makes the SDK ask for an upload URL: told it is stored already.
    (No keys configured on this collector: on loopback any credentials are accepted.)"""
    lf = _client(monkeypatch, collector.url, *keys)
    image = "data:image/png;base64," + "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk" * 4
    try:
        with lf.start_as_current_observation(as_type="generation", name="vision", model="gpt-4o-mini",
                                             input=[{"role": "user", "content": [
                                                 {"type": "text", "text": "What is this?"},
                                                 {"type": "image_url", "image_url": {"url": image}}]}]) as gen:
            gen.update(output="A pixel.", usage_details={"input": 100, "output": 3})
        trace_id = gen.trace_id
        lf.flush()
    finally:
        lf.shutdown()
    row = read_trace(collector.store, trace_id).span("vision")
    content = messages(row, "input_messages")[0]["content"]
    assert content.startswith("What is this?") and "base64" not in content, content
    assert row["input_tokens"] == 100 and row["cost_source"] == "computed"
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
