"""Traceloop OpenLLMetry: the pre-1.27 GenAI names (``gen_ai.system``,
``gen_ai.usage.prompt_tokens``, ``llm.usage.total_tokens``, ``llm.request.type``),
indexed content (``gen_ai.prompt.N.*``, ``gen_ai.completion.N.*``), and
``traceloop.*`` workflow, task, agent and tool spans around them."""

from __future__ import annotations

from typing import Any

from console.demo.dialects import dumps, failed
from console.demo.llm import LLMCall, ToolRun
from console.demo.spans import CLIENT, INTERNAL, SpanShape

SYSTEM = {"openai": "openai", "anthropic": "Anthropic", "google": "Gemini", "vllm": "openai"}
API_BASE = {"openai": "https://api.openai.com/v1/", "vllm": "http://127.0.0.1:8000/v1/"}


def association(workflow: str, properties: dict[str, str]) -> dict[str, Any]:
    """What ``Traceloop.set_association_properties`` puts on every span of the workflow."""
    attrs: dict[str, Any] = {"traceloop.workflow.name": workflow}
    for k, v in properties.items():
        attrs[f"traceloop.association.properties.{k}"] = v
    return attrs


def _indexed(attrs: dict[str, Any], prefix: str, messages: list[dict[str, Any]]) -> None:
    for i, m in enumerate(messages):
        p = f"{prefix}.{i}."
        attrs[p + "role"] = m["role"]
        if m.get("content") is not None:
            attrs[p + "content"] = m["content"]
        if m.get("tool_call_id"):
            attrs[p + "tool_call_id"] = m["tool_call_id"]
        if m.get("finish_reason"):
            attrs[p + "finish_reason"] = m["finish_reason"]
        for j, tc in enumerate(m.get("tool_calls") or ()):
            q = f"{p}tool_calls.{j}."
            attrs[q + "id"] = tc["id"]
            attrs[q + "name"] = tc["name"]
            attrs[q + "arguments"] = tc["arguments"]


def llm(call: LLMCall, context: dict[str, Any]) -> SpanShape:
    m = call.model
    provider = m.provider
    attrs: dict[str, Any] = {
        "gen_ai.system": SYSTEM[provider],
        "llm.request.type": "chat",
        "gen_ai.request.model": m.name,
        "llm.is_streaming": call.stream,
    }
    if provider in API_BASE:
        attrs["gen_ai.openai.api_base"] = API_BASE[provider]
    for key in ("temperature", "max_tokens", "top_p"):
        if key in call.params:
            attrs[f"gen_ai.request.{key}"] = call.params[key]
    for i, t in enumerate(call.tools or ()):
        fn = t["function"]
        attrs[f"llm.request.functions.{i}.name"] = fn["name"]
        attrs[f"llm.request.functions.{i}.description"] = fn.get("description", "")
        attrs[f"llm.request.functions.{i}.parameters"] = dumps(fn.get("parameters", {}))
    _indexed(attrs, "gen_ai.prompt", call.messages)
    if call.output is not None:
        attrs["gen_ai.response.model"] = m.response
        attrs["gen_ai.response.id"] = call.response_id
        _indexed(attrs, "gen_ai.completion", [call.output])
    u = call.usage
    if u is not None:
        attrs["gen_ai.usage.prompt_tokens"] = u.input
        attrs["gen_ai.usage.completion_tokens"] = u.output
        attrs["llm.usage.total_tokens"] = u.total
        if u.cache_read:
            attrs["gen_ai.usage.cache_read_input_tokens"] = u.cache_read
        if u.reasoning:
            attrs["gen_ai.usage.reasoning_tokens"] = u.reasoning
    if call.prompt is not None:
        attrs["prompt.id"] = call.prompt.id
        attrs["prompt.version"] = call.prompt.version
        attrs["prompt.variables"] = call.prompt.variables_json()
    attrs.update(context)
    return failed(SpanShape(f"{'anthropic' if provider == 'anthropic' else 'openai'}.chat", CLIENT, attrs), call.error)


def entity(kind: str, name: str, inputs: dict[str, Any], output: Any, context: dict[str, Any]) -> SpanShape:
    """A ``@workflow``/``@task``/``@agent``/``@tool``-decorated function's span."""
    attrs: dict[str, Any] = {
        "traceloop.span.kind": kind,
        "traceloop.entity.name": name,
        "traceloop.entity.path": name if kind in ("workflow", "agent") else "",
        "traceloop.entity.input": dumps({"args": [], "kwargs": inputs}),
    }
    if output is not None:
        attrs["traceloop.entity.output"] = output if isinstance(output, str) else dumps(output)
    attrs.update(context)
    return SpanShape(f"{name}.{kind}", INTERNAL, attrs)


def tool(run: ToolRun, context: dict[str, Any]) -> SpanShape:
    shape = entity("tool", run.name, _loads(run.call["arguments"]), None if run.error else run.result, context)
    return failed(shape, run.error)


def _loads(arguments: str) -> dict[str, Any]:
    import json

    try:
        value = json.loads(arguments)
    except ValueError:
        return {"input": arguments}
    return value if isinstance(value, dict) else {"input": value}
