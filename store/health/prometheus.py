"""Prometheus text exposition -> an immutable snapshot.

Parsing is done by ``prometheus_client.parser.text_string_to_metric_families``.
That parser stops at the first line it cannot read (it raises ``ValueError``
from inside a generator), while real captures carry shell prompts
(``$ curl ...``), ``...`` elisions and other debris. So when the fast whole-body
parse fails, each line is checked on its own with the same parser, the bad ones
are dropped and reported in ``MetricsSnapshot.errors``, and the rest is parsed
again. A body with nothing readable yields a snapshot with an error, never an
exception.

Lines that start with ``#`` are comments to the parser: a dump commented out
line by line (``# # HELP ...``) parses to no families at all. Recovering such a
file is the caller's business.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Iterable, Mapping

from prometheus_client.parser import text_string_to_metric_families

__all__ = ["Sample", "Family", "ParseError", "MetricsSnapshot", "parse_metrics", "EMPTY_LABELS"]

EMPTY_LABELS: Mapping[str, str] = MappingProxyType({})

# How many bad lines are kept verbatim in ``errors``; the count is always exact.
MAX_REPORTED_ERRORS = 20


@dataclass(frozen=True, slots=True)
class Sample:
    """One exposed series value. ``name`` is the sample name as exposed
    (``vllm:prompt_tokens_total``, ``..._bucket``), ``labels`` a read-only mapping."""

    name: str
    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True, slots=True)
class Family:
    """A metric family. ``name`` follows prometheus_client: a counter's family name
    has no ``_total`` (its samples keep it). ``type`` is counter, gauge, histogram,
    summary, info, stateset, gaugehistogram or untyped."""

    name: str
    type: str
    help: str
    samples: tuple[Sample, ...]


@dataclass(frozen=True, slots=True)
class ParseError:
    """A line that was skipped. ``line_no`` is 1-based; 0 means the body as a whole."""

    line_no: int
    line: str
    reason: str


@dataclass(frozen=True, slots=True)
class MetricsSnapshot:
    """What one ``/metrics`` body held.

    ``families`` maps family name -> Family, in exposition order.
    ``errors`` lists skipped lines (at most ``MAX_REPORTED_ERRORS``);
    ``bad_lines`` is the exact count.
    """

    families: Mapping[str, Family] = field(default_factory=lambda: EMPTY_LABELS)  # type: ignore[assignment]
    errors: tuple[ParseError, ...] = ()
    bad_lines: int = 0

    @property
    def ok(self) -> bool:
        """True when something was parsed and nothing was skipped."""
        return bool(self.families) and not self.errors

    @property
    def empty(self) -> bool:
        return not self.families

    def samples(self) -> Iterable[Sample]:
        for family in self.families.values():
            yield from family.samples

    def get(self, name: str) -> Family | None:
        return self.families.get(name)


def parse_metrics(text: str) -> MetricsSnapshot:
    """Parse a Prometheus text body. Never raises for bad input."""
    if not isinstance(text, str):
        return MetricsSnapshot(errors=(ParseError(0, "", f"body is {type(text).__name__}, not text"),), bad_lines=1)
    try:
        families = _build(text_string_to_metric_families(text))
        errors: list[ParseError] = []
        bad = 0
    except Exception:  # noqa: BLE001 - the parser raises ValueError, but its helpers may raise others
        good_lines, errors, bad = _screen_lines(text)
        try:
            families = _build(text_string_to_metric_families("\n".join(good_lines)))
        except Exception as exc:  # noqa: BLE001 - lines good alone but bad together; give up politely
            families = {}
            errors.append(ParseError(0, "", f"body could not be parsed: {exc}"))
            bad += 1
    if not families and text.strip():
        reason = "no metric samples found" if not bad else f"no metric samples found ({bad} unreadable lines)"
        errors.insert(0, ParseError(0, "", reason))
    return MetricsSnapshot(
        families=MappingProxyType(families),
        errors=tuple(errors[:MAX_REPORTED_ERRORS]),
        bad_lines=bad,
    )


def _build(metric_families) -> dict[str, Family]:
    families: dict[str, Family] = {}
    for metric in metric_families:
        samples = tuple(
            Sample(s.name, MappingProxyType(s.labels) if s.labels else EMPTY_LABELS, float(s.value))
            for s in metric.samples
        )
        previous = families.get(metric.name)
        if previous is not None:
            # The parser splits a family when its samples are interleaved with
            # another's (e.g. a ``_created`` line between buckets); join them again.
            samples = previous.samples + samples
        families[metric.name] = Family(metric.name, metric.type, metric.documentation or "", samples)
    return families


def _screen_lines(text: str) -> tuple[list[str], list[ParseError], int]:
    """Keep the lines the parser accepts on their own; report the others."""
    good: list[str] = []
    errors: list[ParseError] = []
    bad = 0
    for line_no, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or (stripped.startswith("#") and not _is_directive(stripped)):
            good.append(line)
            continue
        try:
            for _ in text_string_to_metric_families(line):
                pass
        except Exception as exc:  # noqa: BLE001
            bad += 1
            if len(errors) < MAX_REPORTED_ERRORS:
                errors.append(ParseError(line_no, line[:200], _reason(stripped, exc)))
            continue
        good.append(line)
    return good, errors, bad


def _is_directive(comment_line: str) -> bool:
    parts = comment_line.split(None, 2)
    return len(parts) >= 2 and parts[1] in ("HELP", "TYPE")


def _reason(line: str, exc: Exception) -> str:
    if line.startswith("$ ") or line.startswith("curl "):
        return "shell command, not exposition"
    if set(line) <= {".", " "}:
        return "elision ('...'), not exposition"
    message = str(exc).strip()
    return f"unparseable line: {message[:120]}" if message else "unparseable line"
