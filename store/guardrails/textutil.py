"""Small text helpers the detectors share: context windows and code regions."""

from __future__ import annotations

import bisect
import functools
import re
from typing import Callable, Iterator, TypeVar

T = TypeVar("T")

_FENCE = re.compile(r"```.*?(?:```|\Z)|~~~.*?(?:~~~|\Z)", re.S)
_INLINE_CODE = re.compile(r"`[^`\n]+`")


def is_word_char(ch: str) -> bool:
    """What \\w matches (and \\b sees)."""
    return ch.isalnum() or ch == "_"


def kept_for_last_text(compute: Callable[[str], T]) -> Callable[[str], T]:
    """``compute(text)``, kept for the last text asked: the detectors of one text
    each ask for the same derived forms of it."""
    last: list[tuple[str | None, T | None]] = [(None, None)]

    @functools.wraps(compute)
    def kept(text: str) -> T:
        seen, value = last[0]
        if seen is text:
            return value  # type: ignore[return-value]
        value = compute(text)
        last[0] = (text, value)  # one assignment: safe across threads
        return value

    return kept


@kept_for_last_text
def lowered_text(text: str) -> str:
    """``text.lower()`` (4 KB cost ~10 µs a time; the first tier and several detectors want it)."""
    return text.lower()


# One byte per character: "d" a digit, "a" an ASCII letter, space, "-" and
# "." as they are, "_" anything else (a non-ASCII character keeps its first
# UTF-8 byte, made "_", and loses the others). A number pattern needs its
# shape here ("ddd-dd-dddd"), and a substring search of a few µs tells a text
# without it from one with it, where the regex scan costs tens.
_CLASS_BYTES = bytes(
    ord("d") if chr(b).isdigit() and b < 0x80 else ord("a") if chr(b).isalpha() and b < 0x80 else b if chr(b) in " -." else ord("_")
    for b in range(256)
)
_UTF8_CONTINUATION = bytes(range(0x80, 0xC0))


@kept_for_last_text
def char_classes(text: str) -> bytes:
    """The class of each character of ``text`` (above)."""
    return text.encode("utf-8", "surrogatepass").translate(_CLASS_BYTES, _UTF8_CONTINUATION)


def shape_matches(pattern: re.Pattern[str], text: str, shapes: tuple[bytes, ...]) -> Iterator[re.Match[str]]:
    """``pattern.finditer(text)`` for a pattern every match of which has one
    of ``shapes`` in ``char_classes(text)`` (one byte a character, so a place
    there is the same place in the text): tried only where a shape begins."""
    classes = char_classes(text)
    starts: set[int] = set()
    for shape in shapes:
        pos = classes.find(shape)
        while pos >= 0:
            starts.add(pos)
            pos = classes.find(shape, pos + 1)
    end = 0
    for pos in sorted(starts):
        if pos < end:
            continue  # inside the last match: finditer goes on after it
        m = pattern.match(text, pos)
        if m:
            yield m
            end = m.end()


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


_DOUBLED_DIGIT = str.maketrans("0123456789", "0246813579")  # a digit doubled, its digits summed


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum of ASCII digits, summed in C: every other digit from
    the right doubled (by a translation table), then the bytes added up."""
    backwards = digits[::-1]
    kept, doubled = backwards[0::2], backwards[1::2].translate(_DOUBLED_DIGIT)
    return (sum(kept.encode("ascii")) + sum(doubled.encode("ascii")) - 48 * len(digits)) % 10 == 0
