"""A table drawn line by line (Textual's line API), for lists that grow while people
read them: only the rows on screen are rendered, and each row's cells are rendered
once and cached, so paging in hundreds of rows or scrolling costs microseconds per
line. Rows are keyed by one id column; live merges keep the cursor on the same row
and the viewport where the reader left it.

Subclasses set ``KEY`` (the id column), ``COLUMNS`` ((label, width) pairs, or
(label, width, justify) triples; the ``FLEX`` column takes the width the others
leave) and ``cells(row)`` (one ``rich.text.Text`` or ``str`` per column, colours from
``self.palette``; a right-justified ``Text`` is drawn right-aligned).
"""

from __future__ import annotations

from typing import Any, Sequence

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from console.palette import Palette

GAP = 2  # spaces between columns
NEAR_END = 20  # rows from the end at which the next page is asked for
STRIP_CACHE = 512  # lines kept: a few screens, so scrolling back and forth reuses them


_STYLES: dict[str, Style] = {}


def _style(spec: str | Style | None) -> Style | None:
    if not spec:
        return None
    if isinstance(spec, Style):
        return spec
    st = _STYLES.get(spec)
    if st is None:
        st = _STYLES[spec] = Style.parse(spec)
    return st


def _fit(plain: str, width: int, right: bool) -> str:
    """``plain`` cut (with an ellipsis) or padded to exactly ``width`` cells."""
    n = cell_len(plain)
    if n > width:
        return set_cell_size(plain, width - 1) + "…" if width > 1 else set_cell_size(plain, width)
    pad = " " * (width - n)
    return pad + plain if right else plain + pad


def _cell_segments(cell: Text | str, width: int, right: bool, console: Any) -> list[Segment]:
    # Plain and single-style cells (nearly all of them) skip Rich's renderer.
    if isinstance(cell, str):
        return [Segment(_fit(cell, width, right))]
    right = right or cell.justify == "right"
    if not cell.spans:
        return [Segment(_fit(cell.plain, width, right), _style(cell.style))]
    text = cell.copy()
    text.no_wrap = True
    text.truncate(width, overflow="ellipsis")
    text.align("right" if right else "left", width)
    return list(text.render(console))


