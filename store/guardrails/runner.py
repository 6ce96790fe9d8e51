"""Runs the enabled detectors over a span's input and output texts."""

from __future__ import annotations

from dataclasses import replace
from typing import Collection, NamedTuple, Sequence

from store.guardrails.config import DetectorConfig
from store.guardrails.detectors import FAMILY_GATES, default_detectors
from store.guardrails.model import DetectionContext, Detector, Direction, Finding, Role, Severity
from store.guardrails.prefilter import TextFacts

# Categories whose findings are values (they can overlap and mask each other).
VALUE_CATEGORIES = frozenset({"pii", "secret"})


class Segment(NamedTuple):
    """One text of a span and where it came from (a tuple: it is made for
    every text of every span at ingest, and a tuple is made fastest)."""

    text: str
    role: Role = "user"


SegmentLike = Segment | str


def _segments(items: Sequence[SegmentLike], default_role: Role) -> list[Segment]:
    return [item if isinstance(item, Segment) else Segment(item, default_role) for item in items]


Planned = tuple[Detector, "Severity | None", str]  # detector, severity override, family or ""


class GuardrailRunner:
    """Holds the configured detectors; scanning is pure and thread-safe.

    Every text goes through the first tier (``store.guardrails.prefilter``)
    before a detector's regexes: per span, one cheap check per detector family
    over the texts it applies to; per text, each detector's own prefilter.
    Both only skip work whose result would be empty."""

    def __init__(self, config: DetectorConfig | None = None, detectors: Sequence[Detector] | None = None) -> None:
        self.config = config or DetectorConfig()
        self._detectors: list[tuple[Detector, Severity | None]] = []
        for detector in detectors if detectors is not None else default_detectors():
            settings = self.config.settings(detector.name)
            if settings.enabled:
                self._detectors.append((detector, settings.severity))
        families: dict[str, Detector] = {}
        for detector, _ in self._detectors:
            family = getattr(detector, "family", "")
            if family in FAMILY_GATES:
                families.setdefault(family, detector)
        self._families = families  # family -> one member (they share applies_to)
        # applies_to of the built-in detectors reads only these fields of the context
        builtin = all(type(d).__module__.startswith("store.guardrails.detectors") for d, _ in self._detectors)
        self._plans: dict[tuple, tuple[Planned, ...]] | None = {} if builtin else None

    @property
    def detectors(self) -> list[Detector]:
        return [d for d, _ in self._detectors]

    def _plan(self, ctx: DetectionContext) -> tuple[Planned, ...]:
        """The detectors that apply to texts like this one."""
        key = (ctx.direction, ctx.role, ctx.response_format is not None, bool(ctx.system_prompt))
        plan = self._plans.get(key) if self._plans is not None else None
        if plan is None:
            plan = tuple((d, severity, getattr(d, "family", "")) for d, severity in self._detectors if d.applies_to(ctx))
            if self._plans is not None:
                self._plans[key] = plan
        return plan

    def scan_text(self, text: str, ctx: DetectionContext, *, segment: int = 0) -> list[Finding]:
        return self._scan_text(text, ctx, segment, None)

    def _scan_text(
        self, text: str, ctx: DetectionContext, segment: int, live: set[str] | None, known: dict[int, TextFacts] | None = None
    ) -> list[Finding]:
        truncated = len(text) > self.config.max_chars
        if truncated:
            text = text[: self.config.max_chars]
        findings: list[Finding] = []
        facts = (known.get(id(text)) if known else None) or TextFacts(text)
        for detector, severity, family in self._plan(ctx):
            if family and live is not None and family not in live:
                continue  # the family's check over the whole span failed
            if not detector.prefilter(facts, ctx):
                continue
            for f in detector.detect(text, ctx):
                if f.confidence < self.config.min_confidence:
                    continue
                changes: dict = {"segment": segment} if segment != f.segment else {}
                if severity:
                    changes["severity"] = severity
                if truncated:
                    changes["details"] = {**f.details, "truncated_at": self.config.max_chars}
                # a finding is frozen: copy it only where something changes
                # (dataclasses.replace costs microseconds, and most texts are a span's first)
                findings.append(replace(f, **changes) if changes else f)
        return _resolve_overlaps(findings)

    def scan_span(
        self,
        input_texts: Sequence[SegmentLike],
        output_texts: Sequence[SegmentLike] = (),
        *,
        system_prompt: str | None = None,
        response_format: str | None = None,
        json_schema: dict | None = None,
        families: Collection[str] | None = None,
    ) -> list[Finding]:
        """Scan every text of one span. Plain strings count as ``user`` input
        and ``assistant`` output; pass Segments for system, tool or retrieved
        text. Findings carry direction and the index of their text.

        ``families``: detector families a caller has already shown could fire
        on this span (a batch prefilter); the others are skipped. By default
        the runner checks each family itself."""
        texts: list[tuple[str, int, DetectionContext]] = []
        contexts: dict[tuple[str, str], DetectionContext] = {}
        for direction, items, default_role in (("input", input_texts, "user"), ("output", output_texts, "assistant")):
            for index, seg in enumerate(_segments(items, default_role)):  # type: ignore[arg-type]
                ctx = contexts.get((direction, seg.role))
                if ctx is None:
                    ctx = contexts[(direction, seg.role)] = DetectionContext(
                        direction=direction,  # type: ignore[arg-type]
                        role=seg.role,
                        response_format=response_format,
                        json_schema=json_schema,
                        system_prompt=system_prompt,
                    )
                texts.append((seg.text, index, ctx))
        known: dict[int, TextFacts] = {}  # what the family checks learnt of a text, for its own checks
        live = set(families) if families is not None else self._live_families(texts, known)
        findings: list[Finding] = []
        for text, index, ctx in texts:
            findings.extend(self._scan_text(text, ctx, index, live, known))
        return findings

    def _live_families(
        self, texts: list[tuple[str, int, DetectionContext]], known: dict[int, TextFacts] | None = None
    ) -> set[str]:
        """The families whose check holds on the span's texts they apply to
        (families without a span-level check are always live)."""
        live: set[str] = {getattr(d, "family", "") for d, _ in self._detectors} - set(FAMILY_GATES)
        limit = self.config.max_chars
        for family, member in self._families.items():
            chunks, ctxs = [], []
            for text, _, ctx in texts:
                if member.applies_to(ctx):
                    chunks.append(text if len(text) <= limit else text[:limit])
                    ctxs.append(ctx)
            if not chunks:
                continue
            if len(chunks) == 1:
                facts = known.get(id(chunks[0])) if known is not None else None
                if facts is None:
                    facts = TextFacts(chunks[0])
                    if known is not None:
                        known[id(chunks[0])] = facts
            else:
                facts = TextFacts("\n".join(chunks))
            if FAMILY_GATES[family](facts, ctxs):
                live.add(family)
        return live

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
