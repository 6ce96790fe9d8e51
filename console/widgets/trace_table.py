"""The traces list: a DataTable fed page by page, merged in place when live rows arrive."""

from __future__ import annotations

from typing import Any

import polars as pl
from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from console import format as fmt
from console.palette import Palette
from console.text import clean

COLUMNS = (("time", 11), ("trace", 24), ("service", 14), ("models", 16), ("spans", 5), ("tokens", 6),
           ("cost", 9), ("latency", 7), ("status", 6), ("flags", 5))


def _models(models: list[str] | None) -> str:
    if not models:
        return "-"
    first = clean(models[0], 40, one_line=True)
    return first if len(models) == 1 else f"{first} +{len(models) - 1}"


def flags_of(row: dict[str, Any], c: Palette, marked: bool = False) -> Text:
    """● marked · E error · G guardrail hit · L runaway loop · $ over budget · D demo data."""
    t = Text()
    if marked:
        t.append("●", style=c("accent", "bold"))
    if row.get("error_count"):
        t.append("E", style=c("error", "bold"))
    if row.get("guardrail_hits"):
        t.append("G", style=c("warning", "bold"))
    if row.get("runaway"):
        t.append("L", style=c("error", "bold"))
    if row.get("over_budget"):
        t.append("$", style=c("warning", "bold"))
    if "demo" in (row.get("tags") or []):
        t.append("D", style=c("muted"))
    return t


def cells(row: dict[str, Any], c: Palette, marked: bool = False) -> list[Any]:
    name = row.get("root_name")
    errors = row.get("error_count") or 0
    return [
        fmt.when(row.get("start_time")),
        Text(clean(name, 200, one_line=True)) if name else Text("(root pending)", style=c("muted", "italic")),
        Text(clean(row.get("service"), 80, one_line=True)),
        Text(_models(row.get("models"))),
        Text(str(row.get("span_count") or 0), justify="right"),
        Text(fmt.tokens(row.get("total_tokens")), justify="right"),
        Text(fmt.usd(row.get("cost_usd"), bool(row.get("unpriced_llm_calls"))), justify="right"),
        Text(fmt.duration_ms(row.get("latency_ms")), justify="right"),
        Text(f"✗ {errors}", style=c("status-error")) if errors else Text("✓ ok", style=c("status-ok")),
        flags_of(row, c, marked),
    ]


class TraceTable(DataTable):
    """Rows are keyed by trace id; live merges keep the cursor on the same trace."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="traces.down", tooltip="Next trace"),
        Binding("k", "cursor_up", "Up", show=False, id="traces.up", tooltip="Previous trace"),
        Binding("g", "scroll_top", "Top", show=False, id="traces.top", tooltip="Newest trace"),
        Binding("G", "scroll_bottom", "Bottom", show=False, id="traces.bottom", tooltip="Oldest loaded trace"),
    ]

    class NearEnd(Message):
        """The cursor is close to the last loaded row: time to load the next page."""

    def __init__(self, **kw: Any):
        super().__init__(cursor_type="row", zebra_stripes=True, **kw)
        self.rows_by_id: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []
        self.marked: set[str] = set()
        self.palette = Palette({})

    def on_compose(self) -> None:
        self.palette = Palette.of(self.app)

    def on_mount(self) -> None:
        for label, width in COLUMNS:
            self.add_column(label, width=width, key=label)
        self.watch(self.app, "theme", self._recolour, init=False)

    def on_resize(self) -> None:
        """The trace-name column takes whatever width the others leave."""
        fixed = sum(w for label, w in COLUMNS if label != "trace") + 2 * self.cell_padding * len(COLUMNS)
        width = max(16, self.size.width - fixed - 2)
        col = self.columns.get("trace")  # type: ignore[call-overload]
        if col is not None and col.width != width:
            col.width = width
            self._clear_caches()
            self.refresh(layout=True)

    def _recolour(self, _theme: str) -> None:
        self.palette = Palette.of(self.app)
        rows = [self.rows_by_id[t] for t in self.order]
        cursor = self.cursor_row
        self.clear()
        self.rows_by_id.clear()
        self.order.clear()
        self._add(rows)
        if rows:
            self.move_cursor(row=min(cursor, len(rows) - 1), animate=False)

    def _add(self, rows: list[dict[str, Any]]) -> None:
        for r in rows:
            tid = r["trace_id"]
            self.rows_by_id[tid] = r
            self.order.append(tid)
            self.add_row(*cells(r, self.palette, tid in self.marked), key=tid)

    def replace(self, df: pl.DataFrame) -> None:
        self.clear()
        self.rows_by_id.clear()
        self.order.clear()
        self._add(df.to_dicts())

    def append(self, df: pl.DataFrame) -> None:
        self._add([r for r in df.to_dicts() if r["trace_id"] not in self.rows_by_id])

    def merge_newest(self, df: pl.DataFrame) -> int:
        """Newest page again: rebuild the top, keep the cursor on the same trace and the
        viewport where the user left it. Returns how many traces are new."""
        fresh = df.to_dicts()
        fresh_ids = [r["trace_id"] for r in fresh]
        new = [t for t in fresh_ids if t not in self.rows_by_id]
        changed = [r for r in fresh if self.rows_by_id.get(r["trace_id"]) != r]
        if not new and not changed:
            return 0
        keep = [self.rows_by_id[t] for t in self.order if t not in set(fresh_ids)]
        at_top = self.cursor_row <= 0 and self.scroll_y == 0
        current = self.order[self.cursor_row] if self.order and 0 <= self.cursor_row < len(self.order) else None
        scroll_y = self.scroll_y
        old_index = self.cursor_row
        with self.app.batch_update():
            self.clear()
            self.rows_by_id.clear()
            self.order.clear()
            self._add(fresh + keep)
            if current is not None and not at_top and current in self.rows_by_id:
                idx = self.order.index(current)
                self.move_cursor(row=idx, animate=False, scroll=False)
                self.scroll_to(y=scroll_y + (idx - old_index), animate=False)
        return len(new)

    def toggle_mark(self) -> str | None:
        tid = self.current_id
        if tid is None:
            return None
        self.marked.symmetric_difference_update({tid})
        self.update_cell(tid, "flags", flags_of(self.rows_by_id[tid], self.palette, tid in self.marked))
        return tid

    @property
    def current_id(self) -> str | None:
        if not self.order or not 0 <= self.cursor_row < len(self.order):
            return None
        return self.order[self.cursor_row]

    @property
    def current(self) -> dict[str, Any] | None:
        tid = self.current_id
        return self.rows_by_id.get(tid) if tid else None

    def watch_cursor_coordinate(self, old: Any, new: Any) -> None:
        super().watch_cursor_coordinate(old, new)
        if self.row_count and new.row >= self.row_count - 20:
            self.post_message(self.NearEnd())
