"""``llmops-console traces list|show --json`` over a store a real collector filled."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from ingest_support import expected_cost, read_trace, sdk_tracer, trace_id_of

from console.cli import main


@pytest.fixture
def filled(collector):
    provider, tracer = sdk_tracer(collector.traces_url, "cli-app")
    ids = {}
    for model, tokens in (("gpt-4o-mini", (100, 20)), ("gpt-4o", (50, 10))):
        with tracer.start_as_current_span(f"ask {model}") as root:
            with tracer.start_as_current_span(f"chat {model}") as chat:
                chat.set_attributes({"gen_ai.provider.name": "openai", "gen_ai.operation.name": "chat",
                                     "gen_ai.request.model": model, "gen_ai.usage.input_tokens": tokens[0],
                                     "gen_ai.usage.output_tokens": tokens[1], "user.id": "erin",
                                     "gen_ai.input.messages": json.dumps([{"role": "user", "content": "hi"}])})
        ids[model] = trace_id_of(root)
    provider.shutdown()
    for tid in ids.values():
        read_trace(collector.store, tid, spans=2)
    return collector, ids


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_traces_list_json(filled):
    rc, ids = filled
    rows = [json.loads(line) for line in _run("traces", "list", "--store", str(rc.store), "--json").splitlines()]
    assert {r["trace_id"] for r in rows} == set(ids.values())
    by_id = {r["trace_id"]: r for r in rows}
    mini = by_id[ids["gpt-4o-mini"]]
    assert (mini["root_name"], mini["models"], mini["span_count"], mini["llm_calls"]) == (
        "ask gpt-4o-mini", ["gpt-4o-mini"], 2, 1)
    assert (mini["input_tokens"], mini["output_tokens"], mini["user_id"]) == (100, 20, "erin")
    assert mini["cost_usd"] == pytest.approx(expected_cost("gpt-4o-mini", 100, 20))
    assert rows[0]["start_time"] >= rows[1]["start_time"]  # newest first, ISO times
    only = _run("traces", "list", "--store", str(rc.store), "--json", "-f", "model:gpt-4o-mini*")
    assert [json.loads(line)["trace_id"] for line in only.splitlines()] == [ids["gpt-4o-mini"]]


def test_traces_show_json(filled):
    rc, ids = filled
    doc = json.loads(_run("traces", "show", ids["gpt-4o"].upper(), "--store", str(rc.store), "--json"))
    assert doc["trace"]["trace_id"] == ids["gpt-4o"]
    assert doc["trace"]["cost_usd"] == pytest.approx(expected_cost("gpt-4o", 50, 10))
    spans = {s["name"]: s for s in doc["spans"]}
    assert set(spans) == {"ask gpt-4o", "chat gpt-4o"}
    chat = spans["chat gpt-4o"]
    assert (chat["model"], chat["input_tokens"], chat["cost_source"]) == ("gpt-4o", 50, "computed")
    assert json.loads(chat["input_messages"]) == [{"role": "user", "content": "hi"}]
    assert chat["parent_id"] == spans["ask gpt-4o"]["span_id"]


def test_traces_errors_are_clear(filled, tmp_path):
    rc, _ = filled
    result = CliRunner().invoke(main, ["traces", "show", "0" * 32, "--store", str(rc.store), "--json"])
    assert result.exit_code != 0 and "no trace" in result.output
    result = CliRunner().invoke(main, ["traces", "list", "--store", str(tmp_path / "nowhere"), "--json"])
    assert result.exit_code != 0 and "no store at" in result.output
    result = CliRunner().invoke(main, ["traces", "list", "--store", str(rc.store), "-f", "bogus:1"])
    assert result.exit_code == 2 and "unknown filter" in result.output
