"""The few Langfuse public-API calls the Langfuse SDK makes besides its OTLP export,
answered so that pointing ``LANGFUSE_BASE_URL`` here just works.

* ``GET /api/public/projects``: ``Langfuse.auth_check()``; one project, this store.
* ``POST /api/public/scores``: ``create_score`` / ``score_current_*`` batches, stored
  in the scores table (a session score targets ``session:<id>``).
* ``POST /api/public/media``: the SDK asks where to upload inline base64 media; the
  answer "already uploaded" (no URL) makes it skip the upload quietly. The span keeps
  Langfuse's media reference in place of the bytes.

Prompts, datasets and the rest of the Langfuse API are not served (404).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import orjson
import pyarrow as pa

from store.collector.otlp import BadRequest
from store.collector.records import parse_scores

PROJECT = {"id": "llmops-console", "name": "llmops-console",
           "organization": {"id": "llmops-console", "name": "llmops-console"}, "metadata": {}}


def _seconds(ts: Any) -> float | None:
    if isinstance(ts, (int, float)) and not isinstance(ts, bool):
        return float(ts)
    if isinstance(ts, str) and ts:
        try:
            return datetime.fromisoformat(ts).timestamp()
        except ValueError:
            raise BadRequest(f"timestamp {ts[:40]!r} is not ISO 8601") from None
    return None


def parse_langfuse_scores(body: bytes) -> pa.RecordBatch:
    """A Langfuse CreateScoresRequest (a JSON list of scores) as SCORES rows."""
    try:
        items = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise BadRequest(f"body is not valid JSON: {e}") from None
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise BadRequest("expected a JSON list of scores")
    ours = []
    for s in items:
        value = s.get("value")
        numeric = isinstance(value, (int, float))  # bools count: Langfuse sends booleans as 0/1
        ours.append({
            "score_id": s.get("id"), "trace_id": s.get("traceId"), "span_id": s.get("observationId"),
            "target_id": f"session:{s['sessionId']}" if s.get("sessionId") and not s.get("traceId") else None,
            "name": s.get("name"), "value": float(value) if numeric else None,
            "string_value": None if numeric or value is None else str(value),
            "comment": s.get("comment"), "run_id": s.get("datasetRunId"), "source": "api",
            "time": _seconds(s.get("timestamp")),
        })
    return parse_scores(orjson.dumps({"scores": ours}))


async def projects(app: Any, headers: dict[str, str], receive: Any, send: Any) -> None:
    from store.collector.server import _json

    await _json(send, 200, {"data": [PROJECT]})


async def scores(app: Any, headers: dict[str, str], receive: Any, send: Any) -> None:
    await app.records(headers, receive, send, "scores", parse_langfuse_scores, accepted={"message": "Accepted"})


async def media(app: Any, headers: dict[str, str], receive: Any, send: Any) -> None:
    from store.collector.server import _json

    body = await app._read_body(headers, receive, send)
    if body is None:
        return
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        doc = {}
    digest = str(doc.get("sha256Hash") or "") if isinstance(doc, dict) else ""
    media_id = hashlib.sha256(digest.encode()).hexdigest()[:22]
    await _json(send, 200, {"mediaId": media_id, "uploadUrl": None})


LANGFUSE_ROUTES: dict[tuple[str, str], Any] = {
    ("GET", "/api/public/projects"): projects,
    ("POST", "/api/public/scores"): scores,
    ("POST", "/api/public/media"): media,
}
