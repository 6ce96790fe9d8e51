"""Events by detector: how many, how many people marked false positive (and the
rate), and a sparkline of the counts over the chart's window."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Sequence

from rich.text import Text

from console.palette import Palette
from console.text import clean
from console.widgets.guardrail_log import CATEGORY_COLOUR
from console.widgets.virtual_table import VirtualTable

BARS = "▂▃▄▅▆▇█"


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
    t = Text(no_wrap=True)
    for ch, on in zip(chars, hot):
        t.append(ch, style=c(colour) if on else c("muted"))
    return t


def bucket_label(bucket_us: int) -> str:
    s = bucket_us // 1_000_000
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size and s % size == 0:
            return f"{s // size}{unit}"
    return f"{s}s"


def ago(ts: datetime | None, now: datetime | None = None) -> str:
    """How long since ``ts``, in one unit: 40s, 12m, 3h, 5d."""
    if ts is None:
        return "-"
    seconds = max(0.0, ((now or datetime.now(timezone.utc)) - ts).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size:.0f}{unit}"
    return f"{seconds:.0f}s"


def rate_text(events: int, fps: int, c: Palette) -> Text:
    if not events:
        return Text("-", justify="right", style=c("muted"))
    rate = fps / events
    style = c("muted") if not fps else c("level-red") if rate >= 0.25 else c("level-amber") if rate >= 0.1 else ""
    return Text(f"{rate:.0%}" if rate >= 0.1 or rate == 0 else f"{rate:.1%}", justify="right", style=style)


class DetectorTable(VirtualTable):
    """One row per detector, redrawn whole on every overview; ``enter`` on a row filters
    the log to that detector (the screen listens for RowSelected)."""

    KEY = "detector"
    zebra_stripes = False
    COLUMNS = (("detector", 25), ("category", 9), ("events", 6), ("FP", 4), ("FP%", 5), ("last", 5), ("chart", 20))
    FLEX = "chart"

    def __init__(self, **kw: Any):
        super().__init__(**kw)
        self.counts: dict[str, list[int]] = {}
        self.quiet: list[int] = []  # the window of a detector with no event in it: a flat baseline
        self.now: datetime | None = None

    @property
    def stats(self) -> list[dict[str, Any]]:
        return [self.rows_by_id[k] for k in self.order]

    def cells(self, row: dict[str, Any]) -> list[Any]:
        c = self.palette
        colour = CATEGORY_COLOUR.get(row.get("category") or "", "foreground")
        fps = row["false_positives"]
        return [
            Text(clean(row["detector"], 120, one_line=True)),
            Text(clean(row.get("category"), 40, one_line=True), style=c(colour)),
            Text(f"{row['events']:,}", justify="right"),
            Text(f"{fps:,}" if fps else "-", justify="right", style=c("accent") if fps else c("muted")),
            rate_text(row["events"], fps, c),
            Text(ago(row.get("last_time"), self.now), justify="right"),
            spark_text(self.counts.get(row["detector"], self.quiet), self.flex_width, colour, c),
        ]

    def show(self, rows: list[dict[str, Any]], counts: dict[str, list[int]], chart_label: str) -> None:
        """Redraw every row, keeping the cursor on the same detector."""
        self.counts = counts
        self.quiet = [0] * max((len(v) for v in counts.values()), default=0)
        self.set_label("chart", chart_label)
        self.replace(rows, keep_cursor=True)
