"""Helpers for the ingest tests: real senders (OTel SDK, hand-built OTLP/JSON and
protobuf), reading traces back through the query layer, and expected prices taken
straight from LiteLLM's bundled cost map (not through our pricer)."""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from store.query import StoreReader
from store.query.traces import TraceQueries

# -- reading back -------------------------------------------------------------------------


@dataclass
class StoredTrace:
    summary: dict[str, Any]
    spans: list[dict[str, Any]]

    def span(self, name: str) -> dict[str, Any]:
        found = [s for s in self.spans if s["name"] == name]
        assert len(found) == 1, f"expected one span {name!r}, got {[s['name'] for s in self.spans]}"
        return found[0]


def read_trace(store: Path, trace_id: str, spans: int = 1, timeout: float = 10.0) -> StoredTrace:
    """The trace as the console would see it, once ``spans`` of its spans are visible."""
    q = TraceQueries(StoreReader(store))
    deadline = time.monotonic() + timeout
    while True:
        summary = q.summary(trace_id) if (store / "manifest.json").exists() else None
        if summary is not None and summary["span_count"] >= spans:
            rows = q.spans(trace_id).to_dicts()
            assert len(rows) == summary["span_count"], "trace parts and spans disagree"
            return StoredTrace(summary, rows)
        if time.monotonic() > deadline:
            raise AssertionError(f"trace {trace_id} has {summary and summary['span_count']} of {spans} spans")
        time.sleep(0.05)


def eventually(fn: Any, timeout: float = 10.0) -> Any:
    """``fn()`` once it returns something truthy (acknowledged data is visible within ~1 s)."""
    deadline = time.monotonic() + timeout
    while True:
        out = fn()
        if out or time.monotonic() > deadline:
            return out
        time.sleep(0.05)


def listed(store: Path) -> dict[str, dict[str, Any]]:
    """Every trace in the list view, by id."""
    page = TraceQueries(StoreReader(store)).list(limit=1000)
    return {r["trace_id"]: r for r in page.rows.to_dicts()}


def messages(span: dict[str, Any], column: str) -> Any:
    raw = span[column]
    return json.loads(raw) if raw is not None else None


def attributes(span: dict[str, Any]) -> dict[str, Any]:
    return json.loads(span["attributes"]) if span["attributes"] else {}


# -- prices, independent of store.pricing --------------------------------------------------


@functools.cache
def _cost_map() -> dict[str, Any]:
    spec = importlib.util.find_spec("litellm")
    assert spec is not None and spec.origin is not None
    path = Path(spec.origin).parent / "model_prices_and_context_window_backup.json"
    return json.loads(path.read_text())


def expected_cost(model: str, input_tokens: int, output_tokens: int, cache_read: int = 0) -> float:
    """OpenAI token semantics: input counts the cached tokens, output the reasoning ones."""
    e = _cost_map()[model]
    cache_price = e.get("cache_read_input_token_cost") or e["input_cost_per_token"]
    return ((input_tokens - cache_read) * e["input_cost_per_token"] + cache_read * cache_price
            + output_tokens * e["output_cost_per_token"])


# -- the OTel SDK -------------------------------------------------------------------------


def sdk_tracer(endpoint: str, service: str, headers: dict[str, str] | None = None, gzip: bool = False,
               scope: str = "ingest-tests"):  # type: ignore[no-untyped-def]
    """A private TracerProvider exporting synchronously with the SDK's OTLP/HTTP exporter
    (protobuf); never the global one, so tests cannot leak into each other."""
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    exporter = OTLPSpanExporter(endpoint=endpoint, headers=headers,
                                compression=Compression.Gzip if gzip else Compression.NoCompression)
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, provider.get_tracer(scope)


def trace_id_of(span: Any) -> str:
    return format(span.get_span_context().trace_id, "032x")


def span_id_of(span: Any) -> str:
    return format(span.get_span_context().span_id, "016x")


# -- OTLP/JSON, built by hand per the spec (hex ids, integer enums, int64 as strings) ------


def new_trace_id() -> str:
    return os.urandom(16).hex()


def new_span_id() -> str:
    return os.urandom(8).hex()


def json_value(v: Any) -> dict[str, Any]:
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    if isinstance(v, str):
        return {"stringValue": v}
    if isinstance(v, bytes):
        import base64

        return {"bytesValue": base64.b64encode(v).decode()}
    if isinstance(v, (list, tuple)):
        return {"arrayValue": {"values": [json_value(x) for x in v]}}
    if isinstance(v, dict):
        return {"kvlistValue": {"values": json_attrs(v)}}
    raise TypeError(type(v))


def json_attrs(attrs: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": k, "value": json_value(v)} for k, v in attrs.items()]


def json_span(trace_id: str, span_id: str, name: str, attrs: dict[str, Any], parent: str = "",
              kind: int = 3, start_ns: int | None = None, duration_ns: int = 250_000_000,
              events: Iterable[tuple[str, dict[str, Any]]] = (), status: int = 0) -> dict[str, Any]:
    start_ns = start_ns if start_ns is not None else time.time_ns()
    return {
        "traceId": trace_id, "spanId": span_id, "parentSpanId": parent, "name": name, "kind": kind,
        "startTimeUnixNano": str(start_ns), "endTimeUnixNano": str(start_ns + duration_ns),
        "attributes": json_attrs(attrs),
        "events": [{"timeUnixNano": str(start_ns + 1000), "name": n, "attributes": json_attrs(a)} for n, a in events],
        "status": {"code": status},
    }


def json_request(spans: list[dict[str, Any]], service: str = "json-app",
                 resource: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"resourceSpans": [{
        "resource": {"attributes": json_attrs({"service.name": service, **(resource or {})})},
        "scopeSpans": [{"scope": {"name": "hand-built", "version": "1"}, "spans": spans}],
    }]}


# -- protobuf, built by hand (structured attributes the SDK cannot express) -------------


def pb_value(v: Any) -> AnyValue:
    out = AnyValue()
    if isinstance(v, bool):
        out.bool_value = v
    elif isinstance(v, int):
        out.int_value = v
    elif isinstance(v, float):
        out.double_value = v
    elif isinstance(v, str):
        out.string_value = v
    elif isinstance(v, bytes):
        out.bytes_value = v
    elif isinstance(v, (list, tuple)):
        out.array_value.values.extend(pb_value(x) for x in v)
    elif isinstance(v, dict):
        out.kvlist_value.values.extend(KeyValue(key=k, value=pb_value(x)) for k, x in v.items())
    else:
        raise TypeError(type(v))
    return out


def pb_request(spans: list[dict[str, Any]], service: str = "pb-app") -> ExportTraceServiceRequest:
    """``spans``: dicts with trace_id/span_id (bytes), name, attrs, optional parent, start_ns, end_ns, kind."""
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.attributes.add(key="service.name", value=pb_value(service))
    ss = rs.scope_spans.add()
    now = time.time_ns()
    for s in spans:
        sp = ss.spans.add()
        sp.trace_id, sp.span_id = s["trace_id"], s["span_id"]
        sp.parent_span_id = s.get("parent", b"")
        sp.name = s.get("name", "span")
        sp.kind = s.get("kind", 1)
        sp.start_time_unix_nano = s.get("start_ns", now)
        sp.end_time_unix_nano = s.get("end_ns", now + 1_000_000)
        for k, v in s.get("attrs", {}).items():
            sp.attributes.add(key=k, value=pb_value(v))
    return req
