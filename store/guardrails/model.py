"""The detector interface: what a detector sees, what it reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from store.guardrails.prefilter import TextFacts

Category = Literal["pii", "secret", "injection", "jailbreak", "output"]
Severity = Literal["low", "medium", "high", "critical"]
Direction = Literal["input", "output"]
# Where a piece of text came from. "tool" is a tool's output fed back to the
# model; "retrieved" is context pulled in by a retriever (RAG). Both are
# untrusted channels for indirect prompt injection.
Role = Literal["system", "user", "assistant", "tool", "retrieved"]

SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high", "critical")
CATEGORIES: tuple[str, ...] = ("pii", "secret", "injection", "jailbreak", "output")
UNTRUSTED_ROLES: frozenset[str] = frozenset({"tool", "retrieved"})


def raise_severity(severity: Severity, steps: int = 1) -> Severity:
    index = min(SEVERITIES.index(severity) + steps, len(SEVERITIES) - 1)
    return SEVERITIES[index]


@dataclass(frozen=True, slots=True)
class DetectionContext:
    """What a detector knows about the text besides the text itself."""

    direction: Direction = "input"
    role: Role = "user"
    # The request's response_format type when JSON was asked for:
    # "json_object", "json_schema" or "json"; None otherwise.
    response_format: str | None = None
    # The JSON schema that came with response_format=json_schema, if any.
    json_schema: dict[str, Any] | None = None
    # The system prompt of the request, for leak detection on the output.
    system_prompt: str | None = None

    @property
    def json_requested(self) -> bool:
        return self.response_format is not None


@dataclass(frozen=True, slots=True)
class Finding:
    """One detection: a span of one text, never the raw value itself.

    ``direction`` and ``segment`` locate the text the offsets refer to in a
    scanned span (the index into the input or output texts); a detector called
    directly leaves them at their defaults and the runner fills them in.
    """

    detector: str
    category: Category
    severity: Severity
    start: int
    end: int
    entity: str
    confidence: float
    direction: Direction = "input"
    segment: int = 0
    role: Role = "user"
    detector_version: str = ""
    details: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def span(self) -> tuple[int, int]:
        return (self.start, self.end)


@runtime_checkable
class Detector(Protocol):
    name: str
    category: Category
    severity: Severity
    version: str

    def detect(self, text: str, ctx: DetectionContext) -> list[Finding]: ...

    def applies_to(self, ctx: DetectionContext) -> bool:
        """Whether this detector runs on text from this direction and role."""
        ...


class BaseDetector:
    """Shared plumbing: identity fields and the finding constructor."""

    name: str = ""
    category: Category = "pii"
    severity: Severity = "medium"
    version: str = "1"
    # Detectors of one family apply to the same texts and share a cheap
    # family check (detectors.FAMILY_GATES) that the runner makes once per span.
    family: str = ""
    # A regex (RE2 syntax, no lookarounds) that every text this detector
    # reports on matches, also once JSON-escaped: lets a whole batch be
    # prefiltered in one vectorized pass. None: no such pattern.
    batch_pattern: str | None = None

    def applies_to(self, ctx: DetectionContext) -> bool:
        return True

    def prefilter(self, facts: TextFacts, ctx: DetectionContext) -> bool:
        """The first tier: False only when ``detect`` surely finds nothing in
        ``facts.text`` (a few substring searches or set lookups, no regex)."""
        return True

    def detect(self, text: str, ctx: DetectionContext) -> list[Finding]:
        raise NotImplementedError

    def finding(
        self,
        start: int,
        end: int,
        entity: str,
        confidence: float,
        ctx: DetectionContext,
        *,
        severity: Severity | None = None,
        details: dict[str, Any] | None = None,
    ) -> Finding:
        return Finding(
            detector=self.name,
            category=self.category,
            severity=severity or self.severity,
            start=start,
            end=end,
            entity=entity,
            confidence=round(confidence, 3),
            direction=ctx.direction,
            role=ctx.role,
            detector_version=self.version,
            details=details or {},
        )
