"""The health pane's history charts (plotext through textual-plotext), drawn from
stored samples: one line per endpoint or GPU, x in minutes (or hours) before now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl
from textual.app import ComposeResult
from textual.color import Color
from textual.containers import Grid
from textual_plotext import PlotextPlot

from console.services.health import HealthHistory


@dataclass(frozen=True)
class ChartSpec:
    chart_id: str
    title: str
    source: str  # endpoints or gpus
    column: str
    scale: float = 1.0  # multiply stored values (fractions -> %)


CHARTS: tuple[ChartSpec, ...] = (
    ChartSpec("kv", "KV cache %", "endpoints", "kv_cache_usage", 100.0),
    ChartSpec("waiting", "waiting requests", "endpoints", "waiting"),
    ChartSpec("gen", "generation tokens/s", "endpoints", "generation_tokens_per_s"),
    ChartSpec("ttft", "TTFT p99 (s), server", "endpoints", "ttft_p99"),
    ChartSpec("util", "GPU utilization %", "gpus", "util_percent"),
    ChartSpec("mem", "GPU memory %", "gpus", "mem_fraction", 100.0),
)
MAX_GPU_LINES = 4
PALETTE_VARS = ("chart-1", "chart-2", "chart-3", "chart-4", "chart-5", "chart-6")


def _rgb(app: Any, name: str) -> tuple[int, int, int]:
    try:
        return Color.parse(app.theme_variables.get(name, "#888888")).rgb
    except Exception:  # noqa: BLE001 - a user theme with a bad colour still draws
        return (136, 136, 136)


def _short(target: str) -> str:
    return target.removeprefix("vllm:").removeprefix("http://").removeprefix("https://")


class HistoryCharts(Grid):
    """Six charts in a grid; ``draw(history, now)`` replaces what they show."""

    def compose(self) -> ComposeResult:
        for spec in CHARTS:
            yield PlotextPlot(id=f"chart-{spec.chart_id}", classes="health-chart")

    def draw(self, history: HealthHistory | None, now: datetime) -> None:
        for spec in CHARTS:
            plot = self.query_one(f"#chart-{spec.chart_id}", PlotextPlot)
            self._draw_one(plot, spec, history, now)
            plot.refresh()

    def _draw_one(self, plot: PlotextPlot, spec: ChartSpec, history: HealthHistory | None, now: datetime) -> None:
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        span_s = (history.until - history.since).total_seconds() if history else 900.0
        unit, divisor = ("h", 3600.0) if span_s > 3 * 3600 else ("min", 60.0)
        plt.title(spec.title)
        plt.xlabel(f"{unit} ago")
        plt.xlim(-span_s / divisor, 0)
        lines = list(_lines(spec, history, now, divisor)) if history else []
        if not lines:
            plt.title(f"{spec.title}: no stored samples in this window")
            plt.ylim(0, 1)
            return
        top = 0.0
        for i, (label, segments) in enumerate(lines):
            color = _rgb(self.app, PALETTE_VARS[i % len(PALETTE_VARS)])
            for j, (xs, ys) in enumerate(segments):  # a gap (endpoint down, collector stopped) stays a gap
                plt.plot(xs, ys, label=label if j == 0 else None, color=color, marker="braille")
                top = max(top, *ys)
        if spec.column in ("kv_cache_usage", "util_percent", "mem_fraction"):
            plt.ylim(0, 100)
        else:  # from zero, and a flat line is not drawn across the frame
            plt.ylim(0, top * 1.15 if top > 0 else 1)


def _lines(spec: ChartSpec, history: HealthHistory, now: datetime, divisor: float):
    """(label, segments of (xs, ys)) per line. More than ``MAX_GPU_LINES`` GPUs are
    drawn as their mean, min and max."""
    if spec.source == "endpoints":
        frames = [(_short(t), f.select("time", spec.column)) for t, f in history.endpoints.items()]
    else:
        gpus = history.gpus
        if gpus.is_empty():
            return
        targets = sorted(gpus["target"].unique().to_list(), key=_gpu_key)
        if len(targets) <= MAX_GPU_LINES:
            frames = [(t, gpus.filter(pl.col("target") == t).select("time", spec.column)) for t in targets]
        else:
            by_time = gpus.group_by("time").agg(
                pl.col(spec.column).mean().alias("mean"), pl.col(spec.column).min().alias("min"),
                pl.col(spec.column).max().alias("max"))
            frames = [(f"{name} of {len(targets)}", by_time.select("time", pl.col(name).alias(spec.column)))
                      for name in ("max", "mean", "min")]
    for label, frame in frames:
        rows = frame.drop_nulls().sort("time")
        if rows.is_empty():
            continue
        times = rows["time"].to_list()
        xs = [-(now - at).total_seconds() / divisor for at in times]
        ys = [v * spec.scale for v in rows[spec.column].to_list()]
        yield label, _split_at_gaps(times, xs, ys)


def _split_at_gaps(times: list[datetime], xs: list[float], ys: list[float]) -> list[tuple[list[float], list[float]]]:
    """Runs of points without a gap wider than 3x the usual step between them."""
    steps = sorted((b - a).total_seconds() for a, b in zip(times, times[1:]))
    if not steps:
        return [(xs, ys)]
    limit = 3 * steps[len(steps) // 2]
    segments, start = [], 0
    for i in range(1, len(times)):
        if (times[i] - times[i - 1]).total_seconds() > limit:
            segments.append((xs[start:i], ys[start:i]))
            start = i
    segments.append((xs[start:], ys[start:]))
    return segments


def _gpu_key(target: str) -> tuple[str, int]:
    head, _, index = target.rpartition(":")
    return (head, int(index)) if index.isdigit() else (target, -1)


