"""Runs the enabled detectors over a span's input and output texts."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from store.guardrails.config import DetectorConfig
from store.guardrails.detectors import default_detectors
from store.guardrails.model import DetectionContext, Detector, Direction, Finding, Role

# Categories whose findings are values (they can overlap and mask each other).
VALUE_CATEGORIES = frozenset({"pii", "secret"})


@dataclass(frozen=True, slots=True)
class Segment:
    """One text of a span and where it came from."""

    text: str
    role: Role = "user"


SegmentLike = Segment | str


def _segments(items: Sequence[SegmentLike], default_role: Role) -> list[Segment]:
    return [item if isinstance(item, Segment) else Segment(item, default_role) for item in items]


class GuardrailRunner:
    """Holds the configured detectors; scanning is pure and thread-safe."""

    def __init__(self, config: DetectorConfig | None = None, detectors: Sequence[Detector] | None = None) -> None:
        self.config = config or DetectorConfig()
        self._detectors: list[tuple[Detector, str | None]] = []
        for detector in detectors if detectors is not None else default_detectors():
            settings = self.config.settings(detector.name)
            if settings.enabled:
                self._detectors.append((detector, settings.severity))

    @property
    def detectors(self) -> list[Detector]:
        return [d for d, _ in self._detectors]

    def scan_text(self, text: str, ctx: DetectionContext, *, segment: int = 0) -> list[Finding]:
        truncated = len(text) > self.config.max_chars
        if truncated:
            text = text[: self.config.max_chars]
        findings: list[Finding] = []
        for detector, severity in self._detectors:
            if not detector.applies_to(ctx):
                continue
            for f in detector.detect(text, ctx):
                if f.confidence < self.config.min_confidence:
                    continue
                changes: dict = {"segment": segment}
                if severity:
                    changes["severity"] = severity
                if truncated:
                    changes["details"] = {**f.details, "truncated_at": self.config.max_chars}
                findings.append(replace(f, **changes))
        return _resolve_overlaps(findings)

    def scan_span(
        self,
        input_texts: Sequence[SegmentLike],
        output_texts: Sequence[SegmentLike] = (),
        *,
        system_prompt: str | None = None,
        response_format: str | None = None,
        json_schema: dict | None = None,
    ) -> list[Finding]:
        """Scan every text of one span. Plain strings count as ``user`` input
        and ``assistant`` output; pass Segments for system, tool or retrieved
        text. Findings carry direction and the index of their text."""
        findings: list[Finding] = []
        for direction, items, default_role in (("input", input_texts, "user"), ("output", output_texts, "assistant")):
            for index, seg in enumerate(_segments(items, default_role)):  # type: ignore[arg-type]
                ctx = DetectionContext(
                    direction=direction,  # type: ignore[arg-type]
                    role=seg.role,
                    response_format=response_format,
                    json_schema=json_schema,
                    system_prompt=system_prompt,
                )
                findings.extend(self.scan_text(seg.text, ctx, segment=index))
        return findings

    def action(self, finding: Finding) -> str:
        """flagged or redacted, from the detector's configured mode. Only value
        findings (PII, secrets) can be redacted; the rest are flagged."""
        mode = self.config.settings(finding.detector).mode
        return "redacted" if mode == "redact" and finding.category in VALUE_CATEGORIES else "flagged"

    def to_redact(self, findings: Sequence[Finding], direction: Direction, segment: int) -> list[Finding]:
        """The findings of one text whose detector is in redact mode."""
        return [
            f
            for f in findings
            if f.direction == direction and f.segment == segment and self.action(f) == "redacted"
        ]


def _resolve_overlaps(findings: list[Finding]) -> list[Finding]:
    """Where two value findings cover the same characters, keep the surer one
    (a bare number can look like a phone and a card; only one is right)."""
    values = sorted((f for f in findings if f.category in VALUE_CATEGORIES), key=lambda f: (f.start, -f.end))
    kept: list[Finding] = []
    for f in values:
        clash = next((k for k in kept if f.start < k.end and k.start < f.end), None)
        if clash is None:
            kept.append(f)
        elif (f.confidence, f.end - f.start) > (clash.confidence, clash.end - clash.start):
            kept[kept.index(clash)] = f
    others = [f for f in findings if f.category not in VALUE_CATEGORIES]
    return sorted(kept, key=lambda f: f.start) + others
