"""A vs B: a word-level diff of two outputs, for the replay pane to colour.

The operations come from ``store.prompts.diff`` (equal / insert / delete /
replace, each with the A text and the B text), so prompt diffs and output diffs
look the same in the UI.
"""

from __future__ import annotations

from dataclasses import dataclass

from store.prompts.diff import DiffOp, DiffStats, diff_stats, word_diff


@dataclass(frozen=True)
class OutputDiff:
    ops: list[DiffOp]
    stats: DiffStats

    @property
    def identical(self) -> bool:
        return all(op.op == "equal" for op in self.ops)


def output_diff(a_text: str, b_text: str) -> OutputDiff:
    ops = word_diff(a_text or "", b_text or "")
    return OutputDiff(ops, diff_stats(ops))
