"""Events by detector: how many, how many people marked false positive (and the
rate), and a sparkline of the counts over the chart's window."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from console import format as fmt
from console.palette import Palette
from console.text import clean
from console.widgets.guardrail_log import CATEGORY_COLOUR

BARS = "▂▃▄▅▆▇█"
COLUMNS = (("detector", 18), ("category", 9), ("events", 6), ("FP", 4), ("FP rate", 7), ("last", 11), ("chart", 48))


def sparkline(values: Sequence[int], width: int) -> tuple[str, list[bool]]:
    """One character per bucket (adjacent buckets summed when there are more than
    ``width``); zero is a flat baseline, so a quiet detector still shows its window.
    Returns the characters and, per character, whether it stands for any event."""
    if not values:
        return "", []
    group = max(1, -(-len(values) // max(1, width)))
    sums = [sum(values[i : i + group]) for i in range(0, len(values), group)]
    peak = max(sums)
    chars, hot = [], []
    for v in sums:
        if v <= 0:
            chars.append("▁")
            hot.append(False)
        else:
            chars.append(BARS[min(len(BARS) - 1, (v * len(BARS) - 1) // peak)])
            hot.append(True)
    return "".join(chars), hot


def spark_text(values: Sequence[int], width: int, colour: str, c: Palette) -> Text:
    chars, hot = sparkline(values, width)
    t = Text()
    for ch, on in zip(chars, hot):
        t.append(ch, style=c(colour) if on else c("muted"))
    return t


def bucket_label(bucket_us: int) -> str:
    s = bucket_us // 1_000_000
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size and s % size == 0:
            return f"{s // size}{unit}"
    return f"{s}s"


def rate_text(events: int, fps: int, c: Palette) -> Text:
    if not events:
        return Text("-", justify="right", style=c("muted"))
    rate = fps / events
    style = c("muted") if not fps else c("level-red") if rate >= 0.25 else c("level-amber") if rate >= 0.1 else ""
    return Text(f"{rate:.0%}" if rate >= 0.1 or rate == 0 else f"{rate:.1%}", justify="right", style=style)


class DetectorTable(DataTable):
    """Rows keyed by detector name; ``enter`` on a row filters the log to it."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="detectors.down", tooltip="Next detector"),
        Binding("k", "cursor_up", "Up", show=False, id="detectors.up", tooltip="Previous detector"),
    ]

    def __init__(self, **kw: Any):
        super().__init__(cursor_type="row", zebra_stripes=False, **kw)
        self.palette = Palette({})
        self.stats: list[dict[str, Any]] = []
        self.counts: dict[str, list[int]] = {}
        self.now: datetime | None = None

    def on_compose(self) -> None:
        self.palette = Palette.of(self.app)

    def on_mount(self) -> None:
        for label, width in COLUMNS:
            self.add_column(label, width=width, key=label)
        self.watch(self.app, "theme", self._recolour, init=False)

    def _recolour(self, _theme: str) -> None:
        self.palette = Palette.of(self.app)
        self.show(self.stats, self.counts, None)

    def show(self, rows: list[dict[str, Any]], counts: dict[str, list[int]], chart_label: str | None) -> None:
        """Redraw every row, keeping the cursor on the same detector."""
        self.stats, self.counts = rows, counts
        if chart_label is not None:
            self.columns["chart"].label = Text(chart_label)  # type: ignore[index]
        current = self.current
        c = self.palette
        width = COLUMNS[-1][1]
        with self.app.batch_update():
            self.clear()
            for r in rows:
                name = r["detector"]
                colour = CATEGORY_COLOUR.get(r.get("category") or "", "foreground")
                self.add_row(
                    Text(clean(name, 120, one_line=True)),
                    Text(clean(r.get("category"), 40, one_line=True), style=c(colour)),
                    Text(f"{r['events']:,}", justify="right"),
                    Text(f"{r['false_positives']:,}" if r["false_positives"] else "-", justify="right",
                         style=c("accent") if r["false_positives"] else c("muted")),
                    rate_text(r["events"], r["false_positives"], c),
                    Text(fmt.when(r.get("last_time"), self.now)),
                    spark_text(counts.get(name, []), width, colour, c),
                    key=name,
                )
            names = [r["detector"] for r in rows]
            if current in names:
                self.move_cursor(row=names.index(current), animate=False)

    @property
    def current(self) -> str | None:
        if not self.stats or not 0 <= self.cursor_row < len(self.stats):
            return None
        return self.stats[self.cursor_row]["detector"]
