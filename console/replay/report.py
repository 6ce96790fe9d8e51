"""Batch reports as JSON (for tools) and JUnit XML (for CI dashboards)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import asdict
from pathlib import Path
from typing import Any

from store.prompts.files import atomic_write

from console.replay.batch import BatchReport, BatchRow, Side


def _side_json(side: Side | None) -> dict[str, Any] | None:
    if side is None:
        return None
    result = side.result
    return {
        "passed": side.passed,
        "text": result.text,
        "error": {"kind": result.error.kind, "message": result.error.message} if result.error else None,
        "checks": [asdict(c) for c in side.checks],
        "judge": {"score": side.judge.score, "reason": side.judge.reason} if side.judge else None,
        "model": result.model,
        "usage": {**asdict(result.usage), "total_tokens": result.usage.total_tokens},
        "cost_usd": result.cost_usd,
        "latency_ms": result.latency_ms,
        "ttft_ms": result.ttft_ms,
        "from_recording": result.from_recording,
        "trace_id": result.trace_id,
        "span_id": result.span_id,
    }


def row_json(row: BatchRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "status": row.status,
        "regression": row.regression,
        "improvement": row.improvement,
        "problem": row.problem,
        "similarity": row.similarity,
        "cost_delta_usd": row.cost_delta_usd,
        "latency_delta_ms": row.latency_delta_ms,
        "score_delta": row.score_delta,
        "a": _side_json(row.a),
        "b": _side_json(row.b),
    }


def report_json(report: BatchReport, **extra: Any) -> dict[str, Any]:
    summary = report.summary
    return {
        **extra,
        "run_id": report.run_id,
        "cancelled": report.cancelled,
        "variant_a": report.variant_a,
        "variant_b": report.variant_b,
        "summary": {
            **asdict(summary),
            "cost_delta_usd": summary.cost_delta_usd,
            "latency_delta_ms": summary.latency_delta_ms,
        },
        "rows": [row_json(r) for r in report.rows],
    }


def write_json(path: Path | str, data: dict[str, Any]) -> None:
    atomic_write(Path(path), json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def _failure_text(row: BatchRow) -> str | None:
    side = row.b
    if side is None or side.passed:
        return "regression: passed with the baseline" if row.regression else None
    reasons = [f"check {c.name}: {c.detail}" for c in side.checks if not c.passed]
    if side.judge is not None and side.judge.score is not None:
        reasons.append(f"judge score {side.judge.score:.2f}: {side.judge.reason}")
    if row.regression:
        reasons.append("regression: passed with the baseline")
    return "; ".join(reasons) or "failed"


def write_junit(path: Path | str, report: BatchReport, suite_name: str, gate_failures: list[str]) -> None:
    """One testcase per row (failure: checks/judge; error: the call failed; skipped:
    cancelled), and a ``gate`` testcase that fails when the run's gate does."""
    suite = ET.Element("testsuite", name=suite_name)
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for row in report.rows:
        case = ET.SubElement(suite, "testcase", classname=suite_name, name=row.id)
        counts["tests"] += 1
        if row.b is not None and row.b.result.latency_ms is not None:
            case.set("time", f"{row.b.result.latency_ms / 1000:.3f}")
        if row.status == "cancelled":
            ET.SubElement(case, "skipped", message="cancelled")
            counts["skipped"] += 1
            continue
        error = row.b.result.error if row.b is not None else None
        if error is not None or row.problem:
            message = error.message if error is not None else str(row.problem)
            ET.SubElement(case, "error", message=message, type=error.kind if error else "problem").text = message
            counts["errors"] += 1
        elif (failure := _failure_text(row)) is not None:
            ET.SubElement(case, "failure", message=failure).text = failure
            counts["failures"] += 1
        if row.b is not None and row.b.result.text:
            ET.SubElement(case, "system-out").text = row.b.result.text
    gate = ET.SubElement(suite, "testcase", classname=suite_name, name="gate")
    counts["tests"] += 1
    if gate_failures:
        ET.SubElement(gate, "failure", message="; ".join(gate_failures)).text = "\n".join(gate_failures)
        counts["failures"] += 1
    for key, value in counts.items():
        suite.set(key, str(value))
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    atomic_write(Path(path), ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n")
