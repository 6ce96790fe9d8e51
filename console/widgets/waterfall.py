"""The span tree with a timeline bar per span (a waterfall).

Drawn line by line (Textual's line API), so only the rows on screen are rendered:
traces of 20,000 spans and trees 500 levels deep scroll as fast as small ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from console import format as fmt
from console.palette import Palette
from console.text import clean
from store.query.heuristics import depths

GLYPH = {"llm": "◆", "tool": "⚙", "retriever": "⌕", "agent": "◎", "chain": "○", "embedding": "≡",
         "guardrail": "⛨", "reranker": "⇅", "evaluator": "✓", "prompt": "¶"}
MAX_INDENT = 24  # deeper levels are shown as a number, not as ever more indentation


@dataclass
class Node:
    index: int  # into spans
    depth: int
    children: list[int]


class SpanWaterfall(ScrollView, can_focus=True):
    BINDINGS = [
        Binding("down,j", "move(1)", "Down", show=False, id="trace.span_down", tooltip="Next span"),
        Binding("up,k", "move(-1)", "Up", show=False, id="trace.span_up", tooltip="Previous span"),
        Binding("pagedown", "move(20)", show=False, id="trace.span_pgdn"),
        Binding("pageup", "move(-20)", show=False, id="trace.span_pgup"),
        Binding("home,g", "first", show=False, id="trace.span_first", tooltip="First span"),
        Binding("end,G", "last", show=False, id="trace.span_last", tooltip="Last span"),
        Binding("enter,space", "toggle", "Fold", id="trace.fold", tooltip="Collapse or expand the span's children"),
        Binding("left,h", "collapse", show=False, id="trace.collapse", tooltip="Collapse"),
        Binding("right,l", "expand", show=False, id="trace.expand", tooltip="Expand"),
    ]

    cursor = reactive(0)

    class Selected(Message):
        def __init__(self, span: dict[str, Any]):
            super().__init__()
            self.span = span

    def __init__(self, **kw: Any):
        super().__init__(**kw)
        self.spans: list[dict[str, Any]] = []
        self.nodes: list[Node] = []
        self.roots: list[int] = []
        self.collapsed: set[int] = set()
        self.shown: list[int] = []
        self.t0 = 0.0
        self.t1 = 1.0
        self.palette = Palette({})
        self.highlight: str | None = None

    def on_mount(self) -> None:
        self.palette = Palette.of(self.app)
        self.watch(self.app, "theme", lambda _: self._repaint(), init=False)

    def _repaint(self) -> None:
        self.palette = Palette.of(self.app)
        self.refresh()

    def set_spans(self, spans: list[dict[str, Any]], highlight_span: str | None = None) -> None:
        self.spans = spans
        self.highlight = highlight_span
        index = {s["span_id"]: i for i, s in enumerate(spans)}
        d = depths(spans)
        self.nodes = [Node(i, d[i], []) for i in range(len(spans))]
        self.roots = []
        for i, s in enumerate(spans):
            p = index.get(s.get("parent_id")) if s.get("parent_id") else None
            if p is None or p == i or d[i] == 0:
                self.roots.append(i)
            else:
                self.nodes[p].children.append(i)
        starts = [_us(s.get("start_time")) for s in spans] or [0]
        ends = [_us(s.get("end_time")) for s in spans] or [1]
        self.t0, self.t1 = min(starts), max(max(ends), min(starts) + 1)
        self.collapsed.clear()
        self._rebuild()
        target = 0
        if highlight_span is not None and highlight_span in index:
            target = self.shown.index(index[highlight_span]) if index[highlight_span] in self.shown else 0
        self.cursor = target
        self.scroll_to_cursor()
        self._announce()

    def _rebuild(self) -> None:
        order: list[int] = []
        stack = list(reversed(self.roots))
        while stack:  # iterative pre-order: deep trees are fine
            i = stack.pop()
            order.append(i)
            if i not in self.collapsed:
                stack.extend(reversed(self.nodes[i].children))
        self.shown = order
        self.virtual_size = Size(self.size.width, len(order))
        self.refresh()

    # -- drawing -------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        row = self.scroll_offset.y + y
        width = self.size.width
        if row >= len(self.shown) or width <= 0:
            return Strip.blank(width, self.rich_style)
        i = self.shown[row]
        s, node = self.spans[i], self.nodes[i]
        c = self.palette
        selected = row == self.cursor
        base = self.rich_style + (Style(bgcolor=c("panel")) if selected else Style())
        if s.get("span_id") == self.highlight:
            base += Style(bgcolor=c("level-amber")) if not selected else Style()
        left_w = max(24, int(width * 0.55))
        dur_w = 8
        bar_w = max(4, width - left_w - dur_w - 1)
        depth = node.depth
        indent = "│" * min(depth, MAX_INDENT)
        more = f"{depth}›" if depth > MAX_INDENT else ""
        fold = ("▸" if i in self.collapsed else "▾") if node.children else "·"
        kind = s.get("kind") or "unknown"
        glyph = GLYPH.get(kind, "·")
        err = s.get("status") == "error"
        name = clean(s.get("name"), 300, one_line=True)
        label = f"{indent}{more}{fold} {glyph} "
        room = max(0, left_w - len(label))
        name = name[:room].ljust(room)
        segs = [
            Segment(label, base + Style(color=c("muted"))),
            Segment(name, base + Style(color=c("error") if err else c("foreground"), bold=selected)),
            Segment(fmt.duration_ms(s.get("duration_ms")).rjust(dur_w) + " ", base + Style(color=c("muted"))),
        ]
        span_us = self.t1 - self.t0
        a = int((_us(s.get("start_time")) - self.t0) / span_us * bar_w)
        b = int((_us(s.get("end_time")) - self.t0) / span_us * bar_w)
        a = min(max(a, 0), bar_w - 1)
        b = min(max(b, a + 1), bar_w)
        colour = c("waterfall-error") if err else c(f"waterfall-{kind}" if kind in ("llm", "tool", "retriever", "agent")
                                                   else "waterfall-other")
        segs += [Segment(" " * a, base), Segment("█" * (b - a), base + Style(color=colour)),
                 Segment(" " * (bar_w - b), base)]
        return Strip(segs, width).crop(0, width)

    # -- navigation ----------------------------------------------------------------------
    def watch_cursor(self, old: int, new: int) -> None:
        self.refresh()

    def scroll_to_cursor(self) -> None:
        h = max(1, self.size.height)
        y = self.scroll_offset.y
        if self.cursor < y:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= y + h:
            self.scroll_to(y=self.cursor - h + 1, animate=False)

    def _announce(self) -> None:
        if self.shown:
            self.post_message(self.Selected(self.spans[self.shown[self.cursor]]))

    def action_move(self, delta: int) -> None:
        if not self.shown:
            return
        self.cursor = max(0, min(len(self.shown) - 1, self.cursor + delta))
        self.scroll_to_cursor()
        self._announce()

    def action_first(self) -> None:
        self.action_move(-len(self.shown))

    def action_last(self) -> None:
        self.action_move(len(self.shown))

    def _current(self) -> int | None:
        return self.shown[self.cursor] if self.shown else None

    def action_toggle(self) -> None:
        i = self._current()
        if i is not None and self.nodes[i].children:
            self.collapsed.symmetric_difference_update({i})
            self._rebuild()

    def action_collapse(self) -> None:
        i = self._current()
        if i is not None and self.nodes[i].children and i not in self.collapsed:
            self.collapsed.add(i)
            self._rebuild()

    def action_expand(self) -> None:
        i = self._current()
        if i is not None and i in self.collapsed:
            self.collapsed.discard(i)
            self._rebuild()

    def on_click(self, event: Any) -> None:
        row = self.scroll_offset.y + event.y
        if 0 <= row < len(self.shown):
            if row == self.cursor:
                self.action_toggle()
            self.cursor = row
            self._announce()

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.shown))


def _us(v: Any) -> float:
    if v is None:
        return 0.0
    if isinstance(v, (int, float)):
        return float(v)
    return v.timestamp() * 1e6
