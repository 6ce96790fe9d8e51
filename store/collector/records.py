"""JSON bodies the console and apps send besides traces: scores and annotations."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import orjson
import pyarrow as pa

from store.collector.otlp import BadRequest
from store.schema import SCORES

SCORE_SOURCES = ("heuristic", "llm-judge", "human", "api")
MAX_RECORDS = 10_000


def _opt_str(d: dict[str, Any], key: str, where: str, max_len: int = 10_000) -> str | None:
    v = d.get(key)
    if v is None:
        return None
    if not isinstance(v, str):
        raise BadRequest(f"{where}.{key} must be a string")
    return v[:max_len]


def _time_us(d: dict[str, Any], where: str) -> int:
    v = d.get("time")
    if v is None:
        return time.time_ns() // 1000
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        # seconds, milliseconds or microseconds since the epoch, by magnitude
        return int(v * 1e6) if v < 1e11 else int(v * 1e3) if v < 1e14 else int(v)
    raise BadRequest(f"{where}.time must be a number (unix seconds)")


def parse_scores(body: bytes) -> pa.RecordBatch:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise BadRequest(f"body is not valid JSON: {e}") from None
    items = doc.get("scores") if isinstance(doc, dict) else None
    if not isinstance(items, list) or not items:
        raise BadRequest('expected {"scores": [{"trace_id", "name", "value", ...}, ...]}')
    if len(items) > MAX_RECORDS:
        raise BadRequest(f"at most {MAX_RECORDS} scores per request")
    rows = []
    for i, s in enumerate(items):
        where = f"scores[{i}]"
        if not isinstance(s, dict):
            raise BadRequest(f"{where} must be an object")
        name = _opt_str(s, "name", where, 200)
        if not name:
            raise BadRequest(f"{where}.name is required")
        trace_id, target = _opt_str(s, "trace_id", where, 64), _opt_str(s, "target_id", where, 200)
        if not trace_id and not target:
            raise BadRequest(f"{where} needs a trace_id (or a target_id)")
        value = s.get("value")
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            if isinstance(value, bool):
                value = float(value)
            else:
                raise BadRequest(f"{where}.value must be a number")
        source = s.get("source") or "api"
        if source not in SCORE_SOURCES:
            raise BadRequest(f"{where}.source must be one of {', '.join(SCORE_SOURCES)}")
        t = _time_us(s, where)
        sid = s.get("score_id") or hashlib.sha256(
            orjson.dumps([trace_id, s.get("span_id"), target, name, source, s.get("run_id"), t])).hexdigest()[:24]
        rows.append({
            "score_id": str(sid), "time": t, "trace_id": trace_id, "span_id": _opt_str(s, "span_id", where, 32),
            "target_id": target, "name": name, "value": None if value is None else float(value),
            "string_value": _opt_str(s, "string_value", where), "source": source,
            "comment": _opt_str(s, "comment", where), "run_id": _opt_str(s, "run_id", where, 200),
        })
    return pa.RecordBatch.from_pylist(rows, schema=SCORES)
