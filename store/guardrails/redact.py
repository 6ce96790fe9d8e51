"""Redaction and display-safe excerpts."""

from __future__ import annotations

import re
from typing import Sequence

from store.guardrails.detectors import masking_detectors
from store.guardrails.model import DetectionContext, Finding

# ANSI/VT escape sequences (CSI, OSC, two-char ESC), other C0/C1 controls,
# bidi controls, zero-width characters and Unicode tag characters: none of them
# may reach a terminal from stored text.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?|\x9b[0-?]*[ -/]*[@-~]")
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\U000e0000-\U000e007f]")
_WHITESPACE = re.compile(r"[\t\n\r]+")


def mask_token(entity: str) -> str:
    return f"[REDACTED:{entity}]"


def _merge(spans: Sequence[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    merged: list[tuple[int, int, str]] = []
    for start, end, entity in sorted(spans):
        if merged and start < merged[-1][1]:
            prev = merged[-1]
            merged[-1] = (prev[0], max(prev[1], end), prev[2])
        else:
            merged.append((start, end, entity))
    return merged


def redact(text: str, findings: Sequence[Finding]) -> str:
    """Replace each finding's span with ``[REDACTED:<entity>]``. Overlapping
    findings merge into one mask. The findings must belong to this text."""
    out: list[str] = []
    pos = 0
    for start, end, entity in _merge([(f.start, f.end, f.entity) for f in findings if f.end > f.start]):
        out.append(text[pos:start])
        out.append(mask_token(entity))
        pos = end
    out.append(text[pos:])
    return "".join(out)


def sanitize(text: str) -> str:
    """Strip escape sequences and invisible or control characters; fold line
    breaks and tabs to spaces."""
    text = _ESCAPES.sub("", text)
    text = _CONTROLS.sub("", text)
    return _WHITESPACE.sub(" ", text)


_MASKERS = None


def value_findings(text: str) -> list[Finding]:
    """All PII and secret findings in ``text`` by the built-in detectors."""
    global _MASKERS
    if _MASKERS is None:
        _MASKERS = masking_detectors()
    ctx = DetectionContext()
    return [f for d in _MASKERS for f in d.detect(text, ctx)]


def safe_text(text: str, limit: int = 200) -> str:
    """Redacted and sanitized text, cut to ``limit`` characters: for values
    that come from outside (external events) and go to a screen."""
    cut = text[: limit + 200]
    shown = sanitize(redact(cut, value_findings(cut)))
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def excerpt(text: str, finding: Finding, width: int = 80, findings: Sequence[Finding] = ()) -> str:
    """A window of about ``width`` characters around ``finding``, always
    redacted and safe to display.

    Everything in the window that is a value is masked: ``finding`` itself if
    it is a value, the other ``findings`` of this text, and whatever the PII
    and secret detectors find when they run again over the window's
    neighbourhood (so an excerpt is safe even when the caller passes nothing,
    or the value runs over the window's edge). A finding that is not a value
    (an injection, a refusal) is shown, minus any values inside it.
    """
    span_len = finding.end - finding.start
    pad = max(0, (width - min(span_len, width)) // 2)
    lo = max(0, finding.start - pad)
    hi = min(len(text), max(finding.end, lo + width) if span_len <= width else finding.start + width)
    # rescan a margin around the window so a value cut by the edge is still found
    margin_lo = max(0, lo - 120)
    region = text[margin_lo : min(len(text), hi + 120)]
    spans = [(f.start + margin_lo, f.end + margin_lo, f.entity) for f in value_findings(region)]
    spans += [(f.start, f.end, f.entity) for f in findings if f.category in ("pii", "secret")]
    if finding.category in ("pii", "secret"):
        spans.append((finding.start, finding.end, finding.entity))
    # widen the window over any value it cuts, so no fragment of one shows
    for start, end, _ in spans:
        if start < lo < end:
            lo = start
        if start < hi < end:
            hi = end
    window = text[lo:hi]
    local = [(max(s, lo) - lo, min(e, hi) - lo, ent) for s, e, ent in spans if s < hi and e > lo]
    out: list[str] = []
    pos = 0
    for start, end, entity in _merge(local):
        out.append(sanitize(window[pos:start]))
        out.append(mask_token(entity))
        pos = end
    out.append(sanitize(window[pos:]))
    shown = "".join(out).strip()
    return ("…" if lo > 0 else "") + shown + ("…" if hi < len(text) else "")
