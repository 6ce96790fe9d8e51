"""OpenInference-style spans emitted with the OTel SDK (exported as protobuf).

Attribute shapes mirror openinference-instrumentation-openai
(Arize-ai/openinference, python/instrumentation/openinference-instrumentation-openai/src/
openinference/instrumentation/openai/_request_attributes_extractor.py and
_response_attributes_extractor.py): ``llm.invocation_parameters`` is the request
without messages/tools as JSON, tools go to ``llm.tools.N.tool.json_schema``, messages
to ``llm.input_messages.N.message.{role,content,contents.M.message_content.*,
tool_call_id,tool_calls.K.tool_call.{id,function.name,function.arguments}}``, usage to
``llm.token_count.{prompt,completion,total}`` and OpenAI's cached tokens to
``llm.token_count.prompt_details.cache_input``; ``input.value``/``output.value`` hold
the raw request/response JSON. The GUARDRAIL span follows the "Guardrail Spans"
example of the OpenInference docs (input.value, a JSON verdict, ERROR when blocked).
"""

from __future__ import annotations

import json

import pytest
from ingest_support import attributes, expected_cost, messages, read_trace, sdk_tracer, trace_id_of
from opentelemetry.trace import SpanKind, StatusCode

KIND = "openinference.span.kind"
TOOL_SCHEMA = {"type": "function", "function": {"name": "get_weather", "description": "Weather by city",
                                                "parameters": {"type": "object",
                                                               "properties": {"city": {"type": "string"}}}}}


def _llm_attributes() -> dict:
    request = {"model": "gpt-4o-mini", "temperature": 0.1, "tool_choice": "auto"}
    a = {
        KIND: "LLM",
        "llm.system": "openai",
        "llm.provider": "openai",
        "llm.model_name": "gpt-4o-mini-2024-07-18",
        "llm.invocation_parameters": json.dumps(request),
        "llm.tools.0.tool.json_schema": json.dumps(TOOL_SCHEMA),
        "llm.input_messages.0.message.role": "system",
        "llm.input_messages.0.message.content": "You answer weather questions.",
        "llm.input_messages.1.message.role": "user",
        "llm.input_messages.1.message.contents.0.message_content.type": "text",
        "llm.input_messages.1.message.contents.0.message_content.text": "Weather in Paris?",
        "llm.input_messages.2.message.role": "assistant",
        "llm.input_messages.2.message.tool_calls.0.tool_call.id": "call_abc",
        "llm.input_messages.2.message.tool_calls.0.tool_call.function.name": "get_weather",
        "llm.input_messages.2.message.tool_calls.0.tool_call.function.arguments": '{"city": "Paris"}',
        "llm.input_messages.3.message.role": "tool",
        "llm.input_messages.3.message.tool_call_id": "call_abc",
        "llm.input_messages.3.message.content": "18C, sunny",
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.content": "It is 18C and sunny in Paris.",
        "llm.token_count.total": 560,
        "llm.token_count.prompt": 500,
        "llm.token_count.completion": 60,
        "llm.token_count.prompt_details.cache_input": 300,
        "input.value": json.dumps({**request, "messages": ["..."]}),
        "input.mime_type": "application/json",
        "output.value": json.dumps({"id": "chatcmpl-1", "object": "chat.completion"}),
        "output.mime_type": "application/json",
    }
    return a


