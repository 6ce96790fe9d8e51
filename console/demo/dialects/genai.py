"""OpenTelemetry GenAI conventions: the current names (``gen_ai.provider.name``,
``gen_ai.input.messages`` as JSON parts, ``cache_read`` tokens) and the old ones
(``gen_ai.system``, ``gen_ai.usage.prompt_tokens``, content in span events) that
instrumentations keep emitting unless told otherwise."""

from __future__ import annotations

from typing import Any

from console.demo.dialects import dumps, failed, parse_args
from console.demo.llm import LLMCall, ToolRun
from console.demo.spans import CLIENT, INTERNAL, Event, SpanShape

PROVIDER = {"openai": "openai", "anthropic": "anthropic", "google": "gcp.vertex_ai", "vllm": "vllm"}
OLD_SYSTEM = {"openai": "openai", "anthropic": "anthropic", "google": "vertex_ai", "vllm": "vllm"}


def _parts(m: dict[str, Any]) -> dict[str, Any]:
    if m["role"] == "tool":
        parts = [{"type": "tool_call_response", "id": m["tool_call_id"], "response": parse_args(m["content"])}]
    else:
        parts = [{"type": "text", "content": m["content"]}] if m.get("content") else []
        parts += [{"type": "tool_call", "id": tc["id"], "name": tc["name"], "arguments": parse_args(tc["arguments"])}
                  for tc in m.get("tool_calls") or ()]
    out: dict[str, Any] = {"role": m["role"], "parts": parts}
    if m.get("finish_reason"):
        out["finish_reason"] = m["finish_reason"]
    return out


def _tool_definitions(tools: list[dict[str, Any]]) -> str:
    return dumps([{"type": "function", **t["function"]} for t in tools])


def _common(call: LLMCall, operation: str = "chat") -> dict[str, Any]:
    m = call.model
    attrs: dict[str, Any] = {
        "gen_ai.operation.name": operation,
        "gen_ai.request.model": m.name,
        "server.address": m.server[0],
        "server.port": m.server[1],
    }
    for key in ("temperature", "max_tokens", "top_p", "seed"):
        if key in call.params:
            attrs[f"gen_ai.request.{key}"] = call.params[key]
    if call.output is not None:
        attrs["gen_ai.response.model"] = m.response
        attrs["gen_ai.response.id"] = call.response_id
        attrs["gen_ai.response.finish_reasons"] = [call.finish_reason or "stop"]
    return attrs


def _prompt(attrs: dict[str, Any], call: LLMCall) -> None:
    if call.prompt is not None:
        attrs["prompt.id"] = call.prompt.id
        attrs["prompt.version"] = call.prompt.version
        attrs["prompt.variables"] = call.prompt.variables_json()


def chat(call: LLMCall, context: dict[str, Any] | None = None) -> SpanShape:
    """The current conventions (``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental``)."""
    attrs = _common(call)
    attrs["gen_ai.provider.name"] = PROVIDER[call.model.provider]
    if call.stream:
        attrs["gen_ai.request.stream"] = True
    if call.system:
        attrs["gen_ai.system_instructions"] = dumps([{"type": "text", "content": call.system}])
    attrs["gen_ai.input.messages"] = dumps([_parts(m) for m in call.chat])
    if call.tools:
        attrs["gen_ai.tool.definitions"] = _tool_definitions(call.tools)
    if call.output is not None:
        attrs["gen_ai.output.messages"] = dumps([_parts(call.output)])
    u = call.usage
    if u is not None:
        attrs["gen_ai.usage.input_tokens"] = u.input
        attrs["gen_ai.usage.output_tokens"] = u.output
        if u.cache_read:
            attrs["gen_ai.usage.cache_read.input_tokens"] = u.cache_read
        if u.cache_write:
            attrs["gen_ai.usage.cache_creation.input_tokens"] = u.cache_write
        if u.reasoning:
            attrs["gen_ai.usage.reasoning.output_tokens"] = u.reasoning
    if call.ttft_s is not None and call.stream:
        attrs["gen_ai.response.time_to_first_chunk"] = call.ttft_s
    _prompt(attrs, call)
    attrs.update(context or {})
    return failed(SpanShape(f"chat {call.model.name}", CLIENT, attrs), call.error)


def chat_old(call: LLMCall, context: dict[str, Any] | None = None) -> SpanShape:
    """Semantic conventions up to 1.26: ``gen_ai.system``, prompt/completion token
    names, and the content as ``gen_ai.*.message`` / ``gen_ai.choice`` span events."""
    attrs = _common(call)
    system = OLD_SYSTEM[call.model.provider]
    attrs["gen_ai.system"] = system
    u = call.usage
    if u is not None:
        attrs["gen_ai.usage.prompt_tokens"] = u.input
        attrs["gen_ai.usage.completion_tokens"] = u.output
        if u.cache_read:
            attrs["gen_ai.usage.cache_read_input_tokens"] = u.cache_read
    _prompt(attrs, call)
    attrs.update(context or {})
    events = []
    for m in call.messages:
        ev = {"gen_ai.system": system, "content": m.get("content") or ""}
        if m["role"] == "tool":
            ev["id"] = m["tool_call_id"]
        if m.get("tool_calls"):
            ev["tool_calls"] = dumps([{"id": tc["id"], "type": "function", "function": {
                "name": tc["name"], "arguments": tc["arguments"]}} for tc in m["tool_calls"]])
        events.append(Event(f"gen_ai.{m['role']}.message", 0, ev))
    if call.output is not None:
        out = {"role": "assistant", "content": call.output.get("content")}
        events.append(Event("gen_ai.choice", call.duration_ns, {
            "gen_ai.system": system, "index": 0, "finish_reason": call.finish_reason or "stop",
            "message": dumps(out)}))
    return failed(SpanShape(f"chat {call.model.name}", CLIENT, attrs, events), call.error)


def tool(run: ToolRun, context: dict[str, Any] | None = None, description: str = "") -> SpanShape:
    attrs: dict[str, Any] = {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": run.name,
        "gen_ai.tool.type": "function",
        "gen_ai.tool.call.id": run.call["id"],
        "gen_ai.tool.call.arguments": run.call["arguments"],
    }
    if description:
        attrs["gen_ai.tool.description"] = description
    if run.error is None:
        attrs["gen_ai.tool.call.result"] = run.result
    attrs.update(context or {})
    return failed(SpanShape(f"execute_tool {run.name}", INTERNAL, attrs), run.error)


def agent(name: str, agent_id: str, provider: str, question: str, answer: str | None,
          context: dict[str, Any] | None = None) -> SpanShape:
    attrs: dict[str, Any] = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.provider.name": PROVIDER[provider],
        "gen_ai.agent.name": name,
        "gen_ai.agent.id": agent_id,
        "gen_ai.input.messages": dumps([{"role": "user", "parts": [{"type": "text", "content": question}]}]),
    }
    if answer is not None:
        attrs["gen_ai.output.messages"] = dumps([{"role": "assistant", "parts": [{"type": "text", "content": answer}],
                                                  "finish_reason": "stop"}])
    attrs.update(context or {})
    return SpanShape(f"invoke_agent {name}", INTERNAL, attrs)
