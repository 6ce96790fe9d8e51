"""The OpenTelemetry SDK's own OTLP/HTTP exporter (protobuf), with GenAI semconv
attributes under their new names and their old ones (content as attributes and as
span events), read back through the query layer."""

from __future__ import annotations

import json

import pytest
from ingest_support import (attributes, expected_cost, messages, read_trace, sdk_tracer, span_id_of,
                            trace_id_of)
from opentelemetry.trace import SpanKind, Status, StatusCode

INPUT_MESSAGES = [
    {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]},
    {"role": "assistant", "parts": [{"type": "tool_call", "id": "call_1", "name": "get_weather",
                                     "arguments": {"city": "Paris"}}]},
    {"role": "tool", "parts": [{"type": "tool_call_response", "id": "call_1", "response": "18C, sunny"}]},
]
OUTPUT_MESSAGES = [{"role": "assistant", "parts": [{"type": "text", "content": "It is 18C and sunny."}],
                    "finish_reason": "stop"}]


@pytest.mark.parametrize("gzip", [False, True])
def test_new_semconv_names_over_protobuf(collector, gzip):
    provider, tracer = sdk_tracer(collector.traces_url, "weather-agent", gzip=gzip)
    with tracer.start_as_current_span("invoke_agent weather", kind=SpanKind.INTERNAL) as root:
        root.set_attribute("gen_ai.operation.name", "invoke_agent")
        root.set_attribute("gen_ai.agent.name", "weather")
        with tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT) as chat:
            chat.set_attributes({
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
                "gen_ai.request.temperature": 0.3,
                "gen_ai.request.max_tokens": 256,
                "gen_ai.usage.input_tokens": 1200,
                "gen_ai.usage.output_tokens": 300,
                "gen_ai.usage.cache_read.input_tokens": 1000,
                "gen_ai.usage.reasoning.output_tokens": 100,
                "gen_ai.response.finish_reasons": ["stop"],
                "gen_ai.conversation.id": "conv-42",
                "server.address": "api.openai.com",
                "server.port": 443,
                # JSON strings: what the SDK can carry (structured values: see the OTLP/JSON tests)
                "gen_ai.system_instructions": json.dumps([{"type": "text", "content": "You are terse."}]),
                "gen_ai.input.messages": json.dumps(INPUT_MESSAGES),
                "gen_ai.output.messages": json.dumps(OUTPUT_MESSAGES),
                "app.custom": "kept raw",
            })
        with tracer.start_as_current_span("execute_tool get_weather") as tool:
            tool.set_attributes({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "get_weather",
                                 "gen_ai.tool.call.arguments": '{"city": "Paris"}',
                                 "gen_ai.tool.call.result": "18C, sunny"})
    provider.shutdown()

    t = read_trace(collector.store, trace_id_of(root), spans=3)
    chat_row = t.span("chat gpt-4o-mini")
    assert chat_row["parent_id"] == span_id_of(root)
    assert (chat_row["kind"], chat_row["dialect"], chat_row["service"]) == ("llm", "genai", "weather-agent")
    assert (chat_row["model"], chat_row["provider"], chat_row["operation"]) == ("gpt-4o-mini", "openai", "chat")
    assert (chat_row["input_tokens"], chat_row["output_tokens"]) == (1200, 300)
    assert (chat_row["cache_read_tokens"], chat_row["reasoning_tokens"]) == (1000, 100)
    # priced by the response model's snapshot: 200 uncached + 1000 cached input, 300 output
    cost = expected_cost("gpt-4o-mini-2024-07-18", 1200, 300, cache_read=1000)
    assert chat_row["cost_usd"] == pytest.approx(cost, rel=1e-9)
    assert chat_row["cost_source"] == "computed"
    assert chat_row["finish_reason"] == "stop"
    assert chat_row["server_address"] == "api.openai.com:443"
    assert chat_row["session_id"] == "conv-42"
    assert json.loads(chat_row["request_params"]) == {"temperature": 0.3, "max_tokens": 256}
    assert messages(chat_row, "input_messages") == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "tool_calls": [{"id": "call_1", "name": "get_weather",
                                              "arguments": '{"city":"Paris"}'}]},
        {"role": "tool", "content": "18C, sunny", "tool_call_id": "call_1"},
    ]
    assert messages(chat_row, "output_messages") == [
        {"role": "assistant", "content": "It is 18C and sunny.", "finish_reason": "stop"}]
    assert attributes(chat_row) == {"app.custom": "kept raw"}

    tool_row = t.span("execute_tool get_weather")
    assert (tool_row["kind"], tool_row["input_value"], tool_row["output_value"]) == (
        "tool", '{"city": "Paris"}', "18C, sunny")
    assert tool_row["cost_source"] is None and tool_row["cost_usd"] is None
    assert t.span("invoke_agent weather")["kind"] == "agent"

    s = t.summary
    assert (s["root_name"], s["span_count"], s["llm_calls"], s["tool_calls"]) == ("invoke_agent weather", 3, 1, 1)
    assert (s["input_tokens"], s["output_tokens"]) == (1200, 300)
    assert s["cost_usd"] == pytest.approx(cost, rel=1e-9)
    assert s["models"] == ["gpt-4o-mini"] and s["unpriced_llm_calls"] == 0


