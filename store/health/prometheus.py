"""Prometheus text exposition -> an immutable snapshot.

Parsing is done by ``prometheus_client.parser.text_string_to_metric_families``.
A fast path (``_fast_families``) reads well-formed bodies (what servers emit)
with a few regular expressions and the same family rules as that parser, about
four times faster; any line it is not sure about sends the whole body to
``prometheus_client``, so results never differ (a test compares the two).

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

import re
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
    fast = _fast_families(text)
    if fast is not None:
        families, errors, bad = fast, [], 0
        return _snapshot(text, families, errors, bad)
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
    return _snapshot(text, families, errors, bad)


def _snapshot(text: str, families: dict[str, Family], errors: list[ParseError], bad: int) -> MetricsSnapshot:
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


# --------------------------------------------------------------------------- fast path

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_SAMPLE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^{}]*)\})? +([^ ]+)(?: +([^ ]+))?")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')
_ESCAPES = re.compile(r'\\[\\n"]')
_HELP_ESCAPES = re.compile(r"\\[\\n]")
_UNESCAPE = {"\\\\": "\\", "\\n": "\n", '\\"': '"'}
_TYPES = frozenset({"counter", "gauge", "summary", "histogram", "gaugehistogram", "unknown", "info", "stateset", "untyped"})
_ALLOWED = {"counter": ("",), "gauge": ("",), "summary": ("_count", "_sum", ""), "histogram": ("_count", "_sum", "_bucket")}


class _Unsure(Exception):
    """A line the fast path does not read exactly as prometheus_client would."""


def _fast_families(text: str) -> dict[str, Family] | None:
    """``prometheus_client.parser.text_fd_to_metric_families`` followed by ``_build``,
    for bodies whose every line is plainly well formed; None otherwise."""
    try:
        return _build_fast(text)
    except _Unsure:
        return None


def _number(token: str) -> float:
    if "_" in token:
        raise _Unsure
    try:
        return float(token)
    except ValueError:
        raise _Unsure from None


def _labels(block: str) -> Mapping[str, str]:
    if not block:
        return EMPTY_LABELS
    labels: dict[str, str] = {}
    pos, end = 0, len(block)
    while pos < end:
        match = _LABEL.match(block, pos)
        if match is None:
            raise _Unsure
        name, value, comma = match.groups()
        if name in labels or name.startswith("__"):
            raise _Unsure
        if "\\" in value:
            value = _ESCAPES.sub(lambda m: _UNESCAPE[m.group(0)], value)
        labels[name] = value
        pos = match.end()
        if not comma and pos != end:
            raise _Unsure
    return MappingProxyType(labels)


def _build_fast(text: str) -> dict[str, Family]:
    families: dict[str, Family] = {}
    name, documentation, typ = "", "", "untyped"
    samples: list[Sample] = []
    allowed: tuple[str, ...] = ()

    def emit(fname: str, doc: str, ftyp: str, fsamples: list[Sample]) -> None:
        if ftyp not in _TYPES:
            raise _Unsure
        if ftyp == "counter":
            if fname.endswith("_total"):
                fname = fname[:-6]
            elif fsamples:  # prometheus_client renames them (keeping only the last; an odd case)
                raise _Unsure
        ftyp = "unknown" if ftyp == "untyped" else ftyp
        previous = families.get(fname)
        joined = tuple(fsamples) if previous is None else previous.samples + tuple(fsamples)
        families[fname] = Family(fname, ftyp, doc, joined)

    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            continue
        if line[0] == "#":
            if '"' in line or "\t" in line:
                raise _Unsure
            parts = line.split(" ", 3)
            if len(parts) < 2 or "" in parts[:3]:
                if len(line.split()) < 2:
                    continue
                raise _Unsure  # runs of spaces: prometheus_client splits those its own way
            if len(parts) > 2:
                if parts[1] not in ("TYPE", "HELP"):
                    continue
                candidate = parts[2]
                if _NAME.fullmatch(candidate) is None:
                    raise _Unsure
            else:
                if parts[1] in ("TYPE", "HELP"):
                    raise _Unsure
                continue
            if parts[1] == "HELP":
                if candidate != name:
                    if name:
                        emit(name, documentation, typ, samples)
                    name, typ, samples, allowed = candidate, "untyped", [], (candidate,)
                documentation = _HELP_ESCAPES.sub(lambda m: _UNESCAPE[m.group(0)], parts[3]) if len(parts) == 4 else ""
            else:
                if len(parts) < 4:
                    raise _Unsure
                if candidate != name:
                    if name:
                        emit(name, documentation, typ, samples)
                    name, documentation, samples = candidate, "", []
                typ = parts[3]
                allowed = tuple(name + suffix for suffix in _ALLOWED.get(typ, ("",)))
            continue
        if "\t" in line or " # " in line:
            raise _Unsure
        match = _SAMPLE.fullmatch(line)
        if match is None:
            raise _Unsure
        sname, block, value, stamp = match.groups()
        if stamp is not None:
            _number(stamp)
        sample = Sample(sname, _labels(block or ""), _number(value))
        if sname not in allowed:
            if name:
                emit(name, documentation, typ, samples)
            name, documentation, typ, samples, allowed = "", "", "untyped", [], ()
            emit(sname, "", "untyped", [sample])
        else:
            samples.append(sample)
    if name:
        emit(name, documentation, typ, samples)
    return families
