"""Small text helpers the detectors share: context windows and code regions."""

from __future__ import annotations

import bisect
import re

_FENCE = re.compile(r"```.*?(?:```|\Z)|~~~.*?(?:~~~|\Z)", re.S)
_INLINE_CODE = re.compile(r"`[^`\n]+`")


def before(text: str, start: int, width: int) -> str:
    return text[max(0, start - width) : start].lower()


def after(text: str, end: int, width: int) -> str:
    return text[end : end + width].lower()


class CodeRegions:
    """Where the text is code: fenced blocks and inline backtick spans.

    Built lazily, once per text, only by detectors that care (a finding
    inside code is often an example, not data).
    """

    __slots__ = ("_starts", "_ends")

    def __init__(self, text: str) -> None:
        spans: list[tuple[int, int]] = []
        if "`" in text or "~~~" in text:
            spans = [m.span() for m in _FENCE.finditer(text)]
            for m in _INLINE_CODE.finditer(text):
                if not any(s <= m.start() < e for s, e in spans):
                    spans.append(m.span())
            spans.sort()
        self._starts = [s for s, _ in spans]
        self._ends = [e for _, e in spans]

    def contains(self, pos: int) -> bool:
        i = bisect.bisect_right(self._starts, pos) - 1
        return i >= 0 and pos < self._ends[i]


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0
