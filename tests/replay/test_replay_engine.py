import asyncio
import json
import time

import pytest
from replay_helpers import span_row

from console.replay import RecordedRequest, ReplayEngine, RetryPolicy, Variant
from store.prompts import Prompt, PromptRegistry

pytestmark = pytest.mark.usefixtures("isolated_keys")


async def test_streaming_replay_reports_tokens_usage_and_timing(openai_stub):
    engine = ReplayEngine(api_base=openai_stub.base_url)
    tokens: list[str] = []
    result = await engine.run(RecordedRequest.from_span(span_row()), Variant.original(), on_token=tokens.append)
    assert result.error is None, result.error
    assert result.text == "hello replay world" and "".join(tokens) == result.text and len(tokens) == 3
    assert result.usage.input_tokens == 3 and result.usage.output_tokens == 3
    assert result.messages == [{"role": "assistant", "content": "hello replay world", "finish_reason": "stop"}]
    assert 0 < result.ttft_ms <= result.latency_ms
    assert result.cost_usd is None and result.cost_source == "unknown"  # a local model has no price: never a silent 0
    sent = openai_stub.calls[0].body
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert sent["temperature"] == 0.2 and sent["max_tokens"] == 50 and sent["model"] == "echo"


async def test_async_token_callback_and_recorded_variant(openai_stub):
    engine = ReplayEngine(api_base=openai_stub.base_url)
    seen = []

    async def on_token(text: str) -> None:
        seen.append(text)

    request = RecordedRequest.from_span(span_row())
    await engine.run(request, Variant.original(), on_token=on_token)
    assert "".join(seen) == "hello replay world"
    recorded = await engine.run(request, Variant.recorded())
    assert recorded.from_recording and recorded.text == "recorded answer" and recorded.cost_usd == 0.001
    assert recorded.latency_ms == 420.0 and len(openai_stub.calls) == 1  # no second call


async def test_other_model_and_params(openai_stub):
    engine = ReplayEngine(api_base=openai_stub.base_url)
    request = RecordedRequest.from_span(span_row())
    result = await engine.run(request, Variant(model="stub-model", params={"temperature": 0.9, "max_tokens": None, "seed": 7}))
    assert result.error is None and result.text.startswith("Stub reply")
    body = openai_stub.calls[0].body
    assert body["model"] == "stub-model" and body["temperature"] == 0.9 and body["seed"] == 7 and "max_tokens" not in body


INVOICE = """\
id: extract-invoice
system: You read invoices for {{company}}.
template: |
  Extract the total from:
  {{document}}
model: echo
"""


async def test_edited_prompt_rerenders_with_recorded_variables(openai_stub, tmp_path):
    edited = Prompt(id="extract-invoice", system="You audit invoices for {{company}}.", template="TOTAL ONLY:\n{{document}}", model="echo")
    row = span_row(
        input_messages=json.dumps([{"role": "system", "content": "You read invoices for ACME."}, {"role": "user", "content": "Extract the total from:\nINV 1 total 5"}]),
        prompt_id="extract-invoice",
        prompt_vars=json.dumps({"company": "ACME", "document": "INV 1 total 5"}),
    )
    result = await ReplayEngine(api_base=openai_stub.base_url).run(RecordedRequest.from_span(row), Variant.edited_prompt(edited))
    assert result.error is None
    assert result.text == "TOTAL ONLY:\nINV 1 total 5"
    assert openai_stub.calls[0].body["messages"][0] == {"role": "system", "content": "You audit invoices for ACME."}
    assert result.prompt_id == "extract-invoice"


