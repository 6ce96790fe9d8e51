"""LiteLLM's own OTel callback (``litellm.callbacks = ["otel"]``) exporting to the
collector while it calls the local OpenAI-compatible stub, in both of its modes: the
default ``litellm_request`` span (JSON-string messages, ``hidden_params`` holding the
cost, a ``raw_gen_ai_request`` child) and ``OTEL_SEMCONV_STABILITY_OPT_IN=
gen_ai_latest_experimental`` (``chat <model>`` spans). LiteLLM runs in child processes
(see litellm_child.py): importing it takes seconds, and its tracer provider is global."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ingest_support import expected_cost, listed, messages, read_trace

from tests.support.collector import start_inprocess

CHILD = Path(__file__).with_name("litellm_child.py")
REPLY = "Hello collector, nice to meet you."  # 6 stub tokens; the prompt is 8
MODES = {"default": ("", 4), "latest": ("gen_ai_latest_experimental", 2)}  # opt-in value, spans for 2 calls


def _run_children(stub_url: str, collectors: dict) -> dict[str, list[dict]]:
    procs = {}
    for mode, (opt_in, spans) in MODES.items():
        env = dict(os.environ, OTEL_EXPORTER="otlp_http", OTEL_EXPORTER_OTLP_ENDPOINT=collectors[mode].url,
                   OTEL_SERVICE_NAME=f"litellm-{mode}", LITELLM_LOCAL_MODEL_COST_MAP="True")
        env.pop("OTEL_SEMCONV_STABILITY_OPT_IN", None)
        if opt_in:
            env["OTEL_SEMCONV_STABILITY_OPT_IN"] = opt_in
        procs[mode] = subprocess.Popen([sys.executable, str(CHILD), stub_url, collectors[mode].url, str(spans)],
                                       env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out = {}
    for mode, p in procs.items():
        stdout, stderr = p.communicate(timeout=90)
        assert p.returncode == 0, f"{mode}: {stderr[-3000:]}"
        out[mode] = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    return out


@pytest.fixture
def two_collectors(tmp_path):
    rcs = {mode: start_inprocess(tmp_path / mode) for mode in MODES}
    try:
        yield rcs
    finally:
        for rc in rcs.values():
            rc.stop()


def test_litellm_otel_callback_both_modes(openai_stub, two_collectors):
    openai_stub.script("gpt-4o-mini", REPLY)
    calls = _run_children(openai_stub.base_url, two_collectors)
    assert len(openai_stub.calls) == 4 and {c.model for c in openai_stub.calls} == {"gpt-4o-mini", "stub-model"}
    priced = expected_cost("gpt-4o-mini", 8, 6)

    for mode, rc in two_collectors.items():
        results = {c["model"]: c for c in calls[mode]}
        assert results["openai/gpt-4o-mini"]["response_cost"] == pytest.approx(priced)
        traces = listed(rc.store)
        assert len(traces) == 2, traces
        by_model = {tuple(t["models"]): t for t in traces.values()}
        for model, tokens_out in (("gpt-4o-mini", 6), ("stub-model", None)):
            summary = by_model[(model,)]
            t = read_trace(rc.store, summary["trace_id"], spans=summary["span_count"])
            llm = [s for s in t.spans if s["kind"] == "llm"]
            assert len(llm) == 1, f"{mode}: {[(s['name'], s['kind']) for s in t.spans]}"
            row = llm[0]
            assert (row["model"], row["provider"], row["dialect"]) == (model, "openai", "litellm")
            assert row["service"] == f"litellm-{mode}"
            assert row["input_tokens"] == 8 and (tokens_out is None or row["output_tokens"] == tokens_out)
            assert messages(row, "input_messages") == [{"role": "system", "content": "You are terse."},
                                                       {"role": "user", "content": "Say hello to the collector"}]
            out_msgs = messages(row, "output_messages")
            assert out_msgs[0]["role"] == "assistant" and out_msgs[0]["finish_reason"] == "stop"
            assert row["finish_reason"] == "stop"
            if model == "gpt-4o-mini":
                assert out_msgs[0]["content"] == REPLY
                assert row["cost_usd"] == pytest.approx(priced, rel=1e-9)
                assert row["cost_source"] == "reported"  # LiteLLM's own response_cost
                params = json.loads(row["request_params"])
                assert (params["temperature"], params["max_tokens"]) == (0.2, 50)
                assert params.get("stream", False) is False
                assert summary["cost_usd"] == pytest.approx(priced, rel=1e-9)
                assert summary["unpriced_llm_calls"] == 0
            else:
                # LiteLLM reports 0.0 for a model it cannot price: unknown, never a silent 0
                assert (row["cost_usd"], row["cost_source"]) == (None, "unknown")
                assert summary["cost_usd"] is None and summary["unpriced_llm_calls"] == 1
            # the raw_gen_ai_request child (default mode) adds a span, never tokens or cost
            assert summary["llm_calls"] == 1
            assert summary["input_tokens"] == 8 and summary["span_count"] == (2 if mode == "default" else 1)
            if mode == "default":
                assert t.summary["root_name"] == "litellm_request"
                raw = t.span("raw_gen_ai_request")
                assert raw["parent_id"] == row["span_id"]
                assert (raw["input_tokens"], raw["cost_usd"], raw["cost_source"]) == (None, None, None)
            else:
                assert t.summary["root_name"] == f"chat {model}" and row["otel_kind"] == 3
