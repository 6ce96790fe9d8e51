"""The explorer's chart: spend per bucket, stacked by the most expensive groups, with
the total's trend as a line; a cursor picks a bar (and a segment) to drill into.

Drawn with plotext through textual-plotext. The data is prepared once per report
(``ChartData.of``), so moving the cursor redraws without touching the report again.
A new report's first frame is built by the worker that asked for it (``prebuild``,
on a plotext figure of its own) and shown as it is when nothing changed meanwhile:
plotext takes 30 to 100 ms for a stacked chart, too long for the UI thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
from rich.text import Text
from textual.app import RenderResult
from textual.binding import Binding
from textual.color import Color
from textual.message import Message
from textual_plotext import PlotextPlot
from textual_plotext.plot import Plot

from console import format as fmt
from console.text import clean
from store.query.costs import BUCKETS, CostReport, floor_bucket

SERIES_COLOURS = ("chart-1", "chart-2", "chart-3", "chart-4", "chart-5", "chart-6")
TOP = len(SERIES_COLOURS)  # groups drawn on their own; the rest stack as "other"
TREND_BUCKETS = 3  # the trend line is this many buckets' moving average


def group_label(values: tuple[Any, ...], limit: int = 60) -> str:
    """Group values for people: untrusted text made safe, cut to ``limit`` with an ellipsis."""
    parts = []
    for v in values:
        text = "(none)" if v is None else clean(v, 1000, one_line=True)
        parts.append(text if len(text) <= limit else text[: limit - 1] + "…")
    return " · ".join(parts) or "total"


@dataclass(frozen=True)
class ChartData:
    buckets: list[datetime]  # every bucket of the range (UTC, as the explorer buckets), empty ones included
    labels: list[str]  # the series, most expensive first; "other" last when there is one
    keys: list[tuple[Any, ...] | None]  # each series' group values (None for "other")
    values: list[list[float]]  # per series, per bucket: known cost
    totals: list[float]
    trend: list[float]
    unknown_calls: int
    bucket: str

    @classmethod
    def of(cls, report: CostReport) -> ChartData:
        q = report.query
        size = BUCKETS[q.bucket]
        first = floor_bucket(q.since_us, q.bucket)
        starts = list(range(first, q.until_us, size))
        buckets = [datetime.fromtimestamp(us / 1e6, UTC) for us in starts]
        index = {us: i for i, us in enumerate(starts)}
        names = report.columns
        top = [tuple(r) for r in report.top_groups(TOP).select(names).iter_rows()] if names else [()]
        rest = report.group_frame.height > TOP if names else False
        series: dict[tuple[Any, ...] | None, list[float]] = {k: [0.0] * len(starts) for k in top}
        if rest:
            series[None] = [0.0] * len(starts)
        for i, us, cost in _per_series(report.rows, names, top, rest).iter_rows():
            at = index.get(us)
            if at is not None:
                series[top[i] if i < len(top) else None][at] += cost
        keys = list(series)
        values = [series[k] for k in keys]
        totals = [sum(col) for col in zip(*values)] if values else []
        trend = [sum(totals[max(0, i - TREND_BUCKETS + 1): i + 1]) / min(i + 1, TREND_BUCKETS)
                 for i in range(len(totals))]
        labels = ["other" if k is None else group_label(k, 28) for k in keys]
        return cls(buckets, labels, keys, values, totals, trend,
                   int(report.totals.get("unknown_calls") or 0), q.bucket)

    def bucket_label(self, i: int) -> str:
        b = self.buckets[i]
        if self.bucket == "hour":
            return b.strftime("%m-%d %H:00")
        if self.bucket == "week":
            return "week of " + b.strftime("%Y-%m-%d")
        return b.strftime("%a %Y-%m-%d")


@dataclass(frozen=True)
class PrebuiltChart:
    """A chart's frame built off the UI thread: ``text`` for ``data`` at ``key`` (width,
    height, plotext theme, cursor, segment)."""

    data: ChartData
    key: tuple[Any, ...]
    text: Text


class CostChart(PlotextPlot):
    """Focusable: ←/→ (h/l) pick a bucket, ↑/↓ (k/j) a segment of its bar, enter drills."""

    can_focus = True
    BINDINGS = [
        Binding("left,h", "move(-1)", "Earlier", show=False, id="costs.chart_left", tooltip="Previous bucket"),
        Binding("right,l", "move(1)", "Later", show=False, id="costs.chart_right", tooltip="Next bucket"),
        Binding("up,k", "segment(-1)", "Segment", show=False, id="costs.chart_up", tooltip="Segment above"),
        Binding("down,j", "segment(1)", "Segment", show=False, id="costs.chart_down", tooltip="Segment below"),
        Binding("enter", "drill", "Traces", id="costs.chart_drill", tooltip="Traces behind this bar or segment"),
    ]

    class Drill(Message):
        """Show the traces behind a bucket (and a group, when a segment is picked)."""

        def __init__(self, start: datetime, end: datetime, key: tuple[Any, ...] | None) -> None:
            super().__init__()
            self.start, self.end, self.key = start, end, key

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.data: ChartData | None = None
        self.cursor: int | None = None  # bucket index
        self.segment: int | None = None  # series index, None: the whole bar
        self._prebuilt: PrebuiltChart | None = None
        self._theme_name: str | None = None  # plotext's name for the app's theme, as last rendered

    def draw(self) -> None:
        self._plot_into(self.plt, self.data, self.cursor, self.segment)
        self.refresh()

    def prebuild(self, data: ChartData) -> PrebuiltChart | None:
        """The frame ``show(data)`` will draw, built on this thread with a figure of its
        own, for the size and theme the chart has now (None before its first render)."""
        if self._theme_name is None or not self.size.width or not self.size.height:
            return None
        # the cursor as ``show`` will leave it
        cursor = self.cursor if self.cursor is not None and self.cursor < len(data.buckets) else None
        segment = self.segment if self.segment is not None and self.segment < len(data.labels) else None
        key = (self.size.width, self.size.height, self._theme_name, cursor, segment)
        plot = Plot()
        self._plot_into(plot, data, cursor, segment)  # first: it clears the figure, size included
        plot.plotsize(*key[:2])
        plot._set_size(*key[:2])  # as PlotextPlot.render does
        plot.theme(self._theme_name)
        return PrebuiltChart(data, key, Text.from_ansi(plot.build()))

    def show(self, data: ChartData, prebuilt: PrebuiltChart | None = None) -> None:
        self._prebuilt = prebuilt if prebuilt is not None and prebuilt.data is data else None
        self.data = data
        if self.cursor is not None and self.cursor >= len(data.buckets):
            self.cursor = None
        if self.segment is not None and self.segment >= len(data.labels):
            self.segment = None
        self.draw()

    def render(self) -> RenderResult:
        self._theme_name = self._get_plotext_theme_name(self.app.theme)
        pre = self._prebuilt
        if pre is not None and pre.data is self.data and pre.key == (
                self.size.width, self.size.height, self._theme_name, self.cursor, self.segment):
            return pre.text
        self._prebuilt = None  # something changed: built here from now on
        return super().render()

    def _plot_into(self, plt: Plot, data: ChartData | None, cursor: int | None, segment: int | None) -> None:
        plt.clear_data()
        plt.clear_figure()
        if data is None or not data.buckets:
            plt.title("no data yet")
            return
        xs = list(range(len(data.buckets)))
        if not any(data.totals):
            plt.title("no known spend in this range" + self._unknown_note(data))
            plt.ylim(0, 1)
        else:
            colours = [self._rgb(SERIES_COLOURS[i]) if k is not None else self._rgb("muted")
                       for i, k in enumerate(data.keys)]
            if len(xs) > 1:  # first, so that the bars cover it: the line shows above and between them
                plt.plot(xs, data.trend, color=self._rgb("foreground"), marker="braille",
                         label=f"trend ({TREND_BUCKETS}-{data.bucket} avg)")
            plt.stacked_bar(xs, data.values, labels=data.labels, color=colours, width=0.8)
            plt.title(self._title(data, cursor, segment))
        step = max(1, len(xs) // 8)
        ticks = xs[::step]
        plt.xticks(ticks, [self._tick(data, i) for i in ticks])
        if cursor is not None:
            plt.vline(cursor, self._rgb("accent"))

    def _title(self, data: ChartData, cursor: int | None, segment: int | None) -> str:
        if cursor is None:
            return "spend per " + data.bucket + " (←/→ pick a bar, enter: its traces)" + self._unknown_note(data)
        if segment is None:
            return f"▸ {data.bucket_label(cursor)}: {fmt.usd(data.totals[cursor])} (↑/↓ pick a group)"
        return (f"▸ {data.bucket_label(cursor)} · {data.labels[segment]}: "
                f"{fmt.usd(data.values[segment][cursor])} of {fmt.usd(data.totals[cursor])}")

    @staticmethod
    def _unknown_note(data: ChartData) -> str:
        return f" · {data.unknown_calls:,} calls of unknown cost not drawn" if data.unknown_calls else ""

    @staticmethod
    def _tick(data: ChartData, i: int) -> str:
        b = data.buckets[i]
        return b.strftime("%H:00") if data.bucket == "hour" else b.strftime("%m-%d")

    def _rgb(self, name: str) -> tuple[int, int, int]:
        try:
            return Color.parse(self.app.theme_variables.get(name, "#888888")).rgb
        except Exception:  # noqa: BLE001 - a user theme with a bad colour still draws
            return (136, 136, 136)

    # -- cursor -------------------------------------------------------------------------------
    def action_move(self, step: int) -> None:
        if not self.data or not self.data.buckets:
            return
        last = len(self.data.buckets) - 1
        self.cursor = last if self.cursor is None else max(0, min(last, self.cursor + step))
        self.draw()

    def action_segment(self, step: int) -> None:
        if not self.data or self.cursor is None or not self.data.labels:
            return
        n = len(self.data.labels)
        if self.segment is None:
            self.segment = 0 if step > 0 else n - 1
        else:
            nxt = self.segment + step
            self.segment = None if nxt < 0 or nxt >= n else nxt
        self.draw()

    def action_drill(self) -> None:
        if not self.data or self.cursor is None:
            return
        start = self.data.buckets[self.cursor]
        size = timedelta(microseconds=BUCKETS[self.data.bucket])
        key = self.data.keys[self.segment] if self.segment is not None else None
        self.post_message(self.Drill(start, start + size, key))

    def on_blur(self) -> None:
        self.refresh()


def _per_series(rows: pl.DataFrame, names: list[str], top: list[tuple[Any, ...]], rest: bool) -> pl.DataFrame:
    """(series, bucket µs, known cost): each top group's index in ``top``, the rest summed
    under ``len(top)`` when ``rest`` (else left out). Polars does the summing: a session
    group-by has 200,000 rows, too many to walk in Python."""
    frame = rows.select(pl.col("bucket_start").dt.epoch("us").alias("_us"), *names,
                        pl.col("cost_usd").fill_null(0.0))
    if names:
        index = pl.DataFrame([pl.Series(n, [k[j] for k in top], frame.schema[n]) for j, n in enumerate(names)]
                             ).with_row_index("_series")
        frame = frame.join(index, on=names, how="left", nulls_equal=True)
        frame = frame.with_columns(pl.col("_series").fill_null(len(top))) if rest else \
            frame.filter(pl.col("_series").is_not_null())
    else:
        frame = frame.with_columns(pl.lit(0, pl.UInt32).alias("_series"))
    return frame.group_by("_series", "_us").agg(pl.col("cost_usd").sum()).select("_series", "_us", "cost_usd")
