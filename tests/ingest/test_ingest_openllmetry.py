"""OpenLLMetry/Traceloop-style spans emitted with the OTel SDK (exported as protobuf).

The chat span mirrors traceloop/openllmetry
packages/opentelemetry-instrumentation-openai/opentelemetry/instrumentation/openai/shared/
__init__.py (``_set_request_attributes``, ``_set_response_attributes``,
``set_tools_attributes``, ``_log_prompt_filter``) and shared/chat_wrappers.py
(``_set_prompts``: ``gen_ai.prompt.N.{role,content,tool_call_id,tool_calls.K.{id,name,
arguments}}`` with list content as a JSON string; ``_set_completions``:
``gen_ai.completion.N.{finish_reason,role,content,tool_calls.K.*}``), with the span
name ``openai.chat`` and ``llm.request.type=chat``; usage under the names
opentelemetry-semantic-conventions-ai 0.5.x keeps (``gen_ai.usage.prompt_tokens``,
``llm.usage.total_tokens``). Workflow/task/tool spans carry ``traceloop.span.kind`` and
``traceloop.entity.{name,input,output}`` as the Traceloop SDK's decorators set them.
"""

from __future__ import annotations

import json

import pytest
from ingest_support import attributes, expected_cost, messages, read_trace, sdk_tracer, trace_id_of
from opentelemetry.trace import SpanKind

IMAGE = "data:image/png;base64," + "iVBORw0KGgo" * 40


def _chat_attributes() -> dict:
    return {
        "llm.request.type": "chat",
        "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.request.max_tokens": 200,
        "gen_ai.request.temperature": 0.5,
        "llm.headers": "None",
        "llm.is_streaming": False,
        "gen_ai.openai.api_base": "https://api.openai.com/v1/",
        "llm.request.functions.0.name": "get_weather",
        "llm.request.functions.0.description": "Weather by city",
        "llm.request.functions.0.parameters": json.dumps({"type": "object",
                                                          "properties": {"city": {"type": "string"}}}),
        "gen_ai.prompt.0.role": "system",
        "gen_ai.prompt.0.content": "You are a travel assistant.",
        "gen_ai.prompt.1.role": "user",
        "gen_ai.prompt.1.content": json.dumps([{"type": "text", "text": "What is in this photo of Paris?"},
                                               {"type": "image_url", "image_url": {"url": IMAGE}}]),
        "gen_ai.prompt.2.role": "assistant",
        "gen_ai.prompt.2.tool_calls.0.id": "call_7",
        "gen_ai.prompt.2.tool_calls.0.name": "get_weather",
        "gen_ai.prompt.2.tool_calls.0.arguments": '{"city":"Paris"}',
        "gen_ai.prompt.3.role": "tool",
        "gen_ai.prompt.3.content": "21C",
        "gen_ai.prompt.3.tool_call_id": "call_7",
        # Azure OpenAI's content filter verdicts land beside the indexed messages
        "gen_ai.prompt.prompt_filter_results": json.dumps([{"prompt_index": 0, "content_filter_results": {}}]),
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.response.id": "chatcmpl-xyz",
        "gen_ai.openai.system_fingerprint": "fp_123",
        "llm.usage.total_tokens": 150,
        "gen_ai.usage.completion_tokens": 30,
        "gen_ai.usage.prompt_tokens": 120,
        "gen_ai.usage.cache_read_input_tokens": 0,
        "gen_ai.completion.0.finish_reason": "tool_calls",
        "gen_ai.completion.0.role": "assistant",
        "gen_ai.completion.0.tool_calls.0.id": "call_8",
        "gen_ai.completion.0.tool_calls.0.name": "get_forecast",
        "gen_ai.completion.0.tool_calls.0.arguments": '{"city":"Paris","days":3}',
    }


