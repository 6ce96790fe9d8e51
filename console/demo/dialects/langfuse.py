"""Langfuse's OpenTelemetry SDK (v3+): ``langfuse.observation.*`` on every span,
usage and cost as JSON objects, trace name, tags, user and session on the root."""

from __future__ import annotations

from typing import Any

from console.demo.dialects import dumps
from console.demo.llm import LLMCall
from console.demo.spans import ERROR, INTERNAL, SpanShape


def trace_root(name: str, user_id: str, session_id: str, tags: list[str], question: str, answer: str | None,
               release: str, environment: str) -> SpanShape:
    attrs: dict[str, Any] = {
        "langfuse.observation.type": "span",
        "langfuse.trace.name": name,
        "langfuse.trace.tags": tags,
        "langfuse.release": release,
        "langfuse.environment": environment,
        "user.id": user_id,
        "session.id": session_id,
        "langfuse.observation.input": dumps({"message": question}),
    }
    if answer is not None:
        attrs["langfuse.observation.output"] = dumps({"reply": answer})
    return SpanShape(name, INTERNAL, attrs)


def generation(name: str, call: LLMCall, report_cost: float | None = None) -> SpanShape:
    u = call.usage
    attrs: dict[str, Any] = {
        "langfuse.observation.type": "generation",
        "langfuse.observation.model.name": call.model.name,
        "langfuse.observation.model.parameters": dumps(call.params),
        "langfuse.observation.input": dumps(call.messages),
    }
    if call.output is not None:
        attrs["langfuse.observation.output"] = dumps({"role": "assistant", "content": call.output.get("content")})
    if u is not None:
        usage: dict[str, int] = {"input": u.uncached_input, "output": u.output}
        if u.cache_read:
            usage["cache_read_input_tokens"] = u.cache_read
        if u.cache_write:
            usage["cache_creation_input_tokens"] = u.cache_write
        usage["total"] = u.total
        attrs["langfuse.observation.usage_details"] = dumps(usage)
    if report_cost is not None:
        attrs["langfuse.observation.cost_details"] = dumps({"total": round(report_cost, 8)})
    shape = SpanShape(name, INTERNAL, attrs)
    if call.ttft_s is not None:  # Langfuse's time to first token: an absolute time, filled in when sent
        shape.time_attrs["langfuse.observation.completion_start_time"] = int(call.ttft_s * 1e9)
    if call.error is not None:
        attrs["langfuse.observation.level"] = "ERROR"
        attrs["langfuse.observation.status_message"] = call.error.message
        attrs["error.type"] = call.error.type
        shape.status = ERROR
        shape.message = call.error.message
    return shape
