import json
import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from console.replay.ci import EXIT_CANNOT_RUN, EXIT_GATE_FAILED, EXIT_PASS, run_ci
from console.replay.cli import replay
from store.prompts import version_of

pytestmark = pytest.mark.usefixtures("isolated_keys")

POLITE = """\
id: reply
model: echo
template: "Please answer kindly: {{question}}"
checks:
  - {type: contains, value: please}
"""
RUDE = POLITE.replace("Please answer kindly", "Answer")
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t.invalid", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t.invalid", "GIT_CONFIG_GLOBAL": "/dev/null"}


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env={**os.environ, **GIT_ENV})


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "reply.yaml").write_text(POLITE)
    rows = [{"id": f"q{i}", "variables": {"question": f"what is {i}?"}, "expected": f"what is {i}?"} for i in range(4)]
    (tmp_path / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tmp_path


def ci(project: Path, stub, lines: list[str], **kwargs) -> int:
    kwargs.setdefault("api_base", stub.base_url)
    return run_ci(project / "reply.yaml", project / "data.jsonl", echo=lines.append, **kwargs)


def test_pass_writes_json_and_junit(project, openai_stub):
    lines: list[str] = []
    code = ci(project, openai_stub, lines, fail_under=0.9, report_json=project / "r.json", junit_xml=project / "j.xml")
    assert code == EXIT_PASS, lines
    assert lines[-1] == "gate: passed" and any(line.startswith("estimate: 4 calls") for line in lines)
    report = json.loads((project / "r.json").read_text())
    assert report["gate"]["passed"] and report["prompt"]["version"] == version_of(POLITE)
    assert report["summary"]["b"]["pass_rate"] == 1.0 and len(report["rows"]) == 4
    assert report["rows"][0]["b"]["text"] == "Please answer kindly: what is 0?"
    suite = ET.parse(project / "j.xml").getroot().find("testsuite")
    assert suite.get("tests") == "5" and suite.get("failures") == "0" and suite.get("errors") == "0"


def test_fail_under_with_a_judge(project, openai_stub):
    openai_stub.script("judge", '{"score": 0.3, "reason": "too terse"}')
    lines: list[str] = []
    code = ci(project, openai_stub, lines, judge_model="judge", fail_under=0.8, junit_xml=project / "j.xml")
    assert code == EXIT_GATE_FAILED
    assert "mean judge score 0.30 is below 0.80" in lines[-1] and "pass rate 0% is below 80%" in lines[-1]
    suite = ET.parse(project / "j.xml").getroot().find("testsuite")
    assert suite.get("failures") == "5"  # four rows and the gate
    failure = suite.find("testcase/failure")
    assert "judge score 0.30: too terse" in failure.get("message")


def test_regression_against_the_previous_git_version(project, openai_stub):
    git(project, "init", "-q")
    git(project, "add", "reply.yaml")
    git(project, "commit", "-q", "-m", "polite")
    (project / "reply.yaml").write_text(RUDE)
    lines: list[str] = []
    code = ci(project, openai_stub, lines, baseline_version="previous", report_json=project / "r.json")
    assert code == EXIT_GATE_FAILED, lines
    assert "pass rate regressed: 0% against 100% for the baseline (4 rows regressed)" in lines[-1]
    report = json.loads((project / "r.json").read_text())
    assert report["baseline"]["version"] == version_of(POLITE) and all(r["regression"] for r in report["rows"])
    # the same edit committed: "previous" is still the polite version; a given version works too
    git(project, "commit", "-q", "-am", "rude")
    assert ci(project, openai_stub, [], baseline_version="previous") == EXIT_GATE_FAILED
    assert ci(project, openai_stub, [], baseline_version=version_of(POLITE)[:8]) == EXIT_GATE_FAILED  # a version prefix
    assert ci(project, openai_stub, [], baseline_version=version_of(RUDE)) == EXIT_PASS  # no worse than itself
    assert ci(project, openai_stub, [], baseline_version=version_of(RUDE), fail_under=0.5) == EXIT_GATE_FAILED


def test_improvement_over_baseline_passes(project, openai_stub):
    (project / "reply.yaml").write_text(RUDE)
    git(project, "init", "-q")
    git(project, "add", "reply.yaml")
    git(project, "commit", "-q", "-m", "rude")
    (project / "reply.yaml").write_text(POLITE)
    lines: list[str] = []
    assert ci(project, openai_stub, lines, baseline_version="HEAD") == EXIT_PASS, lines


def test_cannot_run_exits_2_with_a_clear_message(project, openai_stub):
    lines: list[str] = []
    assert run_ci(project / "reply.yaml", project / "data.jsonl", model="gpt-4o-mini", echo=lines.append) == EXIT_CANNOT_RUN
    assert lines[-1] == "error: every call failed; the first: No API key for openai: set OPENAI_API_KEY, or run `llmops-console keys set openai`."
    (project / "bad.jsonl").write_text("{oops\n")
    lines.clear()
    assert run_ci(project / "reply.yaml", project / "bad.jsonl", echo=lines.append) == EXIT_CANNOT_RUN
    assert lines == ["error: bad.jsonl line 1: not JSON (Expecting property name enclosed in double quotes)"]
    lines.clear()
    assert ci(project, openai_stub, lines, baseline_version="previous") == EXIT_CANNOT_RUN  # not in git
    assert "no earlier committed version" in lines[0]


def test_replay_command_exit_codes(project, openai_stub):
    runner = CliRunner()
    args = ["--prompt", str(project / "reply.yaml"), "--dataset", str(project / "data.jsonl"), "--api-base", openai_stub.base_url, "--concurrency", "2"]
    passed = runner.invoke(replay, [*args, "--fail-under", "0.5", "--report", str(project / "r.json"), "--junit", str(project / "j.xml")])
    assert passed.exit_code == 0, passed.output
    openai_stub.script("judge", '{"score": 0.1, "reason": "no"}')
    failed = runner.invoke(replay, [*args, "--judge", "judge", "--fail-under", "0.5"])
    assert failed.exit_code == 1 and "gate: FAILED" in failed.output
    broken = runner.invoke(replay, [*args, "--model", "fail-401"])
    assert broken.exit_code == 2 and "rejected the API key (401)" in broken.output
    assert runner.invoke(replay, [*args, "--fail-under", "7"]).exit_code == 2  # click's usage error
