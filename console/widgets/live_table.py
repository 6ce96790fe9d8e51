"""A DataTable of rows keyed by one id column, fed page by page and merged in place
when the newest page is loaded again (live), keeping the cursor on the same row."""

from __future__ import annotations

from typing import Any, Sequence

from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from console.palette import Palette


class LiveTable(DataTable):
    """Subclasses set ``KEY`` (the id column), ``COLUMNS`` ((label, width) pairs, the
    ``FLEX`` column takes the width the others leave) and ``cells(row)``."""

    KEY = "id"
    COLUMNS: Sequence[tuple[str, int]] = ()
    FLEX = ""
    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="live.down", tooltip="Next row"),
        Binding("k", "cursor_up", "Up", show=False, id="live.up", tooltip="Previous row"),
        Binding("g", "scroll_top", "Top", show=False, id="live.top", tooltip="Newest row"),
        Binding("G", "scroll_bottom", "Bottom", show=False, id="live.bottom", tooltip="Oldest loaded row"),
    ]

    class NearEnd(Message):
        """The cursor is close to the last loaded row: time to load the next page."""

    def __init__(self, **kw: Any):
        super().__init__(cursor_type="row", zebra_stripes=True, **kw)
        self.rows_by_id: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []
        self.palette = Palette({})

    def cells(self, row: dict[str, Any]) -> list[Any]:
        raise NotImplementedError

    def on_compose(self) -> None:
        self.palette = Palette.of(self.app)

    def on_mount(self) -> None:
        for label, width in self.COLUMNS:
            self.add_column(label, width=width, key=label)
        self.watch(self.app, "theme", self._recolour, init=False)

    @property
    def flex_width(self) -> int:
        """The width the FLEX column gets: what the others leave (at least 12)."""
        fixed = sum(w for label, w in self.COLUMNS if label != self.FLEX) + 2 * self.cell_padding * len(self.COLUMNS)
        return max(12, self.size.width - fixed - 2)

    def on_resize(self) -> None:
        if not self.FLEX:
            return
        col = self.columns.get(self.FLEX)  # type: ignore[call-overload]
        if col is not None and col.width != self.flex_width:
            col.width = self.flex_width
            self._clear_caches()
            self.refresh(layout=True)

    def _recolour(self, _theme: str) -> None:
        self.palette = Palette.of(self.app)
        self._rebuild([self.rows_by_id[k] for k in self.order], keep_cursor=True)

    def _rebuild(self, rows: list[dict[str, Any]], keep_cursor: bool) -> None:
        current, index, scroll_y = self.current_id, self.cursor_row, self.scroll_y
        with self.app.batch_update():
            self.clear()
            self.rows_by_id.clear()
            self.order.clear()
            self._add(rows)
            if keep_cursor and self.order:
                target = self.order.index(current) if current in self.rows_by_id else min(index, len(self.order) - 1)
                self.move_cursor(row=target, animate=False, scroll=False)
                self.scroll_to(y=scroll_y + (target - index), animate=False)

    def _add(self, rows: list[dict[str, Any]]) -> None:
        for r in rows:
            key = r[self.KEY]
            if key in self.rows_by_id:
                continue
            self.rows_by_id[key] = r
            self.order.append(key)
            self.add_row(*self.cells(r), key=key)

    def replace(self, rows: list[dict[str, Any]], keep_cursor: bool = False) -> None:
        self._rebuild(rows, keep_cursor)

    def append(self, rows: list[dict[str, Any]]) -> None:
        self._add(rows)

    def merge_newest(self, fresh: list[dict[str, Any]], keep_older: bool = True) -> int:
        """The newest rows again (a page, or all that is loaded): new rows take their place
        in ``fresh``'s order and changed rows are redrawn; rows not in ``fresh`` stay below
        it, or with ``keep_older=False`` (``fresh`` asked for every loaded row) go, so that
        the next page brings them back in order. The cursor stays on the same row (on the
        newest one when it was at the top). Returns how many rows changed, came or went."""
        changed = [r for r in fresh if self.rows_by_id.get(r[self.KEY]) != r]
        fresh_ids = {r[self.KEY] for r in fresh}
        gone = [] if keep_older else [k for k in self.order if k not in fresh_ids]
        new = [r for r in changed if r[self.KEY] not in self.rows_by_id]
        if not new and not gone:
            for r in changed:
                self.update_row(r)
            return len(changed)
        at_top = self.cursor_row <= 0 and self.scroll_y == 0
        rows = fresh + ([self.rows_by_id[k] for k in self.order if k not in fresh_ids] if keep_older else [])
        self._rebuild(rows, keep_cursor=not at_top)
        return len(changed) + len(gone)

    def update_row(self, row: dict[str, Any]) -> None:
        key = row[self.KEY]
        if key not in self.rows_by_id:
            return
        self.rows_by_id[key] = row
        for label, cell in zip((label for label, _ in self.COLUMNS), self.cells(row)):
            self.update_cell(key, label, cell)

    @property
    def current_id(self) -> str | None:
        if not self.order or not 0 <= self.cursor_row < len(self.order):
            return None
        return self.order[self.cursor_row]

    @property
    def current(self) -> dict[str, Any] | None:
        key = self.current_id
        return self.rows_by_id.get(key) if key else None

    def watch_cursor_coordinate(self, old: Any, new: Any) -> None:
        super().watch_cursor_coordinate(old, new)
        # add_row re-sets the cursor to itself after every row: only a real move counts
        if new != old and self.row_count and new.row >= self.row_count - 20:
            self.post_message(self.NearEnd())
