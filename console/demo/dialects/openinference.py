"""OpenInference (Arize Phoenix's instrumentations): ``openinference.span.kind``,
flattened ``llm.input_messages.N.message.*``, ``llm.token_count.*``, retriever
documents, embeddings, guardrails; session, user, tags and metadata on every span
of the request (``using_attributes``)."""

from __future__ import annotations

from typing import Any

from console.demo.dialects import dumps, failed
from console.demo.llm import LLMCall, ToolRun
from console.demo.spans import INTERNAL, SpanShape

PROVIDER = {"openai": "openai", "anthropic": "anthropic", "google": "google", "vllm": "openai"}
SYSTEM = {"openai": "openai", "anthropic": "anthropic", "google": "vertexai", "vllm": "openai"}
SPAN_NAME = {"openai": "ChatCompletion", "anthropic": "Messages", "google": "GenerateContent", "vllm": "ChatCompletion"}


def context_attrs(session_id: str | None, user_id: str | None, tags: list[str],
                  metadata: dict[str, Any]) -> dict[str, Any]:
    attrs: dict[str, Any] = {"tag.tags": tags, "metadata": dumps(metadata)}
    if session_id:
        attrs["session.id"] = session_id
    if user_id:
        attrs["user.id"] = user_id
    return attrs


def _flatten(attrs: dict[str, Any], prefix: str, messages: list[dict[str, Any]]) -> None:
    for i, m in enumerate(messages):
        p = f"{prefix}.{i}.message."
        attrs[p + "role"] = m["role"]
        if m.get("content"):
            attrs[p + "content"] = m["content"]
        if m.get("tool_call_id"):
            attrs[p + "tool_call_id"] = m["tool_call_id"]
        for j, tc in enumerate(m.get("tool_calls") or ()):
            q = f"{p}tool_calls.{j}.tool_call."
            attrs[q + "id"] = tc["id"]
            attrs[q + "function.name"] = tc["name"]
            attrs[q + "function.arguments"] = tc["arguments"]


def llm(call: LLMCall, context: dict[str, Any]) -> SpanShape:
    m = call.model
    attrs: dict[str, Any] = {
        "openinference.span.kind": "LLM",
        "llm.model_name": m.response,
        "llm.provider": PROVIDER[m.provider],
        "llm.system": SYSTEM[m.provider],
        "llm.invocation_parameters": dumps({"model": m.name, **call.params}),
    }
    _flatten(attrs, "llm.input_messages", call.messages)
    if call.output is not None:
        _flatten(attrs, "llm.output_messages", [call.output])
    for i, t in enumerate(call.tools or ()):
        attrs[f"llm.tools.{i}.tool.json_schema"] = dumps(t)
    u = call.usage
    if u is not None:
        attrs["llm.token_count.prompt"] = u.input
        attrs["llm.token_count.completion"] = u.output
        attrs["llm.token_count.total"] = u.total
        if u.cache_read:
            attrs["llm.token_count.prompt_details.cache_read"] = u.cache_read
        if u.cache_write:
            attrs["llm.token_count.prompt_details.cache_write"] = u.cache_write
        if u.reasoning:
            attrs["llm.token_count.completion_details.reasoning"] = u.reasoning
    if call.prompt is not None:
        attrs["prompt.id"] = call.prompt.id
        attrs["llm.prompt_template.template"] = call.prompt.template
        attrs["llm.prompt_template.version"] = call.prompt.version
        attrs["llm.prompt_template.variables"] = call.prompt.variables_json()
    attrs.update(context)
    return failed(SpanShape(SPAN_NAME[m.provider], INTERNAL, attrs), call.error)


def chain(name: str, input_value: str, output_value: str | None, context: dict[str, Any]) -> SpanShape:
    attrs: dict[str, Any] = {"openinference.span.kind": "CHAIN", "input.value": input_value,
                             "input.mime_type": "text/plain"}
    if output_value is not None:
        attrs["output.value"] = output_value
        attrs["output.mime_type"] = "text/plain"
    attrs.update(context)
    return SpanShape(name, INTERNAL, attrs)


def retriever(query: str, documents: list[dict[str, Any]], context: dict[str, Any]) -> SpanShape:
    """``documents``: ``{"id", "content", "score", "metadata"}`` each."""
    attrs: dict[str, Any] = {"openinference.span.kind": "RETRIEVER", "input.value": query,
                             "input.mime_type": "text/plain"}
    for i, d in enumerate(documents):
        p = f"retrieval.documents.{i}.document."
        attrs[p + "id"] = d["id"]
        attrs[p + "content"] = d["content"]
        attrs[p + "score"] = d["score"]
        attrs[p + "metadata"] = dumps(d["metadata"])
    attrs.update(context)
    return SpanShape("VectorStoreRetriever", INTERNAL, attrs)


def embedding(model_name: str, texts: list[str], prompt_tokens: int, context: dict[str, Any]) -> SpanShape:
    """As OpenInference's OpenAI instrumentor writes it: the model in ``embedding.model_name``."""
    attrs: dict[str, Any] = {
        "openinference.span.kind": "EMBEDDING",
        "embedding.model_name": model_name,
        "embedding.invocation_parameters": dumps({"model": model_name, "encoding_format": "float"}),
        "llm.token_count.prompt": prompt_tokens,
        "llm.token_count.total": prompt_tokens,
    }
    for i, t in enumerate(texts):
        attrs[f"embedding.embeddings.{i}.embedding.text"] = t
    attrs.update(context)
    return SpanShape("CreateEmbeddings", INTERNAL, attrs)


def guardrail(name: str, checked: str, passed: bool, score: float, reason: str, direction: str,
              category: str, context: dict[str, Any]) -> SpanShape:
    """A guard's verdict, as guardrails-ai's OpenInference instrumentation records it."""
    result = {"outcome": "pass" if passed else "fail", "score": round(score, 3)}
    if reason:
        result["reason"] = reason
    attrs: dict[str, Any] = {
        "openinference.span.kind": "GUARDRAIL",
        "guardrail.name": name,
        "guardrail.direction": direction,
        "guardrail.category": category,
        "guardrail.triggered": not passed,
        "input.value": checked,
        "output.value": dumps(result),
        "output.mime_type": "application/json",
    }
    attrs.update(context)
    return SpanShape(f"guard.{name}", INTERNAL, attrs)


def tool(run: ToolRun, context: dict[str, Any]) -> SpanShape:
    attrs: dict[str, Any] = {"openinference.span.kind": "TOOL", "tool.name": run.name,
                             "tool.parameters": run.call["arguments"], "output.value": run.result}
    attrs.update(context)
    return failed(SpanShape(run.name, INTERNAL, attrs), run.error)
