"""Headless prompt regression testing for CI.

``run_ci`` renders the prompt file for every dataset row, calls the model, runs the
checks (the prompt's ``checks:`` plus each row's), optionally judges each output,
and gates the result. Exit codes:

- **0**: the gate passed;
- **1**: the gate failed: the pass rate (or, when judged, the mean score) is below
  ``fail_under``, or it is lower than the baseline's by more than ``tolerance``;
- **2**: the run could not be judged: unreadable prompt or dataset, no baseline
  version, or every call (or every judge call) failed, e.g. no API key.

The baseline is opt-in: ``"previous"`` is the newest committed version of the file
that differs from the file as it is now; anything else is a prompt version (a
12-hex hash, or a prefix of one) from its history, or a git revision.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from store.prompts import Prompt, PromptError, load_prompt, parse_prompt
from store.prompts.history import file_history, text_at_revision

from console.replay.batch import BatchItem, BatchReport, BatchRunner
from console.replay.dataset import DatasetError, SpanLoader, build_cases, load_dataset
from console.replay.engine import ReplayEngine
from console.replay.judge import DEFAULT_THRESHOLD, Judge
from console.replay.recording import ReplayRecorder
from console.replay.report import report_json as build_report_json
from console.replay.report import write_json, write_junit
from console.replay.request import Variant

EXIT_PASS, EXIT_GATE_FAILED, EXIT_CANNOT_RUN = 0, 1, 2


class BaselineError(ValueError):
    pass


def resolve_baseline(prompt_path: Path, current: Prompt, spec: str) -> Prompt:
    history = file_history(prompt_path)
    if spec == "previous":
        entry = next((v for v in history if v.version != current.version and v.text is not None and "git" in v.sources), None)
        if entry is None:
            raise BaselineError(f"{prompt_path.name} has no earlier committed version to compare with")
        text, version = entry.text, entry.version
    else:
        entry = next((v for v in history if v.text is not None and len(spec) >= 6 and v.version.startswith(spec)), None)
        if entry is not None:
            text, version = entry.text, entry.version
        else:
            text, version = text_at_revision(prompt_path, spec), None
            if text is None:
                raise BaselineError(f"baseline {spec!r} is neither a version of {prompt_path.name} nor a git revision holding it")
    prompt, issues = parse_prompt(text or "", prompt_path, version=version)
    if prompt is None:
        raise BaselineError(f"baseline {spec!r} does not parse: {'; '.join(str(i) for i in issues if i.severity == 'error')}")
    return prompt


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _side_line(label: str, side: Any) -> str:
    score = f", mean score {side.mean_score:.2f}" if side.mean_score is not None else ""
    latency = f", {side.mean_latency_ms:.0f} ms mean" if side.mean_latency_ms is not None else ""
    errors = f", {side.errors} errors" if side.errors else ""
    return f"{label}: pass rate {_pct(side.pass_rate)}{score}, ${side.cost_usd:.4f}{latency}{errors}"


def gate_failures(report: BatchReport, fail_under: float | None, tolerance: float) -> list[str]:
    """Why the run fails its gate ([] when it passes)."""
    summary = report.summary
    reasons = []
    b, a = summary.b, summary.a
    if fail_under is not None:
        if b.pass_rate is None or b.pass_rate < fail_under:
            reasons.append(f"pass rate {_pct(b.pass_rate)} is below {fail_under:.0%}")
        if b.mean_score is not None and b.mean_score < fail_under:
            reasons.append(f"mean judge score {b.mean_score:.2f} is below {fail_under:.2f}")
    if a is not None:
        if a.pass_rate is not None and b.pass_rate is not None and b.pass_rate < a.pass_rate - tolerance:
            reasons.append(f"pass rate regressed: {_pct(b.pass_rate)} against {_pct(a.pass_rate)} for the baseline ({summary.regressions} rows regressed)")
        if a.mean_score is not None and b.mean_score is not None and b.mean_score < a.mean_score - tolerance:
            reasons.append(f"mean judge score regressed: {b.mean_score:.2f} against {a.mean_score:.2f} for the baseline")
    return reasons


def _cannot_judge(report: BatchReport, judged: bool) -> str | None:
    """A reason the run says nothing about the prompt, or None."""
    done = [r for r in report.rows if r.status == "done" and r.b is not None]
    if not done:
        return "no row was run"
    failed = [r for r in done if r.b is not None and r.b.result.error is not None]
    if len(failed) == len(done):
        return f"every call failed; the first: {failed[0].b.result.error.message}"  # type: ignore[union-attr]
    if judged:
        answered = [r for r in done if r.b is not None and r.b.result.error is None]
        judges = [r.b.judge for r in answered if r.b is not None and r.b.judge is not None]
        if judges and all(j.score is None for j in judges):
            return f"the judge gave no score for any row; the first reason: {judges[0].reason}"
    return None


def run_ci(
    prompt_path: Path | str,
    dataset_path: Path | str,
    judge_model: str | None = None,
    fail_under: float | None = None,
    report_json: Path | str | None = None,
    junit_xml: Path | str | None = None,
    baseline_version: str | None = None,
    *,
    model: str | None = None,
    api_base: str | None = None,
    judge_api_base: str | None = None,
    concurrency: int = 4,
    rubric: str | None = None,
    judge_threshold: float = DEFAULT_THRESHOLD,
    judge_sample: float | None = None,
    tolerance: float = 0.0,
    span_loader: SpanLoader | None = None,
    collector_url: str | None = None,
    collector_token: str | None = None,
    pricer: Any = None,
    engine: ReplayEngine | None = None,
    echo: Callable[[str], Any] = print,
) -> int:
    """Run the prompt over the dataset and gate it; returns the exit code (see the module doc)."""
    prompt_path = Path(prompt_path)
    try:
        prompt = load_prompt(prompt_path)
        cases = build_cases(load_dataset(dataset_path), prompt=prompt, model=model, span_loader=span_loader, extra_checks=prompt.checks)
        baseline = resolve_baseline(prompt_path, prompt, baseline_version) if baseline_version else None
    except (PromptError, DatasetError, BaselineError, OSError) as exc:
        echo(f"error: {exc}")
        return EXIT_CANNOT_RUN

    recorder = ReplayRecorder(collector_url, token=collector_token) if collector_url else None
    engine = engine or ReplayEngine(api_base=api_base, recorder=recorder, pricer=pricer)
    judge = Judge(engine, judge_model, rubric, api_base=judge_api_base, threshold=judge_threshold, sample=judge_sample) if judge_model else None
    runner = BatchRunner(engine, concurrency=concurrency, judge=judge)
    items = [BatchItem.from_case(case) for case in cases]
    variant_b = Variant.edited_prompt(prompt, label="B", model=model)
    variant_a = Variant.edited_prompt(baseline, label="A", model=model) if baseline is not None else None

    echo(f"replay {prompt.id}@{prompt.version} over {len(items)} rows ({Path(dataset_path).name}), concurrency {concurrency}")
    echo(f"estimate: {runner.estimate(items, variant_a, variant_b).describe()}")
    report = asyncio.run(runner.run(items, variant_a, variant_b))
    if recorder is not None:
        recorder.flush()

    summary = report.summary
    echo(_side_line(f"B {prompt.id}@{prompt.version}", summary.b))
    if summary.a is not None and baseline is not None:
        echo(_side_line(f"A baseline @{baseline.version}", summary.a))
        if summary.regressions:
            echo(f"regressions: {summary.regressions} rows ({', '.join(r.id for r in report.rows if r.regression)})")
    for row in report.rows:
        if row.b is not None and row.b.result.error is not None:
            echo(f"row {row.id}: {row.b.result.error.message}")

    problem = _cannot_judge(report, judge is not None)
    failures = [] if problem else gate_failures(report, fail_under, tolerance)
    code = EXIT_CANNOT_RUN if problem else EXIT_GATE_FAILED if failures else EXIT_PASS
    if report_json:
        gate = {"fail_under": fail_under, "tolerance": tolerance, "passed": code == EXIT_PASS, "reasons": failures, "problem": problem, "exit_code": code}
        prompt_info = {"id": prompt.id, "version": prompt.version, "path": str(prompt_path)}
        baseline_info = {"id": baseline.id, "version": baseline.version} if baseline is not None else None
        write_json(report_json, build_report_json(report, prompt=prompt_info, baseline=baseline_info, dataset=str(dataset_path), gate=gate))
    if junit_xml:
        write_junit(junit_xml, report, f"replay.{prompt.id}", failures + ([problem] if problem else []))
    if problem:
        echo(f"error: {problem}")
    elif failures:
        echo("gate: FAILED: " + "; ".join(failures))
    else:
        echo("gate: passed")
    return code
