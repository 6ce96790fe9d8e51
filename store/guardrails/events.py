"""Findings and external results as GUARDRAIL_EVENTS rows."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from typing import Any, Sequence

from store.guardrails.model import Finding
from store.guardrails.redact import excerpt
from store.guardrails.runner import GuardrailRunner, Segment, SegmentLike

EVENT_COLUMNS = (
    "event_id", "time", "trace_id", "span_id", "direction", "detector", "detector_version", "category",
    "severity", "action", "source", "service", "user_id", "excerpt", "details",
)  # fmt: skip


def event_id(*parts: object) -> str:
    """A stable id from the parts that make an event unique, so a replay of
    the same span (or the same external payload) writes the same ids and a
    dedup on event_id drops the repeat."""
    joined = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:32]


def to_utc(value: datetime | float | int | str | None, default: datetime | None = None) -> datetime:
    """A timezone-aware UTC datetime truncated to microseconds. Accepts a
    datetime (naive means UTC), epoch seconds / ms / µs / ns, or ISO-8601."""
    if value is None or value == "":
        return default or datetime.now(timezone.utc)
    if isinstance(value, datetime):
        dt = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return dt.astimezone(timezone.utc)
    if isinstance(value, bool):
        raise ValueError("not a time")
    if isinstance(value, int):
        # integer epochs keep their precision: scale with integer arithmetic
        for unit in (10**9, 10**6, 10**3):
            if value > unit * 10**8:
                micros = value * 10**6 // unit
                return datetime.fromtimestamp(micros // 10**6, tz=timezone.utc) + timedelta(microseconds=micros % 10**6)
        return datetime.fromtimestamp(value, tz=timezone.utc)
    if isinstance(value, float):
        seconds = value
        for scale in (1e9, 1e6, 1e3):  # ns, µs, ms epochs
            if seconds > scale * 1e8:
                seconds /= scale
                break
        return datetime.fromtimestamp(seconds, tz=timezone.utc)
    if isinstance(value, str):
        text = value.strip()
        try:
            return to_utc(float(text))
        except ValueError:
            pass
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return to_utc(dt)
    raise ValueError(f"unsupported time {type(value).__name__}")


def make_row(**values: Any) -> dict[str, Any]:
    row = {column: values.get(column) for column in EVENT_COLUMNS}
    if isinstance(row["details"], dict):
        row["details"] = json.dumps(row["details"], sort_keys=True, default=str)
    return row


def _finding_id(f: Finding, text: str, trace_id: str, span_id: str) -> str:
    """One event per value per trace for inputs: every later LLM call of an agent
    re-sends the conversation so far, and the email in turn one is not news in turn
    five. Outputs and non-value findings stay one per place."""
    if f.direction == "input" and f.category in ("pii", "secret"):
        value = hashlib.sha256(text[f.start:f.end].encode("utf-8", "surrogatepass")).hexdigest()[:16]
        return event_id("ingest", trace_id, f.detector, f.entity, value)
    return event_id("ingest", trace_id, span_id, f.detector, f.direction, f.segment, f.start, f.end, f.entity)


def findings_to_rows(
    findings: Sequence[Finding],
    input_texts: Sequence[SegmentLike],
    output_texts: Sequence[SegmentLike] = (),
    *,
    trace_id: str,
    span_id: str,
    time: datetime | float | str | None = None,
    service: str | None = None,
    user_id: str | None = None,
    runner: GuardrailRunner | None = None,
    excerpt_width: int = 80,
) -> list[dict[str, Any]]:
    """GUARDRAIL_EVENTS rows (source ``ingest``) for the findings of one span,
    as returned by ``GuardrailRunner.scan_span`` on the same texts.

    ``time`` is the span's time (its end, when the output was seen); the row id
    hashes trace, span, detector, direction, text index, offsets and entity, so
    scanning the same span again yields the same ids. Excerpts mask every value
    found in that text, whatever the detectors' modes.
    """
    texts = {
        "input": [s.text if isinstance(s, Segment) else s for s in input_texts],
        "output": [s.text if isinstance(s, Segment) else s for s in output_texts],
    }
    by_text: dict[tuple[str, int], list[Finding]] = {}
    for f in findings:
        by_text.setdefault((f.direction, f.segment), []).append(f)
    when = to_utc(time)
    rows = []
    for f in findings:
        text = texts[f.direction][f.segment]
        details = {
            "entity": f.entity,
            "confidence": f.confidence,
            "start": f.start,
            "end": f.end,
            "segment": f.segment,
            "role": f.role,
            **f.details,
        }
        rows.append(
            make_row(
                event_id=_finding_id(f, text, trace_id, span_id),
                time=when,
                trace_id=trace_id,
                span_id=span_id,
                direction=f.direction,
                detector=f.detector,
                detector_version=f.detector_version,
                category=f.category,
                severity=f.severity,
                action=runner.action(f) if runner else "flagged",
                source="ingest",
                service=service,
                user_id=user_id,
                excerpt=excerpt(text, f, excerpt_width, by_text[(f.direction, f.segment)]),
                details=details,
            )
        )
    return rows
