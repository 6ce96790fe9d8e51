"""Batch replay: where the traces come from, the progress, one row per trace
(A vs B, checks, judge scores, deltas, errors) and the aggregates."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, ProgressBar, Select, Static

from console import format as fmt
from console.palette import Palette
from console.text import clean
from console.widgets.virtual_table import VirtualTable

SOURCES = [("traces filter", "filter"), ("dataset file (JSONL)", "dataset")]
COLUMNS = (("#", 4, "right"), ("trace", 12, "left"), ("A", 7, "left"), ("B", 7, "left"), ("checks", 6, "left"),
           ("score", 9, "left"), ("Δ cost", 9, "right"), ("Δ latency", 9, "right"), ("sim", 4, "right"),
           ("note", 30, "left"))


def _side_cell(side: Any, c: Palette) -> Text:
    if side is None:
        return Text("-", style=c("muted"))
    if side.result.error is not None:
        return Text("⚠ error", style=c("warning", "bold"))
    return Text("✓ pass", style=c("success")) if side.passed else Text("✗ fail", style=c("error", "bold"))


def _signed_usd(v: float | None) -> str:
    if v is None:
        return "-"
    return ("+" if v > 0 else "−" if v < 0 else "±") + fmt.usd(abs(v))


def _signed_ms(v: float | None) -> str:
    if v is None:
        return "-"
    return ("+" if v > 0 else "−" if v < 0 else "±") + fmt.duration_ms(abs(v))


def row_cells(row: Any, c: Palette, similarity: float | None = None) -> list[Any]:
    """The table cells of a finished (or cancelled) BatchRow (``similarity``: of its two
    outputs, computed off the UI thread)."""
    label = Text(clean(row.id, 40, one_line=True))
    if row.status == "cancelled":
        return [Text(str(row.index + 1)), label, Text("-"), Text("-"), Text("-"), Text("-"), Text("-"), Text("-"),
                Text("-"), Text("cancelled", style=c("muted", "italic"))]
    b = row.b
    checks = Text("-", style=c("muted"))
    failed: list[str] = []
    if b is not None and b.checks:
        ok = sum(ch.passed for ch in b.checks)
        failed = [ch.name for ch in b.checks if not ch.passed]
        checks = Text(f"{ok}/{len(b.checks)}", style=c("success") if not failed else c("error", "bold"))
    score = "-"
    if row.a is not None and (row.a.score is not None or (b is not None and b.score is not None)):
        sa = "-" if row.a.score is None else f"{row.a.score:.2f}"
        sb = "-" if b is None or b.score is None else f"{b.score:.2f}"
        score = f"{sa}→{sb}"
    elif b is not None and b.score is not None:
        score = f"{b.score:.2f}"
    note = Text()
    if row.regression:
        note.append("▼ regression ", style=c("error", "bold"))
    elif row.improvement:
        note.append("▲ improved ", style=c("success", "bold"))
    for side_name, side in (("A", row.a), ("B", row.b)):
        if side is not None and side.result.error is not None:
            note.append(f"{side_name}: {clean(side.result.error.message, 300, one_line=True)} ", style=c("warning"))
    if failed:
        note.append("failed: " + ", ".join(clean(n, 40, one_line=True) for n in failed) + " ", style=c("error"))
    if row.problem:
        note.append(clean(row.problem, 300, one_line=True), style=c("error"))
    sim = similarity
    return [Text(str(row.index + 1)), label, _side_cell(row.a, c), _side_cell(b, c), checks, Text(score),
            Text(_signed_usd(row.cost_delta_usd), justify="right"),
            Text(_signed_ms(row.latency_delta_ms), justify="right"),
            Text("-" if sim is None else f"{sim:.0%}", justify="right"), note]


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.0%}"


def summary_text(report_summary: Any, c: Palette, cancelled: bool = False) -> Text:
    """Aggregates: pass rate, mean score, cost and latency deltas, regressions."""
    s = report_summary
    a, b = s.a, s.b
    t = Text()
    t.append("pass rate ", style=c("muted"))
    t.append(f"{_pct(a.pass_rate) if a else '-'} → {_pct(b.pass_rate)}", style=c("foreground", "bold"))
    if (a and a.mean_score is not None) or b.mean_score is not None:
        sa = "-" if a is None or a.mean_score is None else f"{a.mean_score:.2f}"
        sb = "-" if b.mean_score is None else f"{b.mean_score:.2f}"
        t.append("  ·  mean score ", style=c("muted"))
        t.append(f"{sa} → {sb}", style=c("foreground", "bold"))
    t.append("  ·  cost ", style=c("muted"))
    a_cost = fmt.usd(a.cost_usd, bool(a.unpriced_calls)) if a else "-"
    t.append(f"{a_cost} → {fmt.usd(b.cost_usd, bool(b.unpriced_calls))}", style=c("foreground"))
    priced = a is not None and not a.unpriced_calls and not b.unpriced_calls
    if s.cost_delta_usd is not None and priced:
        t.append(f" ({_signed_usd(s.cost_delta_usd)})", style=c("foreground"))
    if b.unpriced_calls:
        t.append(f" ({b.unpriced_calls} B calls without a price)", style=c("muted"))
    t.append("  ·  latency ", style=c("muted"))
    t.append(f"{fmt.duration_ms(a.mean_latency_ms) if a else '-'} → {fmt.duration_ms(b.mean_latency_ms)}",
             style=c("foreground"))
    if s.latency_delta_ms is not None:
        t.append(f" ({_signed_ms(s.latency_delta_ms)})", style=c("foreground"))
    t.append("\n")
    t.append(f"{s.regressions} regressions", style=c("error", "bold") if s.regressions else c("muted"))
    t.append(f" · {s.improvements} improved", style=c("success") if s.improvements else c("muted"))
    errors = (a.errors if a else 0) + b.errors
    t.append(f" · {errors} errors", style=c("warning", "bold") if errors else c("muted"))
    if s.judge_cost_usd:
        t.append(f" · judge {fmt.usd(s.judge_cost_usd)}", style=c("muted"))
    t.append(f" · {s.done}/{s.rows} rows done", style=c("muted"))
    if cancelled or s.cancelled:
        t.append(f" · cancelled ({s.cancelled} not run)", style=c("warning", "bold"))
    return t


def _spanned(cell: Any) -> Any:
    """The line-API table renders a Text's spans, not its base style: make the style a span."""
    if isinstance(cell, Text) and cell.style:
        out = Text(justify=cell.justify)
        out.append_text(cell)
        return out
    return cell