def test_openllmetry_workflow_with_chat_and_tool(collector):
    provider, tracer = sdk_tracer(collector.traces_url, "travel-bot", scope="opentelemetry.instrumentation.openai.v1")
    with tracer.start_as_current_span("plan_trip.workflow") as wf:
        wf.set_attributes({"traceloop.span.kind": "workflow", "traceloop.workflow.name": "plan_trip",
                           "traceloop.entity.name": "plan_trip", "traceloop.entity.path": "",
                           "traceloop.entity.input": json.dumps({"args": [], "kwargs": {"city": "Paris"}}),
                           "traceloop.association.properties.user_id": "carol"})
        with tracer.start_as_current_span("openai.chat", kind=SpanKind.CLIENT) as chat:
            chat.set_attributes(_chat_attributes())
        with tracer.start_as_current_span("get_forecast.tool") as tool:
            tool.set_attributes({"traceloop.span.kind": "tool", "traceloop.entity.name": "get_forecast",
                                 "traceloop.entity.input": json.dumps({"args": ["Paris", 3], "kwargs": {}}),
                                 "traceloop.entity.output": json.dumps(["sun", "rain", "sun"])})
        with tracer.start_as_current_span("summarise.task") as task:
            task.set_attributes({"traceloop.span.kind": "task", "traceloop.entity.name": "summarise",
                                 "traceloop.entity.output": json.dumps("Pack an umbrella.")})
        wf.set_attribute("traceloop.entity.output", json.dumps("Pack an umbrella."))
    provider.shutdown()

    t = read_trace(collector.store, trace_id_of(wf), spans=4)
    assert {s["name"]: s["kind"] for s in t.spans} == {"plan_trip.workflow": "chain", "openai.chat": "llm",
                                                      "get_forecast.tool": "tool", "summarise.task": "chain"}
    assert {s["dialect"] for s in t.spans} == {"openllmetry"}

    chat_row = t.span("openai.chat")
    assert (chat_row["model"], chat_row["provider"], chat_row["operation"]) == ("gpt-4o-mini", "openai", "chat")
    assert (chat_row["input_tokens"], chat_row["output_tokens"], chat_row["total_tokens"]) == (120, 30, 150)
    assert chat_row["cache_read_tokens"] == 0
    cost = expected_cost("gpt-4o-mini-2024-07-18", 120, 30)
    assert chat_row["cost_usd"] == pytest.approx(cost, rel=1e-9) and chat_row["cost_source"] == "computed"
    assert messages(chat_row, "input_messages") == [
        {"role": "system", "content": "You are a travel assistant."},
        {"role": "user", "content": "What is in this photo of Paris?\n[image_url]"},
        {"role": "assistant", "tool_calls": [{"id": "call_7", "name": "get_weather", "arguments": '{"city":"Paris"}'}]},
        {"role": "tool", "content": "21C", "tool_call_id": "call_7"},
    ]
    assert messages(chat_row, "output_messages") == [
        {"role": "assistant", "finish_reason": "tool_calls",
         "tool_calls": [{"id": "call_8", "name": "get_forecast", "arguments": '{"city":"Paris","days":3}'}]}]
    assert chat_row["finish_reason"] == "tool_calls"
    params = json.loads(chat_row["request_params"])
    assert (params["temperature"], params["max_tokens"], params["stream"]) == (0.5, 200, False)
    assert params["tools"] == [{"type": "function", "function": {
        "name": "get_weather", "description": "Weather by city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
    raw = attributes(chat_row)
    assert raw["gen_ai.openai.system_fingerprint"] == "fp_123"
    assert "prompt_filter_results" in json.dumps(raw) or "prompt_filter_results" in (chat_row["input_value"] or "")

    tool_row = t.span("get_forecast.tool")
    assert tool_row["input_value"] == json.dumps({"args": ["Paris", 3], "kwargs": {}})
    assert tool_row["output_value"] == json.dumps(["sun", "rain", "sun"])
    s = t.summary
    assert (s["root_name"], s["span_count"], s["llm_calls"], s["tool_calls"]) == ("plan_trip.workflow", 4, 1, 1)
    assert s["cost_usd"] == pytest.approx(cost, rel=1e-9)
