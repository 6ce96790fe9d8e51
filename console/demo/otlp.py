"""Demo spans into OTLP ``ExportTraceServiceRequest`` bodies (protobuf), in batches.

Built with the opentelemetry-proto message classes only: the demo plays the part
of many different SDKs, so it writes their attributes itself instead of going
through one SDK's conventions.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan

from console.demo.spans import Service, Span, Trace


def set_value(v: AnyValue, x: Any) -> None:
    if isinstance(x, bool):
        v.bool_value = x
    elif isinstance(x, int):
        v.int_value = x
    elif isinstance(x, float):
        v.double_value = x
    elif isinstance(x, str):
        v.string_value = x
    elif isinstance(x, (list, tuple)):
        for item in x:
            set_value(v.array_value.values.add(), item)
    elif isinstance(x, dict):
        for k, item in x.items():
            kv = v.kvlist_value.values.add()
            kv.key = k
            set_value(kv.value, item)
    elif isinstance(x, bytes):
        v.bytes_value = x
    else:
        v.string_value = str(x)


def _fill_attrs(target: Any, attrs: dict[str, Any]) -> None:
    for k, x in attrs.items():
        if x is None:
            continue
        kv: KeyValue = target.add()
        kv.key = k
        set_value(kv.value, x)


def iso_time(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def _fill_span(pb: PbSpan, s: Span) -> None:
    pb.trace_id = s.trace_id
    pb.span_id = s.span_id
    if s.parent_id:
        pb.parent_span_id = s.parent_id
    pb.name = s.name
    pb.kind = s.kind
    pb.start_time_unix_nano = s.start_ns
    pb.end_time_unix_nano = s.end_ns
    _fill_attrs(pb.attributes, s.attrs)
    if s.time_attrs:
        _fill_attrs(pb.attributes, {k: iso_time(s.start_ns + off) for k, off in s.time_attrs.items()})
    for e in s.events:
        pe = pb.events.add()
        pe.name = e.name
        pe.time_unix_nano = e.time_ns
        _fill_attrs(pe.attributes, e.attrs)
    if s.status:
        pb.status.code = s.status
        if s.message:
            pb.status.message = s.message


def encode(spans: Iterable[Span]) -> bytes:
    """One request: a ResourceSpans per service (and environment), in first-seen order."""
    req = ExportTraceServiceRequest()
    scopes: dict[Service, Any] = {}
    for s in spans:
        scope = scopes.get(s.service)
        if scope is None:
            rs = req.resource_spans.add()
            _fill_attrs(rs.resource.attributes, s.service.resource_attrs())
            scope = rs.scope_spans.add()
            scope.scope.name = s.service.scope
            if s.service.scope_version:
                scope.scope.version = s.service.scope_version
            scopes[s.service] = scope
        _fill_span(scope.spans.add(), s)
    return req.SerializeToString()


def batches(traces: Iterable[Trace], max_spans: int = 80) -> Iterator[tuple[bytes, int, int]]:
    """(body, spans, traces) per request. A trace is never split across requests, so
    its spans are published together; one larger than ``max_spans`` goes alone."""
    pending: list[Span] = []
    n_traces = 0
    for t in traces:
        if pending and len(pending) + len(t.spans) > max_spans:
            yield encode(pending), len(pending), n_traces
            pending, n_traces = [], 0
        pending.extend(t.spans)
        n_traces += 1
    if pending:
        yield encode(pending), len(pending), n_traces
