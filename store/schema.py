"""The store's tables, as Arrow schemas.

Every table is a set of immutable Parquet segments, partitioned by UTC day and
listed in the manifest. Columns are only ever added (readers use
``union_by_name``), so an old segment stays readable by a newer reader; anything
stronger goes through ``store.segments.migrations``.
"""

from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = 1

TS = pa.timestamp("us", tz="UTC")
STR = pa.string()
I64 = pa.int64()
F64 = pa.float64()
STR_LIST = pa.list_(pa.string())

SPANS = pa.schema(
    [
        ("trace_id", STR),  # 32 lowercase hex
        ("span_id", STR),  # 16 lowercase hex
        ("parent_id", STR),  # null for a root
        ("name", STR),
        ("kind", STR),  # llm, chain, tool, retriever, agent, embedding, reranker, guardrail, evaluator, prompt, unknown
        ("otel_kind", pa.int8()),
        ("service", STR),
        ("start_time", TS),
        ("end_time", TS),
        ("duration_ms", F64),
        ("status", STR),  # ok, error, unset
        ("status_message", STR),
        ("operation", STR),
        ("model", STR),
        ("provider", STR),
        ("server_address", STR),  # host:port of the model server, ties spans to health samples
        ("input_tokens", I64),  # all prompt tokens, cached ones included
        ("output_tokens", I64),  # all completion tokens, reasoning ones included
        ("cache_read_tokens", I64),
        ("cache_write_tokens", I64),
        ("reasoning_tokens", I64),
        ("total_tokens", I64),
        ("cost_usd", F64),  # null when unknown: never a silent 0
        ("cost_source", STR),  # reported, computed, override, gpu_time, unknown, no_usage; null for non-LLM spans
        ("ttft_ms", F64),
        ("finish_reason", STR),
        ("input_messages", STR),  # JSON array of normalized messages
        ("output_messages", STR),
        ("input_value", STR),  # plain input when there are no messages (tool args, agent question)
        ("output_value", STR),
        ("request_params", STR),  # JSON object: temperature, max_tokens, tools, ...
        ("prompt_id", STR),
        ("prompt_version", STR),
        ("prompt_vars", STR),  # JSON object of template variables, when the app sent them
        ("session_id", STR),
        ("user_id", STR),
        ("tags", STR_LIST),
        ("dialect", STR),  # genai, openinference, openllmetry, langfuse, litellm, otel
        ("attributes", STR),  # JSON object of the attributes no normalizer mapped
        ("resource", STR),  # JSON object of resource attributes
        ("events", STR),  # JSON array of span events
        ("received_at", TS),
    ]
)

# One row per trace per flush; readers group by trace_id. Compaction merges the
# parts of a trace into one row.
TRACE_PARTS = pa.schema(
    [
        ("trace_id", STR),
        ("start_time", TS),
        ("end_time", TS),
        ("root_name", STR),  # null unless this part holds the root span
        ("root_span_id", STR),
        ("service", STR),  # the root's service when known, else the first seen
        ("services", STR_LIST),
        ("models", STR_LIST),
        ("span_count", I64),
        ("llm_calls", I64),
        ("tool_calls", I64),
        ("error_count", I64),
        ("input_tokens", I64),
        ("output_tokens", I64),
        ("total_tokens", I64),
        ("cost_usd", F64),
        ("unpriced_llm_calls", I64),
        ("session_id", STR),
        ("user_id", STR),
        ("tags", STR_LIST),
        ("prompt_ids", STR_LIST),
        ("tool_signatures", pa.list_(I64)),  # hash of (tool, args) per tool call: loop detection
    ]
)

GUARDRAIL_EVENTS = pa.schema(
    [
        ("event_id", STR),
        ("time", TS),
        ("trace_id", STR),
        ("span_id", STR),
        ("direction", STR),  # input, output
        ("detector", STR),
        ("detector_version", STR),
        ("category", STR),  # pii, secret, injection, jailbreak, output, external
        ("severity", STR),  # low, medium, high, critical
        ("action", STR),  # flagged, redacted, blocked
        ("source", STR),  # ingest, openinference, span_event, litellm, api
        ("service", STR),
        ("user_id", STR),
        ("excerpt", STR),  # always redacted
        ("details", STR),  # JSON
    ]
)

SCORES = pa.schema(
    [
        ("score_id", STR),
        ("time", TS),
        ("trace_id", STR),
        ("span_id", STR),
        ("target_id", STR),  # e.g. a guardrail event id for false-positive marks
        ("name", STR),
        ("value", F64),
        ("string_value", STR),
        ("source", STR),  # heuristic, llm-judge, human
        ("comment", STR),
        ("run_id", STR),
    ]
)

HEALTH_SAMPLES = pa.schema(
    [
        ("time", TS),
        ("target", STR),  # "gpu:0", "vllm:http://host:8000"
        ("kind", STR),  # gpu, vllm
        ("metric", STR),  # canonical name, e.g. kv_cache_usage, num_requests_waiting
        ("labels", STR),  # JSON object (model_name, engine, le, finished_reason, ...)
        ("value", F64),
    ]
)

ALERTS = pa.schema(
    [
        ("alert_id", STR),
        ("time", TS),
        ("rule", STR),
        ("kind", STR),  # cost, health
        ("severity", STR),
        ("state", STR),  # firing, resolved
        ("subject", STR),  # what crossed: a user, a model, an endpoint, ...
        ("message", STR),
        ("value", F64),
        ("threshold", F64),
        ("details", STR),  # JSON
    ]
)

TABLES: dict[str, pa.Schema] = {
    "spans": SPANS,
    "trace_parts": TRACE_PARTS,
    "guardrail_events": GUARDRAIL_EVENTS,
    "scores": SCORES,
    "health_samples": HEALTH_SAMPLES,
    "alerts": ALERTS,
}

# The column each table is partitioned (and pruned) by.
TIME_COLUMN: dict[str, str] = {
    "spans": "start_time",
    "trace_parts": "start_time",
    "guardrail_events": "time",
    "scores": "time",
    "health_samples": "time",
    "alerts": "time",
}
