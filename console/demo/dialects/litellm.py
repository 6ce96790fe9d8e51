"""What LiteLLM's OTel callback emits (the proxy, ``litellm.callbacks=["otel"]``):
a ``litellm_request`` span that says ``gen_ai.system=openai`` whatever the
provider, ``gen_ai.operation.name=acompletion``, content as JSON strings, the cost
inside ``hidden_params``, a pile of mostly empty ``metadata.*``, and a
``raw_gen_ai_request`` child."""

from __future__ import annotations

import uuid
import random
from typing import Any

from console.demo.dialects import dumps, failed
from console.demo.llm import LLMCall, list_cost
from console.demo.spans import INTERNAL, SpanShape

ROUTE = {"openai": "openai", "anthropic": "anthropic", "google": "gemini", "vllm": "hosted_vllm"}
API_BASE = {"openai": "https://api.openai.com/v1", "anthropic": "https://api.anthropic.com/v1/messages",
            "google": "https://generativelanguage.googleapis.com/v1beta", "vllm": "http://127.0.0.1:8000/v1"}


def route_model(call: LLMCall) -> str:
    """The model name the proxy's caller asked for (``model_list`` aliases)."""
    m = call.model
    if m.provider == "google":
        return "gemini/" + m.name
    return m.name


def request(rng: random.Random, call: LLMCall, key_alias: str, team: str, end_user: str = "") -> SpanShape:
    m = call.model
    model = route_model(call)
    provider = ROUTE[m.provider]
    cost = 0.0 if m.provider == "vllm" else round(list_cost(call), 8)
    hidden = {
        "model_id": uuid.UUID(int=rng.getrandbits(128), version=4).hex,
        "api_base": API_BASE[m.provider],
        "custom_llm_provider": provider,
        "litellm_model_name": model,
        "response_cost": cost if call.output is not None else None,
        "additional_headers": {},
    }
    attrs: dict[str, Any] = {
        "gen_ai.system": "openai",
        "gen_ai.operation.name": "acompletion",
        "gen_ai.request.model": model,
        "llm.request.type": "acompletion",
        "llm.is_streaming": str(call.stream),
        "litellm.call_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "litellm.provider.model": f"{provider}/{m.short}" if provider != "gemini" else model,
        "gen_ai.input.messages": dumps(call.messages),
        "hidden_params": dumps(hidden),
        "metadata.user_api_key_hash": uuid.UUID(int=rng.getrandbits(128), version=4).hex * 2,
        "metadata.user_api_key_alias": key_alias,
        "metadata.user_api_key_team_id": team,
        "metadata.user_api_key_team_alias": team,
        "metadata.user_api_key_user_id": "",
        "metadata.user_api_key_org_id": "",
        "metadata.user_api_key_end_user_id": end_user,
        "metadata.requester_ip_address": "",
        "metadata.spend_logs_metadata": "",
        "metadata.requester_metadata": "",
        "metadata.applied_guardrails": "[]",
        "metadata.mcp_tool_call_metadata": "",
        "metadata.vector_store_request_metadata": "",
    }
    for key in ("temperature", "max_tokens"):
        if key in call.params:
            attrs[f"gen_ai.request.{key}"] = call.params[key]
    if call.output is not None:
        attrs["gen_ai.response.model"] = m.short if m.provider == "vllm" else m.response
        attrs["gen_ai.response.id"] = call.response_id
        attrs["gen_ai.response.finish_reasons"] = dumps([call.finish_reason or "stop"])
        attrs["gen_ai.output.messages"] = dumps([{"role": "assistant", "content": call.output.get("content"),
                                                  "finish_reason": call.finish_reason or "stop"}])
    u = call.usage
    if u is not None:
        attrs["gen_ai.usage.input_tokens"] = u.input
        attrs["gen_ai.usage.output_tokens"] = u.output
        attrs["gen_ai.usage.total_tokens"] = u.total
    return failed(SpanShape("litellm_request", INTERNAL, attrs), call.error)


def raw_request(call: LLMCall) -> SpanShape:
    """The provider-level child span LiteLLM adds (``llm.<provider>.*`` attributes)."""
    provider = ROUTE[call.model.provider]
    attrs: dict[str, Any] = {f"llm.{provider}.model": call.model.short, f"llm.{provider}.stream": call.stream}
    for key in ("temperature", "max_tokens"):
        if key in call.params:
            attrs[f"llm.{provider}.{key}"] = call.params[key]
    return SpanShape("raw_gen_ai_request", INTERNAL, attrs)