def test_old_semconv_names_and_content_attributes(collector):
    provider, tracer = sdk_tracer(collector.traces_url, "legacy-app")
    with tracer.start_as_current_span("openai.chat", kind=SpanKind.CLIENT) as span:
        span.set_attributes({
            "gen_ai.system": "openai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.prompt_tokens": 50,
            "gen_ai.usage.completion_tokens": 20,
            # obsolete whole-prompt attributes (semconv <= 1.26)
            "gen_ai.prompt": json.dumps([{"role": "system", "content": "Be kind."},
                                         {"role": "user", "content": "Hi there"}]),
            "gen_ai.completion": json.dumps([{"role": "assistant", "content": "Hello!"}]),
        })
    provider.shutdown()

    row = read_trace(collector.store, trace_id_of(span)).span("openai.chat")
    assert (row["model"], row["provider"], row["kind"], row["dialect"]) == ("gpt-4o", "openai", "llm", "genai")
    assert (row["input_tokens"], row["output_tokens"]) == (50, 20)
    assert row["cost_usd"] == pytest.approx(expected_cost("gpt-4o", 50, 20), rel=1e-9)
    assert row["cost_source"] == "computed"
    assert messages(row, "input_messages") == [{"role": "system", "content": "Be kind."},
                                               {"role": "user", "content": "Hi there"}]
    assert messages(row, "output_messages") == [{"role": "assistant", "content": "Hello!"}]


def test_old_semconv_content_as_span_events(collector):
    """Deprecated per-message events (gen_ai.{system,user,assistant,tool}.message, gen_ai.choice)."""
    provider, tracer = sdk_tracer(collector.traces_url, "events-app")
    with tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT) as span:
        span.set_attributes({"gen_ai.system": "openai", "gen_ai.operation.name": "chat",
                             "gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.prompt_tokens": 40,
                             "gen_ai.usage.completion_tokens": 12})
        span.add_event("gen_ai.system.message", {"gen_ai.system": "openai", "content": "You are a weather bot."})
        span.add_event("gen_ai.user.message", {"gen_ai.system": "openai", "content": "Paris?"})
        span.add_event("gen_ai.assistant.message", {
            "gen_ai.system": "openai",
            "tool_calls": json.dumps([{"id": "call_9", "type": "function",
                                       "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}])})
        span.add_event("gen_ai.tool.message", {"gen_ai.system": "openai", "content": "18C", "id": "call_9"})
        span.add_event("gen_ai.choice", {"gen_ai.system": "openai", "index": 0, "finish_reason": "stop",
                                         "message": json.dumps({"content": "18C in Paris."})})
    provider.shutdown()

    row = read_trace(collector.store, trace_id_of(span)).span("chat gpt-4o-mini")
    assert (row["input_tokens"], row["output_tokens"]) == (40, 12)
    assert row["cost_usd"] == pytest.approx(expected_cost("gpt-4o-mini", 40, 12), rel=1e-9)
    assert messages(row, "input_messages") == [
        {"role": "system", "content": "You are a weather bot."},
        {"role": "user", "content": "Paris?"},
        {"role": "assistant", "tool_calls": [{"id": "call_9", "name": "get_weather",
                                              "arguments": '{"city":"Paris"}'}]},
        {"role": "tool", "content": "18C", "tool_call_id": "call_9"},
    ]
    assert messages(row, "output_messages") == [{"role": "assistant", "content": "18C in Paris.",
                                                 "finish_reason": "stop"}]
    assert row["finish_reason"] == "stop"
    # the events themselves are kept too
    assert [e["name"] for e in json.loads(row["events"])][:2] == ["gen_ai.system.message", "gen_ai.user.message"]


def test_inference_details_event_and_error_status(collector):
    """The newer opt-in event gen_ai.client.inference.operation.details, on a failed call."""
    provider, tracer = sdk_tracer(collector.traces_url, "details-app")
    with tracer.start_as_current_span("chat gpt-4.1-mini", kind=SpanKind.CLIENT) as span:
        span.set_attributes({"gen_ai.provider.name": "openai", "gen_ai.operation.name": "chat",
                             "gen_ai.request.model": "gpt-4.1-mini", "gen_ai.usage.input_tokens": 30,
                             "gen_ai.usage.output_tokens": 0, "error.type": "timeout"})
        span.add_event("gen_ai.client.inference.operation.details", {
            "gen_ai.system_instructions": json.dumps([{"type": "text", "content": "Answer in French."}]),
            "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": "Hi"}]}]),
        })
        span.set_status(Status(StatusCode.ERROR, "upstream timed out"))
    provider.shutdown()

    t = read_trace(collector.store, trace_id_of(span))
    row = t.span("chat gpt-4.1-mini")
    assert (row["status"], row["status_message"]) == ("error", "upstream timed out")
    assert messages(row, "input_messages") == [{"role": "system", "content": "Answer in French."},
                                               {"role": "user", "content": "Hi"}]
    assert row["output_messages"] is None
    assert row["cost_usd"] == pytest.approx(expected_cost("gpt-4.1-mini", 30, 0), rel=1e-9)
    assert t.summary["error_count"] == 1