class VirtualTable(ScrollView, can_focus=True):
    KEY = "id"
    COLUMNS: Sequence[tuple[str, int, str]] = ()
    FLEX = ""
    BINDINGS = [
        Binding("down,j", "move(1)", "Down", show=False, id="table.down", tooltip="Next row"),
        Binding("up,k", "move(-1)", "Up", show=False, id="table.up", tooltip="Previous row"),
        Binding("pagedown", "page(1)", show=False, id="table.page_down", tooltip="One screen down"),
        Binding("pageup", "page(-1)", show=False, id="table.page_up", tooltip="One screen up"),
        Binding("home,g", "first", "Top", show=False, id="table.top", tooltip="Newest row"),
        Binding("end,G", "last", "Bottom", show=False, id="table.bottom", tooltip="Oldest loaded row"),
        Binding("enter", "select", "Open", show=False, id="table.select", tooltip="Open the row"),
    ]

    cursor_row: reactive[int] = reactive(0, always_update=True)

    class NearEnd(Message):
        """The cursor is close to the last loaded row: time to load the next page."""

    class _RowMessage(Message):
        def __init__(self, table: "VirtualTable", key: str | None):
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> "VirtualTable":
            return self.table

    class RowHighlighted(_RowMessage):
        """The cursor moved to another row."""

    class RowSelected(_RowMessage):
        """Enter or a click on a row."""

        @property
        def data_table(self) -> "VirtualTable":
            return self.table

    zebra_stripes = True

    def __init__(self, **kw: Any):
        super().__init__(**kw)
        self.rows_by_id: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []
        self.marked: set[str] = set()
        self.palette = Palette({})
        self._columns: list[tuple[str, int, str]] = [(c[0], c[1], c[2] if len(c) > 2 else "left")
                                                      for c in self.COLUMNS]
        self._widths: list[int] = [w for _, w, _ in self._columns]
        self.labels: dict[str, str] = {}  # header text per column, when it differs from the column's name
        self._cache: dict[str, list[Segment]] = {}
        # finished lines of rows not under the cursor, valid while their cells' segments
        # are the same list (a changed row gets a new one): a repaint restyles nothing
        self._strips: dict[tuple[str, bool, int, Style], tuple[list[Segment], Strip]] = {}

    # -- for subclasses --------------------------------------------------------------------
    def cells(self, row: dict[str, Any]) -> list[Text | str]:
        raise NotImplementedError

    # -- data ------------------------------------------------------------------------------
    @property
    def row_count(self) -> int:
        return len(self.order)

    def _set_size(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.order) + 1)  # +1: the header line

    def _add(self, rows: list[dict[str, Any]]) -> None:
        for r in rows:
            key = r[self.KEY]
            if key in self.rows_by_id:
                continue
            self.rows_by_id[key] = r
            self.order.append(key)

    def replace(self, rows: list[dict[str, Any]], keep_cursor: bool = False) -> None:
        """All rows anew. ``keep_cursor`` keeps the cursor on the same row (or index) and
        the viewport where it was."""
        current, index, scroll_y = self.current_id, self.cursor_row, self.scroll_offset.y
        self.rows_by_id.clear()
        self.order.clear()
        self._cache.clear()
        self._add(rows)
        self._set_size()
        if keep_cursor and self.order:
            target = self.order.index(current) if current in self.rows_by_id else min(index, len(self.order) - 1)
            self.cursor_row = target
            self.scroll_to(y=max(0, scroll_y + target - index), animate=False)
        else:
            self.cursor_row = 0
            self.scroll_to(y=0, animate=False)
        self.refresh()

    def append(self, rows: list[dict[str, Any]]) -> None:
        self._add(rows)
        self._set_size()
        self.refresh()

    def merge_newest(self, fresh: list[dict[str, Any]], keep_older: bool = True) -> int:
        """The newest rows again: new ones go on top in ``fresh``'s order, changed ones
        are redrawn, and rows not in ``fresh`` stay below it (or, with
        ``keep_older=False``, when ``fresh`` is every row there should be, go). The
        cursor stays on the same row and the viewport shifts with it, unless the reader
        was at the very top, following. Returns how many rows are new, changed or gone."""
        changed = [r for r in fresh if self.rows_by_id.get(r[self.KEY]) != r]
        fresh_ids = [r[self.KEY] for r in fresh]
        seen = set(fresh_ids)
        gone = [] if keep_older else [k for k in self.order if k not in seen]
        if not changed and not gone:
            return 0
        for r in changed:
            self._cache.pop(r[self.KEY], None)
        current = self.current_id
        at_top = self.cursor_row == 0 and self.scroll_offset.y == 0
        old_index = self.cursor_row
        for k in gone:
            del self.rows_by_id[k]
            self._cache.pop(k, None)
        self.order = fresh_ids + ([k for k in self.order if k not in seen] if keep_older else [])
        for r in fresh:
            self.rows_by_id[r[self.KEY]] = r
        self._set_size()
        if current is not None and not at_top and current in self.rows_by_id:
            idx = self.order.index(current)
            shift = idx - old_index
            self.cursor_row = idx
            if shift:
                self.scroll_to(y=max(0, self.scroll_offset.y + shift), animate=False)
        elif self.order and self.cursor_row >= len(self.order):
            self.cursor_row = len(self.order) - 1
        self.refresh()
        return len(changed) + len(gone)

    def update_row(self, row: dict[str, Any]) -> None:
        key = row[self.KEY]
        if key in self.rows_by_id:
            self.rows_by_id[key] = row
            self._cache.pop(key, None)
            self.refresh()

    def toggle_mark(self) -> str | None:
        key = self.current_id
        if key is None:
            return None
        self.marked.symmetric_difference_update({key})
        self._cache.pop(key, None)
        self.refresh()
        return key

    @property
    def current_id(self) -> str | None:
        if not self.order or not 0 <= self.cursor_row < len(self.order):
            return None
        return self.order[self.cursor_row]

    @property
    def current(self) -> dict[str, Any] | None:
        key = self.current_id
        return self.rows_by_id.get(key) if key else None

    def get_cell(self, key: str, column: str) -> Text:
        labels = [label for label, _, _ in self._columns]
        cell = self.cells(self.rows_by_id[key])[labels.index(column)]
        return cell if isinstance(cell, Text) else Text(cell)

    def get_row_at(self, index: int) -> list[Text | str]:
        return self.cells(self.rows_by_id[self.order[index]])

    def set_label(self, column: str, text: str) -> None:
        self.labels[column] = text
        self.refresh()

    @property
    def flex_width(self) -> int:
        """The width the FLEX column gets: what the others leave (at least 12)."""
        labels = [label for label, _, _ in self._columns]
        return self._widths[labels.index(self.FLEX)] if self.FLEX in labels else 12

    # -- drawing ---------------------------------------------------------------------------
    def on_mount(self) -> None:
        self.palette = Palette.of(self.app)
        self.watch(self.app, "theme", self._recolour, init=False)

    def _recolour(self, _theme: str) -> None:
        self.palette = Palette.of(self.app)
        self._cache.clear()
        self.refresh()

    def on_resize(self) -> None:
        widths = [w for _, w, _ in self._columns]
        if self.FLEX:
            fixed = sum(w for (label, w, _) in self._columns if label != self.FLEX) + GAP * len(self._columns)
            flex = max(12, self.size.width - fixed - 1)
            widths = [flex if label == self.FLEX else w for (label, w, _) in self._columns]
        if widths != self._widths:
            self._widths = widths
            self._cache.clear()
        self._set_size()
        self.refresh()

    def _row_segments(self, key: str) -> list[Segment]:
        segs = self._cache.get(key)
        if segs is None:
            segs = []
            for (_, _, justify), width, cell in zip(self._columns, self._widths, self.cells(self.rows_by_id[key])):
                segs.extend(_cell_segments(cell, width, justify == "right", self.app.console))
                segs.append(Segment(" " * GAP))
            self._cache[key] = segs
        return segs

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        if y == 0:
            return self._header(width, base)
        row = self.scroll_offset.y + y - 1
        if row >= len(self.order) or width <= 0:
            return Strip.blank(width, base)
        key = self.order[row]
        c = self.palette
        if row == self.cursor_row:
            bg = Style(bgcolor=c("primary"), color=c("background"), bold=True) if self.has_focus \
                else Style(bgcolor=c("panel"))
            segs = [Segment(s.text, base + (s.style or Style()) + bg) for s in self._row_segments(key)]
            strip = Strip(segs).extend_cell_length(width, base + bg)
        else:
            striped = bool(row % 2 and self.zebra_stripes)
            row_segs = self._row_segments(key)
            cached = self._strips.get((key, striped, width, base))
            if cached is not None and cached[0] is row_segs:  # same cells, same look: reuse the line
                return cached[1]
            stripe = Style(bgcolor=c("surface")) if striped else Style()
            segs = [Segment(s.text, base + stripe + (s.style or Style())) for s in row_segs]
            strip = Strip(segs).extend_cell_length(width, base + stripe).crop(0, width)
            if len(self._strips) >= STRIP_CACHE:
                self._strips.clear()
            self._strips[(key, striped, width, base)] = (row_segs, strip)
            return strip
        return strip.crop(0, width)

    def _header(self, width: int, base: Style) -> Strip:
        c = self.palette
        style = base + Style(bgcolor=c("panel"), color=c("muted"), bold=True)
        parts = []
        for (label, _, justify), w in zip(self._columns, self._widths):
            t = self.labels.get(label, label)[:w]
            parts.append(t.rjust(w) if justify == "right" else t.ljust(w))
        return Strip([Segment((" " * GAP).join(parts), style)]).extend_cell_length(width, style).crop(0, width)

    # -- navigation ------------------------------------------------------------------------
    def watch_cursor_row(self, old: int, new: int) -> None:
        self.refresh()
        if new != old:
            self.post_message(self.RowHighlighted(self, self.current_id))
            if self.order and new >= len(self.order) - NEAR_END:
                self.post_message(self.NearEnd())

    def _scroll_to_cursor(self) -> None:
        h = max(1, self.size.height - 1)
        y = self.scroll_offset.y
        if self.cursor_row < y:
            self.scroll_to(y=self.cursor_row, animate=False)
        elif self.cursor_row >= y + h:
            self.scroll_to(y=self.cursor_row - h + 1, animate=False)

    def move_cursor(self, row: int, animate: bool = False, scroll: bool = True) -> None:
        if not self.order:
            return
        self.cursor_row = max(0, min(len(self.order) - 1, row))
        if scroll:
            self._scroll_to_cursor()

    def action_move(self, delta: int) -> None:
        self.move_cursor(self.cursor_row + delta)

    def action_page(self, direction: int) -> None:
        self.move_cursor(self.cursor_row + direction * max(1, self.size.height - 2))

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(len(self.order) - 1)

    def action_select(self) -> None:
        key = self.current_id
        if key is not None:
            self.post_message(self.RowSelected(self, key))

    def on_click(self, event: Any) -> None:
        if event.y == 0:
            return
        row = self.scroll_offset.y + event.y - 1
        if 0 <= row < len(self.order):
            if row == self.cursor_row and getattr(event, "chain", 1) >= 2:
                self.action_select()
            self.move_cursor(row)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
