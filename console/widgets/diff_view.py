"""Diffs as coloured Rich text: word diffs (A/B outputs) and line diffs with the
changed words marked inside changed lines (prompt versions).

Colours are the theme's ``diff-insert``/``diff-delete`` backgrounds; deletions are
also struck through and lines carry ``+``/``-`` so the diff reads without colour.
Text is untrusted (outputs, prompts from traces): it goes through ``clean``.
"""

from __future__ import annotations

from rich.text import Text

from console.palette import Palette
from console.text import clean
from store.prompts.diff import DiffOp, diff_stats, line_diff, word_diff

CONTEXT_LINES = 3
LIMIT = 60_000  # characters per side drawn; the rest is cut with a marker


def _styles(c: Palette) -> tuple[str, str]:
    insert = c.vars.get("diff-insert") or c.vars.get("success", "green")
    delete = c.vars.get("diff-delete") or c.vars.get("error", "red")
    return f"bold on {insert}", f"strike on {delete}"


def word_diff_text(ops: list[DiffOp], c: Palette) -> Text:
    """One text: unchanged words plain, removed words struck on red, added words on green."""
    ins, dele = _styles(c)
    t = Text()
    for op in ops:
        if op.op == "equal":
            t.append(clean(op.a, LIMIT))
            continue
        if op.a:
            t.append(clean(op.a, LIMIT), style=dele)
        if op.b:
            t.append(clean(op.b, LIMIT), style=ins)
    return t


def stats_line(ops: list[DiffOp]) -> str:
    s = diff_stats(ops)
    return f"+{s.words_added} −{s.words_removed} words · similarity {s.similarity:.0%}"


def _side(ops: list[DiffOp], side: str, mark: str, c: Palette) -> list[Text]:
    """The old (side a) or new (side b) lines of a changed block, changed words marked."""
    t = Text()
    for op in ops:
        text = op.a if side == "a" else op.b
        if text:
            t.append(clean(text, LIMIT), style="" if op.op == "equal" else mark)
    lines = t.split("\n", allow_blank=True)
    if lines and not lines[-1].plain:
        lines = lines[:-1]
    return lines


def line_diff_text(old: str, new: str, c: Palette, context: int = CONTEXT_LINES) -> Text:
    """A unified-style diff: ``-``/``+`` lines, changed words marked within them,
    unchanged stretches cut to ``context`` lines around each change."""
    ins, dele = _styles(c)
    muted = c("muted")
    ops = line_diff(old, new)
    out = Text()
    if all(op.op == "equal" for op in ops):
        return Text("no changes", style=muted)

    def line(prefix: str, body: Text | str, style: str = "") -> None:
        out.append(prefix, style=style or muted)
        out.append(body if isinstance(body, Text) else Text(clean(body, LIMIT)))
        out.append("\n")

    for index, op in enumerate(ops):
        if op.op == "equal":
            lines = op.a.splitlines()
            first, last = index == 0, index == len(ops) - 1
            head = [] if first else lines[:context]
            tail = [] if last else lines[-context:]
            if len(lines) <= len(head) + len(tail) + 1:
                head, tail, skipped = lines, [], 0
            else:
                skipped = len(lines) - len(head) - len(tail)
            for text in head:
                line("  ", text)
            if skipped:
                out.append(f"  ⋯ {skipped} unchanged lines\n", style=muted)
            for text in tail:
                line("  ", text)
            continue
        words = word_diff(op.a, op.b)
        for text in _side(words, "a", dele, c):
            line("- ", text, c("error", "bold"))
        for text in _side(words, "b", ins, c):
            line("+ ", text, c("success", "bold"))
    out.rstrip()
    return out
