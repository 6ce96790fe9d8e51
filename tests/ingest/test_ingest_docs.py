"""docs/ingest.md is tested as written: every ``python`` block of a section runs (in one
fresh process per section, with the section's ``export`` lines as its environment)
against a real collector, with only the addresses substituted, and what arrived is
checked in the store."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from ingest_support import eventually, expected_cost

from store.query import StoreReader
from tests.support.collector import REPO, start_inprocess

DOC = REPO / "docs" / "ingest.md"
LOCAL, REMOTE, MODEL_SERVER = "http://127.0.0.1:4318", "http://collector.internal:4318", "http://127.0.0.1:8000/v1"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
EXPORT = re.compile(r"^export (\w+)=(\"[^\"]*\"|\S+)", re.M)


def recipes() -> dict[str, tuple[str, dict[str, str]]]:
    """heading -> (the section's python blocks joined, its exported variables)."""
    out = {}
    for section in re.split(r"^## ", DOC.read_text(), flags=re.M)[1:]:
        heading = section.splitlines()[0].strip()
        code, env = [], {}
        for lang, body in FENCE.findall(section):
            if lang == "python":
                code.append(body)
            elif lang == "bash":
                env.update({k: v.strip('"') for k, v in EXPORT.findall(body)})
        if code:
            out[heading] = ("\n".join(code), env)
    return out


def _start(script: str, env: dict[str, str], collector_url: str, model_server: str, tmp: Path) -> subprocess.Popen:
    sub = {LOCAL: collector_url, REMOTE: collector_url, MODEL_SERVER: model_server}
    for old, new in sub.items():
        script = script.replace(old, new)
        env = {k: v.replace(old, new) for k, v in env.items()}
    path = tmp / f"recipe_{abs(hash(script))}.py"
    path.write_text(script)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LANGFUSE_", "TRACELOOP_"))}
    return subprocess.Popen([sys.executable, str(path)], env={**base, "LITELLM_LOCAL_MODEL_COST_MAP": "True", **env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp)


def _spans(store: Path) -> dict[str, dict]:
    r = StoreReader(store)
    return {row["name"]: row for row in r.query(f"SELECT * FROM {r.scan('spans')}").to_dicts()}


def test_every_recipe_in_docs_ingest_md_works_as_written(tmp_path, openai_stub):
    found = recipes()
    assert set(found) == {"OpenTelemetry SDK", "OpenInference", "OpenLLMetry (Traceloop)", "Langfuse SDK", "LiteLLM",
                          "Beyond loopback"}
    token = found["Beyond loopback"][1]["LLMOPS_TOKEN"]
    local = start_inprocess(tmp_path / "local")
    remote = start_inprocess(tmp_path / "remote", token=token)
    try:
        procs = {name: _start(script, env, (remote if name == "Beyond loopback" else local).url,
                              openai_stub.base_url, tmp_path) for name, (script, env) in found.items()}
        for name, p in procs.items():
            _, err = p.communicate(timeout=120)
            assert p.returncode == 0, f"recipe {name!r} failed:\n{err[-3000:]}"
        local.wait_stored(7)  # 5 recipes: the Langfuse trace has 2 spans, LiteLLM's too
        spans = _spans(local.store)
        remote_spans = eventually(lambda: _spans(remote.store) if (remote.store / "manifest.json").exists() else {})
    finally:
        local.stop()
        remote.stop()

    otel = spans["chat gpt-4o-mini"]
    assert (otel["service"], otel["dialect"], otel["model"]) == ("my-app", "genai", "gpt-4o-mini")
    assert (otel["input_tokens"], otel["output_tokens"], otel["cost_source"]) == (12, 3, "computed")
    assert otel["cost_usd"] == pytest.approx(expected_cost("gpt-4o-mini", 12, 3))
    assert json.loads(otel["input_messages"]) == [{"role": "user", "content": "Hello?"}]
    assert json.loads(otel["output_messages"]) == [{"role": "assistant", "content": "Hi!", "finish_reason": "stop"}]

    oi = spans["ChatCompletion"]
    assert (oi["service"], oi["dialect"], oi["kind"], oi["model"]) == ("rag-app", "openinference", "llm", "gpt-4o-mini")
    assert (oi["input_tokens"], oi["output_tokens"], oi["session_id"]) == (20, 5, "session-42")
    assert oi["cost_usd"] == pytest.approx(expected_cost("gpt-4o-mini", 20, 5))
    assert json.loads(oi["output_messages"]) == [{"role": "assistant", "content": "Retrieval-augmented generation."}]
    assert json.loads(oi["request_params"]) == {"temperature": 0.2}

    oll = spans["openai.chat"]
    assert (oll["service"], oll["dialect"], oll["kind"]) == ("support-bot", "openllmetry", "llm")
    assert (oll["input_tokens"], oll["output_tokens"]) == (9, 4)
    assert oll["cost_usd"] == pytest.approx(expected_cost("gpt-4o-mini", 9, 4))
    assert json.loads(oll["input_messages"]) == [{"role": "user", "content": "Reset my password"}]
    assert oll["finish_reason"] == "stop"

    lf = spans["draft-reply"]
    assert (lf["dialect"], lf["kind"], lf["model"]) == ("langfuse", "llm", "gpt-4o-mini")
    assert (lf["user_id"], lf["session_id"], lf["tags"]) == ("user-7", "ticket-123", ["support"])
    assert (lf["input_tokens"], lf["output_tokens"]) == (40, 6)
    assert lf["cost_usd"] == pytest.approx(expected_cost("gpt-4o-mini", 40, 6))
    assert lf["parent_id"] == spans["handle-ticket"]["span_id"]

    ll = spans["litellm_request"]
    assert (ll["service"], ll["dialect"], ll["kind"]) == ("my-gateway", "litellm", "llm")
    assert ll["model"] == "meta-llama/Llama-3.1-8B-Instruct"
    assert json.loads(ll["input_messages"]) == [{"role": "user", "content": "Write a haiku about tracing."}]
    assert ll["input_tokens"] == 5 and ll["cost_source"] == "unknown" and ll["cost_usd"] is None
    assert [c.model for c in openai_stub.calls] == ["meta-llama/Llama-3.1-8B-Instruct"]

    assert list(remote_spans) == ["remote check"]
