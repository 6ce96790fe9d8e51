"""Deterministic stores for UI and query tests, written through the store's own writer."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa

from store.schema import SPANS
from store.segments.writer import SegmentWriter

T0 = datetime(2026, 1, 5, 12, 0, 0, tzinfo=timezone.utc)


def hexid(*parts: Any, n: int = 32) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:n]


def span(trace: str, sid: str, parent: str | None, name: str, start: datetime, ms: float, **kw: Any) -> dict[str, Any]:
    row = {f.name: None for f in SPANS}
    row.update(trace_id=trace, span_id=sid, parent_id=parent, name=name, kind=kw.pop("kind", "chain"),
               otel_kind=1, service=kw.pop("service", "support-bot"), start_time=start,
               end_time=start + timedelta(milliseconds=ms), duration_ms=float(ms), status=kw.pop("status", "ok"),
               tags=kw.pop("tags", []), dialect=kw.pop("dialect", "genai"), received_at=start)
    row.update(kw)
    return row


def chat(role: str, content: str, **kw: Any) -> dict[str, Any]:
    return {"role": role, "content": content, **kw}


def agent_trace(i: int, start: datetime, model: str = "gpt-4o-mini", user: str = "alice",
                error: bool = False, session: str | None = None, tags: list[str] | None = None,
                tool_repeats: int = 1, llm_calls: int = 1) -> list[dict[str, Any]]:
    tid = hexid("trace", i)
    root = hexid("root", i, n=16)
    rows = [span(tid, root, None, f"invoke_agent support-{i % 3}", start, 2500 + 10 * i, kind="agent",
                 user_id=user, session_id=session or f"sess-{i // 3}", tags=tags or ["prod"],
                 input_value=f"Customer {i} asks: where is my refund?")]
    t = start + timedelta(milliseconds=5)
    for k in range(llm_calls):
        sid = hexid("llm", i, k, n=16)
        rows.append(span(tid, sid, root, f"chat {model}", t, 900, kind="llm", model=model, provider="openai",
                         input_tokens=1200 + i, output_tokens=150, total_tokens=1350 + i, cost_usd=0.00027 + i * 1e-6,
                         cost_source="computed", user_id=user, session_id=session or f"sess-{i // 3}",
                         tags=tags or ["prod"], status="error" if error and k == 0 else "ok",
                         status_message="RateLimitError: 429" if error and k == 0 else None,
                         input_messages=json.dumps([chat("system", "You are a support agent."),
                                                    chat("user", f"Where is refund #{i}?")]),
                         output_messages=json.dumps([chat("assistant", None, tool_calls=[
                             {"id": f"call_{i}", "name": "lookup_refund", "arguments": json.dumps({"id": i})}])]),
                         request_params=json.dumps({"temperature": 0.2, "max_tokens": 400})))
        t += timedelta(milliseconds=950)
    for r in range(tool_repeats):
        rows.append(span(tid, hexid("tool", i, r, n=16), root, "execute_tool lookup_refund", t, 120, kind="tool",
                         input_value=json.dumps({"id": i}), output_value=json.dumps({"status": "sent", "days": 3}),
                         user_id=user))
        t += timedelta(milliseconds=130)
    return rows


def write(store: Path, rows: list[dict[str, Any]]) -> SegmentWriter:
    w = SegmentWriter(store)
    w.append({"spans": pa.Table.from_pylist(rows, schema=SPANS)})
    return w


def small_store(store: Path, n: int = 30) -> Path:
    rows: list[dict[str, Any]] = []
    models = ["gpt-4o-mini", "claude-sonnet-4-6", "gpt-4o"]
    for i in range(n):
        rows += agent_trace(i, T0 + timedelta(minutes=i), model=models[i % 3], user=["alice", "bob", "carol"][i % 3],
                            error=i % 7 == 3, tags=["prod"] if i % 2 else ["staging"],
                            tool_repeats=5 if i == n - 2 else 1, llm_calls=30 if i == n - 2 else 1)
    write(store, rows)
    return store