class BatchTable(VirtualTable):
    """One row per replayed trace; a finished row is rendered once (line API), so a
    batch of hundreds of rows costs a few lines of drawing per update."""

    KEY = "key"
    COLUMNS = COLUMNS
    FLEX = "note"

    def cells(self, row: dict[str, Any]) -> list[Text | str]:
        done = row.get("row")
        if done is None:
            pending = Text("…", style=self.palette("muted"))
            cells: list[Any] = [str(row["index"] + 1), Text(clean(row["id"], 40, one_line=True)), pending, pending,
                                "", "", "", "", "", ""]
        else:
            cells = row_cells(done, self.palette, row.get("similarity"))
        return [_spanned(c) for c in cells]

    def start(self, ids: list[str]) -> None:
        self.replace([{"key": str(i), "index": i, "id": rid, "row": None} for i, rid in enumerate(ids)])

    def show(self, row: Any, similarity: float | None = None) -> None:
        key = str(row.index)
        if key in self.rows_by_id:
            self.update_row({**self.rows_by_id[key], "row": row, "similarity": similarity})

    def note(self, index: int) -> str:
        return self.get_cell(str(index), "note").plain


class BatchView(Vertical):
    def compose(self) -> ComposeResult:
        with Horizontal(classes="batch-row"):
            yield Label("from", classes="batch-label")
            yield Select(SOURCES, value="filter", allow_blank=False, id="batch-source", compact=True)
            yield Input(placeholder="traces filter, e.g. prompt:support-answer since:7d (blank: newest traces)",
                        id="batch-query", compact=True)
            yield Label("traces", classes="batch-label")
            yield Input("50", id="batch-limit", compact=True, classes="batch-number", restrict=r"\d*")
        with Horizontal(classes="batch-row"):
            yield Label("concurrency", classes="batch-label")
            yield Input("4", id="batch-concurrency", compact=True, classes="batch-number", restrict=r"\d*")
            yield Label("judge", classes="batch-label")
            yield Input(placeholder="judge model (optional), e.g. openai/gpt-4o-mini", id="batch-judge", compact=True)
            yield Button("Estimate & run", id="batch-run", compact=True, variant="primary")
            yield Button("Cancel", id="batch-cancel", compact=True, disabled=True)
        yield Static("", id="batch-variants")
        with Horizontal(id="batch-progress-row"):
            yield ProgressBar(id="batch-progress", show_eta=False)
            yield Static("", id="batch-progress-text")
        yield BatchTable(id="batch-table")
        yield Static("", id="batch-summary")

    def value(self, wid: str) -> str:
        widget = self.query_one(f"#{wid}")
        if isinstance(widget, Select):
            return str(widget.value)
        return widget.value.strip() if isinstance(widget, Input) else ""

    @property
    def table(self) -> BatchTable:
        return self.query_one(BatchTable)

    def start(self, ids: list[str]) -> None:
        self.table.start(ids)
        self.query_one(ProgressBar).update(total=max(len(ids), 1), progress=0)
        self.query_one("#batch-summary", Static).update("")
        self.set_running(True)

    def set_running(self, running: bool) -> None:
        self.query_one("#batch-run", Button).disabled = running
        self.query_one("#batch-cancel", Button).disabled = not running

    def show_row(self, row: Any, similarity: float | None = None) -> None:
        self.table.show(row, similarity)

    def show_progress(self, done: int, total: int, errors: int, spent_usd: float, note: str = "",
                      unpriced: bool = False) -> None:
        self.query_one(ProgressBar).update(total=max(total, 1), progress=done)
        c = Palette.of(self.app)
        t = Text(f"{done}/{total} rows", style=c("foreground"))
        t.append(f" · {errors} with errors" if errors else "", style=c("warning"))
        t.append(f" · spent {fmt.usd(spent_usd, unpriced)}", style=c("muted"))
        if note:
            t.append(f" · {note}", style=c("muted"))
        self.query_one("#batch-progress-text", Static).update(t, layout=False)

    def show_summary(self, summary: Any, cancelled: bool) -> None:
        self.query_one("#batch-summary", Static).update(summary_text(summary, Palette.of(self.app), cancelled))
