"""A whole OTLP request into one Arrow batch of normalized spans."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from store.collector.normalize.span import InvalidSpan, PriceFn, normalize_span
from store.collector.normalize.values import dumps, to_python
from store.schema import SPANS

log = logging.getLogger(__name__)
_ENV_KEYS = ("deployment.environment.name", "deployment.environment")


@dataclass
class BatchResult:
    batch: pa.RecordBatch
    accepted: int
    rejected: int
    errors: list[str] = field(default_factory=list)


def _resource_context(resource: Any) -> tuple[str, str, list[str]]:
    attrs = {kv.key: to_python(kv.value) for kv in resource.attributes}
    service = attrs.get("service.name") or "unknown_service"
    tags: list[str] = []
    for k in _ENV_KEYS:
        if attrs.get(k):
            tags.append(str(attrs[k]))
            break
    if str(attrs.get("llmops.demo", "")).lower() in ("true", "1"):
        tags.append("demo")
    return str(service), dumps(attrs) if attrs else "{}", tags


class SpanBatchBuilder:
    """Normalizes ExportTraceServiceRequests; one instance per decoder process."""

    def __init__(self, price: PriceFn | None = None, max_errors: int = 5):
        self.price = price
        self.max_errors = max_errors

    def build(self, request: Any, received_us: int | None = None) -> BatchResult:
        received_us = received_us or time.time_ns() // 1000
        rows: list[dict[str, Any]] = []
        rejected, errors = 0, []
        for rs in request.resource_spans:
            service, resource_json, tags = _resource_context(rs.resource)
            for ss in rs.scope_spans:
                for span in ss.spans:
                    try:
                        rows.append(normalize_span(span, service, resource_json, tags, received_us, self.price))
                    except InvalidSpan as e:
                        rejected += 1
                        if len(errors) < self.max_errors:
                            errors.append(f"span {span.name[:60]!r}: {e}")
                    except Exception as e:  # a normalizer bug costs this span, not the whole request
                        if not rejected:
                            log.exception("could not normalize span %r", span.name[:60])
                        rejected += 1
                        if len(errors) < self.max_errors:
                            errors.append(f"span {span.name[:60]!r}: could not normalize: {type(e).__name__}")
        batch = pa.RecordBatch.from_pylist(rows, schema=SPANS) if rows else SPANS.empty_table().to_batches()
        if isinstance(batch, list):
            batch = pa.RecordBatch.from_pylist([], schema=SPANS)
        return BatchResult(batch, len(rows), rejected, errors)
