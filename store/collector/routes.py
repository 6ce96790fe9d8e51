"""Routes beyond traces and scores."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from store.collector.otlp import BadRequest
from store.schema import GUARDRAIL_EVENTS


def parse_guardrail_events(body: bytes) -> pa.RecordBatch:
    """An app's own guardrail results (shape documented in store.guardrails.external)."""
    from store.guardrails.external import GuardrailEventsError, events_from_api

    try:
        rows = events_from_api(body)
    except GuardrailEventsError as e:
        raise BadRequest("; ".join(e.problems[:10]) or str(e)) from None
    except ValueError as e:
        raise BadRequest(str(e)) from None
    if not rows:
        raise BadRequest('expected {"events": [{"trace_id", "detector", "category", "severity", "action", ...}]}')
    return pa.RecordBatch.from_pylist(rows, schema=GUARDRAIL_EVENTS)


async def guardrail_events(app: Any, headers: dict[str, str], receive: Any, send: Any) -> None:
    await app.records(headers, receive, send, "guardrail_events", parse_guardrail_events)


async def admin_reprice(app: Any, headers: dict[str, str], receive: Any, send: Any) -> None:
    from store.collector.admin import reprice

    await reprice(app, headers, receive, send)


def _langfuse_routes() -> dict[tuple[str, str], Any]:
    from store.collector.langfuse_api import LANGFUSE_ROUTES

    return LANGFUSE_ROUTES


EXTRA_ROUTES: dict[tuple[str, str], Any] = {
    ("POST", "/v1/guardrail-events"): guardrail_events,
    ("POST", "/v1/admin/reprice"): admin_reprice,
    **_langfuse_routes(),
}