def test_openinference_agent_trace_with_every_kind(collector):
    provider, tracer = sdk_tracer(collector.traces_url, "oi-agent")
    with tracer.start_as_current_span("WeatherAgent") as agent:
        agent.set_attributes({KIND: "AGENT", "input.value": "Weather in Paris?", "session.id": "sess-oi",
                              "user.id": "bob", "tag.tags": ["oi", "weather"],
                              "metadata": json.dumps({"tenant": "acme"}),
                              "llm.prompt_template.id": "weather-answer", "llm.prompt_template.version": "v3",
                              "llm.prompt_template.variables": json.dumps({"city": "Paris"})})
        with tracer.start_as_current_span("input_guard") as guard:
            guard.set_attributes({KIND: "GUARDRAIL", "input.value": "Weather in Paris?",
                                  "output.value": json.dumps({"passed": True, "reason": None}),
                                  "output.mime_type": "application/json"})
        with tracer.start_as_current_span("plan") as chain:
            chain.set_attributes({KIND: "CHAIN", "input.value": json.dumps({"question": "Weather in Paris?"}),
                                  "input.mime_type": "application/json", "output.value": "look up weather"})
            with tracer.start_as_current_span("search_docs") as retriever:
                retriever.set_attributes({
                    KIND: "RETRIEVER", "input.value": "paris weather",
                    "retrieval.documents.0.document.id": "doc-1",
                    "retrieval.documents.0.document.content": "Paris has a temperate climate.",
                    "retrieval.documents.0.document.score": 0.92,
                })
        with tracer.start_as_current_span("get_weather") as tool:
            tool.set_attributes({KIND: "TOOL", "tool.name": "get_weather", "tool.description": "Weather by city",
                                 "tool.parameters": json.dumps(TOOL_SCHEMA["function"]["parameters"]),
                                 "input.value": '{"city": "Paris"}', "output.value": "18C, sunny"})
        with tracer.start_as_current_span("ChatCompletion", kind=SpanKind.INTERNAL) as llm:
            llm.set_attributes(_llm_attributes())
        with tracer.start_as_current_span("output_guard") as blocked:
            blocked.set_attributes({KIND: "GUARDRAIL", "input.value": "It is 18C and sunny in Paris.",
                                    "output.value": json.dumps({"passed": False, "reason": "mentions a city"})})
            blocked.set_status(StatusCode.ERROR, "mentions a city")
        agent.set_attribute("output.value", "It is 18C and sunny in Paris.")
    provider.shutdown()

    t = read_trace(collector.store, trace_id_of(agent), spans=7)
    kinds = {s["name"]: s["kind"] for s in t.spans}
    assert kinds == {"WeatherAgent": "agent", "input_guard": "guardrail", "plan": "chain", "search_docs": "retriever",
                     "get_weather": "tool", "ChatCompletion": "llm", "output_guard": "guardrail"}
    assert {s["dialect"] for s in t.spans} == {"openinference"}

    llm_row = t.span("ChatCompletion")
    assert (llm_row["model"], llm_row["provider"]) == ("gpt-4o-mini-2024-07-18", "openai")
    assert (llm_row["input_tokens"], llm_row["output_tokens"], llm_row["total_tokens"]) == (500, 60, 560)
    assert llm_row["cache_read_tokens"] == 300
    cost = expected_cost("gpt-4o-mini-2024-07-18", 500, 60, cache_read=300)
    assert llm_row["cost_usd"] == pytest.approx(cost, rel=1e-9) and llm_row["cost_source"] == "computed"
    assert messages(llm_row, "input_messages") == [
        {"role": "system", "content": "You answer weather questions."},
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "tool_calls": [{"id": "call_abc", "name": "get_weather",
                                              "arguments": '{"city": "Paris"}'}]},
        {"role": "tool", "content": "18C, sunny", "tool_call_id": "call_abc"},
    ]
    assert messages(llm_row, "output_messages") == [{"role": "assistant",
                                                     "content": "It is 18C and sunny in Paris."}]
    params = json.loads(llm_row["request_params"])
    assert params["temperature"] == 0.1 and params["tool_choice"] == "auto"
    assert params["tools"] == [TOOL_SCHEMA]

    tool_row = t.span("get_weather")
    assert (tool_row["input_value"], tool_row["output_value"]) == ('{"city": "Paris"}', "18C, sunny")
    assert attributes(tool_row)["tool.name"] == "get_weather"
    retriever_row = t.span("search_docs")
    assert retriever_row["input_value"] == "paris weather"
    # the retrieved documents are the retriever's output (what guardrails scan as retrieved text)
    assert json.loads(retriever_row["output_value"])[0]["content"] == "Paris has a temperate climate."
    assert t.span("output_guard")["status"] == "error"
    assert t.span("input_guard")["status"] == "unset"

    root = t.span("WeatherAgent")
    assert (root["session_id"], root["user_id"], root["tags"]) == ("sess-oi", "bob", ["oi", "weather"])
    assert (root["prompt_id"], root["prompt_version"]) == ("weather-answer", "v3")
    assert json.loads(root["prompt_vars"]) == {"city": "Paris"}
    assert (root["input_value"], root["output_value"]) == ("Weather in Paris?", "It is 18C and sunny in Paris.")

    s = t.summary
    assert (s["span_count"], s["llm_calls"], s["tool_calls"], s["error_count"]) == (7, 1, 1, 1)
    assert (s["session_id"], s["user_id"], s["tags"], s["prompt_ids"]) == ("sess-oi", "bob", ["oi", "weather"],
                                                                          ["weather-answer"])
    assert s["cost_usd"] == pytest.approx(cost, rel=1e-9)
    assert (s["input_tokens"], s["output_tokens"]) == (500, 60)


def test_openinference_reported_cost_wins(collector):
    """``llm.cost.total`` is the app's own figure: stored as reported."""
    provider, tracer = sdk_tracer(collector.traces_url, "oi-cost")
    with tracer.start_as_current_span("llm") as span:
        span.set_attributes({KIND: "LLM", "llm.model_name": "my-finetune", "llm.token_count.prompt": 10,
                             "llm.token_count.completion": 5, "llm.cost.total": 0.25,
                             "llm.input_messages.0.message.role": "user",
                             "llm.input_messages.0.message.content": "hi"})
    provider.shutdown()
    row = read_trace(collector.store, trace_id_of(span)).span("llm")
    assert (row["cost_usd"], row["cost_source"]) == (0.25, "reported")
    assert messages(row, "input_messages") == [{"role": "user", "content": "hi"}]
    assert row["output_messages"] is None
