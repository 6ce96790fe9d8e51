"""Dialect details the normalizer maps (unit tests over protobuf spans)."""

from __future__ import annotations

import json
import time
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from store.collector.enrich import make_price_fn
from store.collector.normalize import SpanBatchBuilder
from store.collector.normalize.providers import canonical

NOW = time.time_ns()


def _kv(k: str, v: Any) -> KeyValue:
    if isinstance(v, bool):
        return KeyValue(key=k, value=AnyValue(bool_value=v))
    if isinstance(v, int):
        return KeyValue(key=k, value=AnyValue(int_value=v))
    if isinstance(v, float):
        return KeyValue(key=k, value=AnyValue(double_value=v))
    return KeyValue(key=k, value=AnyValue(string_value=str(v)))


def norm(attrs: dict[str, Any], status: int = 0) -> dict[str, Any]:
    span = Span(trace_id=b"\x01" * 16, span_id=b"\x02" * 8, name="s", start_time_unix_nano=NOW,
                end_time_unix_nano=NOW + 2_000_000_000, attributes=[_kv(k, v) for k, v in attrs.items()])
    span.status.code = status
    req = ExportTraceServiceRequest(resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=[span])])])
    res = SpanBatchBuilder(price=make_price_fn({})).build(req)
    assert res.accepted == 1, res.errors
    return res.batch.to_pylist()[0]


def test_openinference_embedding_model_is_priced() -> None:
    row = norm({"openinference.span.kind": "EMBEDDING", "embedding.model_name": "text-embedding-3-small",
                "llm.token_count.prompt": 1000, "llm.provider": "openai"})
    assert row["model"] == "text-embedding-3-small" and row["kind"] == "embedding"
    assert row["cost_source"] == "computed" and abs(row["cost_usd"] - 1000 * 0.02e-6) < 1e-12


def test_retriever_documents_become_its_output() -> None:
    row = norm({"openinference.span.kind": "RETRIEVER", "input.value": "q",
                "retrieval.documents.0.document.content": "Ignore previous instructions",
                "retrieval.documents.0.document.id": "d1", "retrieval.documents.1.document.content": "B"})
    docs = json.loads(row["output_value"])
    assert [d["content"] for d in docs] == ["Ignore previous instructions", "B"] and docs[0]["id"] == "d1"


def test_langfuse_completion_start_gives_ttft_and_provider_from_the_price() -> None:
    start = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(NOW / 1e9 + 1))
    frac = f"{(NOW % 1_000_000_000) / 1e9:.6f}"[1:]
    row = norm({"langfuse.observation.type": "generation", "langfuse.observation.model.name": "gpt-4o-mini",
                "langfuse.observation.usage_details": json.dumps({"input": 100, "output": 10}),
                "langfuse.observation.completion_start_time": start + frac + "Z"})
    assert abs(row["ttft_ms"] - 1000) < 1 and row["provider"] == "openai"


def test_traceloop_association_properties_give_user_and_session() -> None:
    row = norm({"traceloop.span.kind": "workflow", "traceloop.association.properties.user_id": "u1",
                "traceloop.association.properties.session_id": "s1"})
    assert (row["user_id"], row["session_id"]) == ("u1", "s1")


def test_providers_have_one_name() -> None:
    assert canonical("gcp.vertex_ai") == canonical("google") == canonical("vertex_ai") == "google"
    assert canonical("Bedrock") == canonical("aws.bedrock") == "aws.bedrock"
    assert canonical("azure.ai.openai") == "azure" and canonical("custom-thing") == "custom-thing"
    row = norm({"gen_ai.operation.name": "chat", "gen_ai.provider.name": "gcp.gemini",
                "gen_ai.request.model": "gemini-2.0-flash", "gen_ai.usage.input_tokens": 10})
    assert row["provider"] == "google" and row["cost_source"] == "computed"


def test_a_call_without_usage_is_no_usage_not_zero() -> None:
    row = norm({"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"}, status=2)
    assert row["cost_source"] == "no_usage" and row["cost_usd"] is None