async def test_edited_prompt_reads_variables_back_when_the_span_has_none(openai_stub, tmp_path):
    (tmp_path / "invoice.yaml").write_text(INVOICE)
    registry = PromptRegistry(tmp_path)
    original = registry.get("extract-invoice")
    messages = [
        *registry.render(original, {"company": "ACME", "document": "Line A\nTOTAL 12.50"}),
        {"role": "assistant", "content": "12.50"},
        {"role": "user", "content": "and in euros?"},
    ]
    row = span_row(input_messages=json.dumps(messages), prompt_id="extract-invoice", prompt_version=original.version, prompt_vars=None)
    edited = Prompt(id="extract-invoice", system="Invoices of {{company}}.", template="Total of: {{document}}", model="echo")
    engine = ReplayEngine(api_base=openai_stub.base_url, registry=registry)
    result = await engine.run(RecordedRequest.from_span(row), Variant.edited_prompt(edited))
    assert result.error is None
    sent = openai_stub.calls[0].body["messages"]
    assert sent[0]["content"] == "Invoices of ACME." and sent[1]["content"] == "Total of: Line A\nTOTAL 12.50"
    assert sent[2:] == [{"role": "assistant", "content": "12.50"}, {"role": "user", "content": "and in euros?"}]  # history kept
    # without the registry, and no prompt_vars, the edit cannot know the variables
    lost = await ReplayEngine(api_base=openai_stub.base_url).run(RecordedRequest.from_span(row), Variant.edited_prompt(edited))
    assert lost.error.kind == "render" and "prompt variables" in lost.error.message


async def test_tool_calls_are_sent_in_openai_shape(openai_stub):
    messages = [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "name": "weather", "arguments": '{"city": "Oslo"}'}]},
        {"role": "tool", "tool_call_id": "c1", "content": "rain"},
    ]
    result = await ReplayEngine(api_base=openai_stub.base_url).run(RecordedRequest(messages=messages, model="echo"))
    assert result.error is None and result.text == "weather?"
    sent = openai_stub.calls[0].body["messages"]
    assert sent[1]["tool_calls"] == [{"id": "c1", "type": "function", "function": {"name": "weather", "arguments": '{"city": "Oslo"}'}}]
    assert sent[2]["tool_call_id"] == "c1"


@pytest.mark.parametrize(
    ("model", "kind", "words"),
    [
        ("fail-401", "auth", "rejected the API key (401)"),
        ("fail-500", "server", "server error (500)"),
        ("fail-404", "not_found", "404"),
        ("rate-limit-429", "rate_limit", "429"),
        ("context-length", "context_length", "context length exceeded"),
        ("malformed", "malformed", "could not be read"),
        ("disconnect", "connection", "dropped"),
    ],
)
async def test_provider_errors_become_one_clear_message(openai_stub, model, kind, words):
    engine = ReplayEngine(api_base=openai_stub.base_url, retry=RetryPolicy(max_attempts=2, base_delay_s=0.01))
    result = await engine.run(RecordedRequest(messages=[{"role": "user", "content": "hi"}], model=model))
    assert result.error is not None and result.error.kind == kind, result.error
    assert words in result.error.message
    assert "Traceback" not in result.error.message and "\n" not in result.error.message


async def test_timeout_and_connection_refused(openai_stub):
    slow = await ReplayEngine(api_base=openai_stub.base_url, timeout_s=0.3).run(RecordedRequest(messages=[{"role": "user", "content": "x"}], model="slow-2s"))
    assert slow.error.kind == "timeout" and "0.3 s" in slow.error.message
    refused = await ReplayEngine(api_base="http://127.0.0.1:9/v1").run(RecordedRequest(messages=[{"role": "user", "content": "x"}], model="echo"))
    assert refused.error.kind == "connection"
    assert refused.error.message == "Cannot connect to http://127.0.0.1:9/v1 (connection refused or unreachable). Is the server running?"


async def test_rate_limit_is_retried_honouring_retry_after(openai_stub):
    openai_stub.retry_after = "0.2"
    engine = ReplayEngine(api_base=openai_stub.base_url, retry=RetryPolicy(max_attempts=4, jitter=0))
    started = time.perf_counter()
    result = await engine.run(RecordedRequest(messages=[{"role": "user", "content": "x"}], model="flaky-429x2"))
    assert result.error is None and result.attempts == 3
    assert time.perf_counter() - started >= 0.4  # two waits of Retry-After
    assert len(openai_stub.calls_for("flaky-429x2")) == 3


