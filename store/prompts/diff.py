"""Word- and line-level diffs as plain operations a UI can colour.

Each :class:`DiffOp` carries the old text (``a``) and the new text (``b``) of one
stretch: ``equal`` (a == b), ``delete`` (b == ""), ``insert`` (a == ""), or
``replace``. Concatenating the ``a`` sides gives the old text back, the ``b``
sides the new one.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

# Words, runs of whitespace, and single punctuation marks: whitespace is its own
# token so that a changed indent shows, and "word," diffs as "word" + ",".
_WORD_TOKENS = re.compile(r"\w+|\s+|[^\w\s]")

Op = Literal["equal", "insert", "delete", "replace"]


@dataclass(frozen=True)
class DiffOp:
    op: Op
    a: str
    b: str
    a_pos: int  # word diff: character offset in the old text; line diff: 1-based line number
    b_pos: int


def _tokens_diff(a_tokens: list[str], b_tokens: list[str], *, lines: bool) -> list[DiffOp]:
    matcher = difflib.SequenceMatcher(None, a_tokens, b_tokens, autojunk=False)
    ops: list[DiffOp] = []
    a_offsets = _offsets(a_tokens, lines)
    b_offsets = _offsets(b_tokens, lines)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        ops.append(DiffOp(tag, "".join(a_tokens[i1:i2]), "".join(b_tokens[j1:j2]), a_offsets[i1], b_offsets[j1]))  # type: ignore[arg-type]
    return ops if lines else _join_across_spaces(ops)


def _join_across_spaces(ops: list[DiffOp]) -> list[DiffOp]:
    """Fold "change, one space, change" into one replace: "42 dollars" -> "43 euros" reads
    better as one edit than as two edits around an unchanged space."""
    out: list[DiffOp] = []
    for op in ops:
        if (
            len(out) >= 2
            and op.op != "equal"
            and out[-1].op == "equal"
            and out[-1].a.isspace()
            and out[-2].op != "equal"
        ):
            space = out.pop()
            first = out.pop()
            op = DiffOp("replace", first.a + space.a + op.a, first.b + space.b + op.b, first.a_pos, first.b_pos)
        out.append(op)
    return out


def _offsets(tokens: list[str], lines: bool) -> list[int]:
    """Start position of each token (and one past the end)."""
    positions = [1 if lines else 0]
    for token in tokens:
        positions.append(positions[-1] + (1 if lines else len(token)))
    return positions


def word_diff(a: str, b: str) -> list[DiffOp]:
    return _tokens_diff(_WORD_TOKENS.findall(a), _WORD_TOKENS.findall(b), lines=False)


def line_diff(a: str, b: str) -> list[DiffOp]:
    """Line operations; each op's text keeps its line endings."""
    return _tokens_diff(a.splitlines(keepends=True), b.splitlines(keepends=True), lines=True)


def similarity(a: str, b: str) -> float:
    """0..1, how much of the two texts' words is shared (difflib's ratio over word tokens)."""
    if not a and not b:
        return 1.0
    return difflib.SequenceMatcher(None, _WORD_TOKENS.findall(a), _WORD_TOKENS.findall(b), autojunk=False).ratio()


@dataclass(frozen=True)
class DiffStats:
    words_added: int
    words_removed: int
    similarity: float


def diff_stats(ops: list[DiffOp]) -> DiffStats:
    added = removed = 0
    equal_words = 0
    for op in ops:
        a_words = len(re.findall(r"\w+", op.a))
        b_words = len(re.findall(r"\w+", op.b))
        if op.op == "equal":
            equal_words += a_words
        else:
            removed += a_words
            added += b_words
    total = 2 * equal_words + added + removed
    return DiffStats(added, removed, 1.0 if total == 0 else 2 * equal_words / total)
