"""``llmops-console health --once --json``: the document and the exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from console.cli import main
from store.health.report import EXIT_HEALTHY, EXIT_NOT_READY, EXIT_UNHEALTHY, verdict
from tests.support.fake_vllm import FakeVllm

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def server():  # type: ignore[no-untyped-def]
    s = FakeVllm(engines=2)
    yield s
    s.close()


def run(*args: str, tmp_path: Path, config: str = "") -> tuple[int, str]:
    cfg = tmp_path / "config.toml"
    cfg.write_text(config)
    result = CliRunner().invoke(main, ["health", "--store", str(tmp_path / "store"), *args],
                                env={"LLMOPS_CONFIG_FILE": str(cfg)})
    return result.exit_code, result.output


def test_json_document_of_a_healthy_endpoint(server, tmp_path):
    code, out = run("--once", "--json", "--rates", "0.3", tmp_path=tmp_path,
                    config=f'[health]\nvllm = ["{server.url}"]\ngpu = "fake"\nfake_gpus = 2\n')
    doc = json.loads(out)
    assert code == EXIT_HEALTHY and doc["status"] == "healthy" and doc["exit_code"] == 0
    (endpoint,) = doc["endpoints"]
    assert endpoint["state"] == "up" and endpoint["url"] == server.url and endpoint["error"] is None
    assert endpoint["models"] == [{"id": "facebook/opt-125m", "max_model_len": 2048}]
    total = endpoint["total"]
    assert total["generation_tokens_per_s"] > 0 and set(total["latency_s"]) == {"ttft", "itl", "e2e", "queue"}
    assert [e["engine"] for e in endpoint["engines"]] == ["0", "1"]
    assert doc["gpu"]["available"] and len(doc["gpu"]["devices"]) == 2
    assert doc["gpu"]["devices"][0]["power_fraction"] is not None
    assert {c["rule"] for c in doc["conditions"]} >= {"endpoint_down", "gpu_temperature"}
    assert 0.25 < doc["window_s"] < 5


def test_a_down_endpoint_fails_with_1(server, tmp_path):
    code, out = run("--json", "--endpoint", server.url, "--endpoint", "127.0.0.1:1", "--gpu", "none",
                    tmp_path=tmp_path)
    doc = json.loads(out)
    assert code == EXIT_UNHEALTHY and doc["status"] == "unhealthy"
    assert [e["state"] for e in doc["endpoints"]] == ["up", "down"]
    assert doc["endpoints"][0]["total"]["generation_tokens_per_s"] is None  # one scrape: gauges only
    assert doc["gpu"] is None


def test_warming_is_not_ready_3_and_human_output(server, tmp_path):
    server.mode = "warming"
    code, out = run("--endpoint", server.url, "--gpu", "none", tmp_path=tmp_path)
    assert code == EXIT_NOT_READY
    assert "warming" in out and "not_ready (exit 3)" in out


def test_no_gpu_is_healthy_and_said(server, tmp_path):
    code, out = run("--endpoint", server.url, "--gpu", "dcgm:http://127.0.0.1:1/metrics", tmp_path=tmp_path)
    assert code == EXIT_HEALTHY
    assert "no GPU" in out and "dcgm-exporter unreachable" in out


def test_usage_errors_are_2(tmp_path):
    code, out = run("--gpu", "cuda", tmp_path=tmp_path)
    assert code == 2 and "health.gpu must be one of" in out
    code, out = run("--gpu", "none", tmp_path=tmp_path)
    assert code == 2 and "nothing to check" in out
    code, out = run("--endpoint", "x", "--rates", "-1", tmp_path=tmp_path)
    assert code == 2


def test_verdict_rules():
    up = {"state": "up"}
    assert verdict({"endpoints": [up], "conditions": []}) == ("healthy", 0)
    assert verdict({"endpoints": [up, {"state": "draining"}], "conditions": []}) == ("not_ready", 3)
    hot = {"active": True, "rule": "gpu_temperature"}
    assert verdict({"endpoints": [{"state": "warming"}], "conditions": [hot]}) == ("unhealthy", 1)


def test_the_installed_command_line(server, tmp_path):
    """The real entry point, as a CI job runs it."""
    env = dict(os.environ, LLMOPS_CONFIG_FILE=str(tmp_path / "none.toml"), PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-m", "console", "health", "--once", "--json", "--endpoint", server.url,
                           "--gpu", "none"], capture_output=True, text=True, env=env, cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["endpoints"][0]["state"] == "up"