async def test_rate_limit_gives_up_when_asked_to_wait_too_long(openai_stub):
    openai_stub.retry_after = "120"
    engine = ReplayEngine(api_base=openai_stub.base_url, retry=RetryPolicy(max_delay_s=5))
    started = time.perf_counter()
    result = await engine.run(RecordedRequest(messages=[{"role": "user", "content": "x"}], model="rate-limit-429"))
    assert time.perf_counter() - started < 2 and result.error.kind == "rate_limit"
    assert result.error.retry_after_s == 120 and "wait 120 s" in result.error.message


async def test_missing_key_names_what_to_set_and_makes_no_call(openai_stub):
    result = await ReplayEngine().run(RecordedRequest(messages=[{"role": "user", "content": "x"}], model="gpt-4o-mini", provider="openai"))
    assert result.error.kind == "no_key"
    assert result.error.message == "No API key for openai: set OPENAI_API_KEY, or run `llmops-console keys set openai`."
    anthropic = await ReplayEngine().run(RecordedRequest(messages=[{"role": "user", "content": "x"}], model="claude-sonnet-4-6"))
    assert "ANTHROPIC_API_KEY" in anthropic.error.message  # provider inferred from the model name
    assert openai_stub.calls == []


async def test_endpoint_key_is_sent_but_cloud_keys_never_are(openai_stub, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-cloud-secret")
    await ReplayEngine(api_base=openai_stub.base_url).run(RecordedRequest(messages=[{"role": "user", "content": "x"}], model="echo"))
    assert openai_stub.calls[-1].headers["authorization"] == "Bearer no-key"
    monkeypatch.setenv("HOSTED_VLLM_API_KEY", "local-key")
    await ReplayEngine(api_base=openai_stub.base_url).run(RecordedRequest(messages=[{"role": "user", "content": "x"}], model="echo"))
    assert openai_stub.calls[-1].headers["authorization"] == "Bearer local-key"


async def test_recorded_server_address_is_the_default_endpoint(openai_stub):
    address = openai_stub.base_url.removeprefix("http://").removesuffix("/v1")
    result = await ReplayEngine().run(RecordedRequest.from_span(span_row(server_address=address, provider="vllm")))
    assert result.error is None and result.api_base == openai_stub.base_url


async def test_cancelling_a_replay_closes_the_call(openai_stub):
    engine = ReplayEngine(api_base=openai_stub.base_url)
    task = asyncio.create_task(engine.run(RecordedRequest(messages=[{"role": "user", "content": "x"}], model="drip-200ms")))
    await asyncio.sleep(0.5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_key_lookups_are_cached_and_can_be_forgotten(openai_stub):
    from console.replay import keys

    engine = ReplayEngine(api_base=openai_stub.base_url)
    request = RecordedRequest(messages=[{"role": "user", "content": "x"}], model="echo")
    await engine.run(request)
    keys.set_key("hosted_vllm", "stored-later")
    await engine.run(request)  # a miss is remembered for a while (keyring reads are slow)
    engine.forget_keys()
    await engine.run(request)
    assert [c.headers["authorization"] for c in openai_stub.calls] == ["Bearer no-key", "Bearer no-key", "Bearer stored-later"]


def test_a_recorded_server_never_gets_a_cloud_provider_route():
    from console.replay.request import plan_call

    vllm = plan_call(RecordedRequest.from_span(span_row(server_address="10.1.2.3:8000", provider="openai")), Variant.original())
    assert (vllm.model, vllm.provider, vllm.api_base) == ("openai/echo", "hosted_vllm", "http://10.1.2.3:8000/v1")
    cloud = plan_call(RecordedRequest.from_span(span_row(model="claude-x", provider="anthropic", server_address="proxy.corp:443")), Variant.original())
    assert (cloud.model, cloud.provider, cloud.api_base) == ("anthropic/claude-x", "anthropic", None)
    openai = plan_call(RecordedRequest.from_span(span_row(model="gpt-4o", server_address="api.openai.com:443")), Variant.original())
    assert (openai.model, openai.provider, openai.api_base) == ("openai/gpt-4o", "openai", None)
    moved = plan_call(RecordedRequest.from_span(span_row(server_address="10.1.2.3:8000")), Variant.other_model("gpt-4o-mini"))
    assert moved.api_base is None  # another model does not go to the recorded server
