"""The health pane's cards: one per vLLM endpoint, one per GPU.

Cards only draw what they are given (a ``LiveView`` part, the sparkline series,
the traces' latency); they never sample or query. Every setter skips work when
its value has not changed, so a 1 Hz redraw of a dozen cards stays cheap.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Hashable, Mapping, Sequence, TypeVar

from rich.console import Group, RenderResult
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.renderables.digits import Digits as DigitsRenderable
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Static

from console.palette import Palette
from console.text import clean
from console.widgets.health_format import GIB, big, gib, level_style, millis, number, pct, per_s, seconds, window
from store.health.endpoint import EndpointState
from store.health.gpu import GpuDevice
from store.health.live import EndpointView, series_key
from store.health.rules import HealthThresholds
from store.health.vllm import EngineStats
from store.query.health import TraceLatency

STATE_MARK = {
    EndpointState.UP: ("●", "status-ok"),
    EndpointState.DOWN: ("○", "level-red"),
    EndpointState.WARMING: ("◐", "level-amber"),
    EndpointState.DRAINING: ("◑", "level-amber"),
}


class _Cached:
    """Remembers the last key each part was drawn from."""

    def part(self, selector: str, kind: type[W]) -> W:
        """``query_one``, remembered: the cards look their parts up every second."""
        parts: dict[str, Any] = self.__dict__.setdefault("_parts", {})
        found = parts.get(selector)
        if found is None:
            found = parts[selector] = self.query_one(selector, kind)  # type: ignore[attr-defined]
        return found

    def _slow_due(self, at: datetime) -> bool:
        last = self.__dict__.get("_slow_at")
        if last is not None and (at - last).total_seconds() < SLOW_SECONDS:
            return False
        self._slow_at = at
        return True

    def _changed(self, part: str, key: Hashable) -> bool:
        cache: dict[str, Hashable] = self.__dict__.setdefault("_drawn", {})
        if cache.get(part, _MISSING) == key:
            return False
        cache[part] = key
        return True


_MISSING = object()
W = TypeVar("W", bound=Widget)
SLOW_SECONDS = 5.0


def put(static: Static, text: Text) -> None:
    """Update a Static whose height is its line count: lay the screen out again only
    when that count changes (a full layout pass per card per second is what costs)."""
    lines = text.plain.count("\n") + 1
    static.update(text, layout=getattr(static, "_health_lines", None) != lines)
    static._health_lines = lines  # type: ignore[attr-defined]


class BigValue(Widget, _Cached):
    """A label over a large number (3x3 digits), coloured by its threshold level.

    Drawn as one renderable of fixed size, so a new value repaints this widget
    only and never re-lays out the screen (a ``Digits`` widget would, whenever
    the number of digits changes)."""

    def __init__(self, label: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.label = label
        self.value = "-"
        self.level: str | None = None

    def set(self, text: str, level: str | None = None) -> None:
        if not self._changed("value", (text, level)):
            return
        self.value, self.level = text, level
        self.refresh()

    def render(self) -> RenderResult:
        c = Palette.of(self.app)
        style = level_style(c, self.level)
        return Group(Text(self.label, style=c("muted"), no_wrap=True, overflow="ellipsis"),
                     DigitsRenderable(self.value, Style.parse(style)))


BARS = " ▁▂▃▄▅▆▇█"


def spark_text(values: Sequence[float], width: int, style: str) -> Text:
    """Bars of the newest values, one cell each (several per cell, their max, when
    there are more values than cells), scaled from their min to their max; a flat
    series is a flat middle line."""
    if width <= 0 or not values:
        return Text()
    per = max(1, -(-len(values) // width))  # ceil
    cells = [max(values[i:i + per]) for i in range(0, len(values), per)][-width:]
    lo, hi = min(cells), max(cells)
    if hi - lo <= 1e-12 * max(1.0, abs(hi)):
        return Text(BARS[4] * len(cells), style=style)
    return Text("".join(BARS[1 + round((v - lo) / (hi - lo) * 7)] for v in cells), style=style)


class Spark(Widget):
    """A one-line sparkline, drawn as one styled string (Textual's Sparkline blends a
    colour per bar, which costs more than the whole card at 1 Hz)."""

    values: Sequence[float] = ()

    def render(self) -> RenderResult:
        return spark_text(self.values, self.size.width, Palette.of(self.app)("chart-1"))


class SparkRow(Horizontal, _Cached):
    """A short label and a sparkline of recent values."""

    def __init__(self, label: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.label = label

    def compose(self) -> ComposeResult:
        yield Static(self.label, classes="spark-label")
        yield Spark(classes="spark")

    def set(self, values: Sequence[float]) -> None:
        # the newest point and the count identify the series well enough to skip equal redraws
        if not self._changed("data", (len(values), values[-1] if values else None, values[0] if values else None)):
            return
        spark = self.part("Spark", Spark)
        spark.values = values
        spark.refresh()


class EndpointCard(Vertical, _Cached):
    """A vLLM endpoint: state and error, big gauges, sparklines, server latency
    next to what our traces saw, rates, and its engines when there are several."""

    def __init__(self, target: str, **kw: Any) -> None:
        super().__init__(classes="health-card endpoint-card", **kw)
        self.target = target
        self.border_title = clean(target.removeprefix("vllm:"), 80, one_line=True)

    def compose(self) -> ComposeResult:
        yield Static("", classes="card-head")
        with Horizontal(classes="big-row"):
            yield BigValue("KV cache %", classes="big kv")
            yield BigValue("running", classes="big running")
            yield BigValue("waiting", classes="big waiting")
            yield BigValue("gen tok/s", classes="big gen")
        with Horizontal(classes="spark-row"):
            yield SparkRow("KV", classes="spark-cell kv")
            yield SparkRow("tok/s", classes="spark-cell gen")
        yield Static("", classes="card-latency")
        yield Static("", classes="card-rates")
        yield Static("", classes="card-engines")

    def show(self, view: EndpointView, series: Mapping[str, Sequence[float]], traces: TraceLatency | None,
             thresholds: HealthThresholds, palette: Palette, quantile_window: float) -> None:
        total = view.total
        self._head(view, palette)
        if self._changed("has_metrics", total is not None):
            for part in (".big-row", ".spark-row", ".card-latency"):
                self.part(part, Widget).display = total is not None
        kv = total.kv_cache_usage if total else None
        self.part(".big.kv", BigValue).set("-" if kv is None else f"{kv * 100:.0f}",
                                                thresholds.level("kv_cache_usage", kv))
        self.part(".big.running", BigValue).set(big(total.running if total else None))
        waiting = total.waiting if total else None
        self.part(".big.waiting", BigValue).set(big(waiting), thresholds.level("waiting", waiting))
        self.part(".big.gen", BigValue).set(big(total.generation_tokens_per_s if total else None))
        # The big numbers follow every sample; the rest (rates over a window, minutes-long
        # sparklines, p50/p90/p99) moves slowly: drawn every SLOW_SECONDS of samples, or when
        # the traces' side arrives. What a frame repaints is what a 1 Hz pane costs.
        complete = total is not None and total.window_s is not None and view.latency_window_s is not None
        if self._slow_due(view.time) or self._changed("traces", id(traces)) or self._changed("complete", complete):
            self._rates(total, thresholds, palette)
            self.part(".spark-cell.kv", SparkRow).set(series.get(series_key(view.target, "kv_cache_usage"), ()))
            self.part(".spark-cell.gen", SparkRow).set(
                series.get(series_key(view.target, "generation_tokens_per_s"), ()))
            self._latency(view, traces, thresholds, palette, quantile_window)
            self._engines(view.engines, thresholds, palette)

    def _head(self, view: EndpointView, c: Palette) -> None:
        key = (view.state, view.error, view.last_error, view.last_error_time, view.models, view.deprecated_names)
        if not self._changed("head", key):
            return
        mark, colour = STATE_MARK[view.state]
        t = Text()
        t.append(f"{mark} {view.state.value}", style=c(colour, "bold"))
        for model in view.models[:2]:
            t.append("  ")
            t.append(clean(model.id, 48, one_line=True), style=c("foreground"))
            if model.max_model_len:
                t.append(f" · {model.max_model_len:,} ctx", style=c("muted"))
        if len(view.models) > 2:
            t.append(f"  +{len(view.models) - 2} models", style=c("muted"))
        t.append("\n")
        if view.error:
            style = "level-red" if view.state is EndpointState.DOWN else "level-amber"
            t.append(f"⚠ {clean(view.error, 200, one_line=True)}", style=c(style))
        elif view.last_error and view.last_error_time:
            when = view.last_error_time.astimezone().strftime("%H:%M:%S")
            t.append(f"last error {when}: {clean(view.last_error, 160, one_line=True)}", style=c("muted"))
        elif view.deprecated_names:
            t.append(f"older vLLM metric names ({', '.join(n.removeprefix('vllm:') for n in view.deprecated_names[:2])})",
                     style=c("muted"))
        else:
            t.append("no errors", style=c("muted"))
        put(self.part(".card-head", Static), t)

    def _latency(self, view: EndpointView, traces: TraceLatency | None, th: HealthThresholds, c: Palette,
                 quantile_window: float) -> None:
        latency = view.total.latency if view.total else {}
        key = (tuple((k, v) for k, v in latency.items()), traces, view.latency_window_s)
        if not self._changed("latency", key):
            return
        t = Text()
        t.append(f"{'':<6}{'server reports':^21} {'our traces saw':^21}\n", style=c("muted"))
        t.append(f"{'':<6}" + f"{'p50':>7}{'p90':>7}{'p99':>7} " * 2 + "\n", style=c("muted"))
        ours = {
            "ttft": (traces.ttft_p50, traces.ttft_p90, traces.ttft_p99) if traces and traces.ttft_spans else None,
            "e2e": (traces.duration_p50, traces.duration_p90, traces.duration_p99) if traces and traces.spans else None,
        }
        for short, label in (("ttft", "TTFT"), ("itl", "ITL"), ("e2e", "e2e"), ("queue", "queue")):
            summary = latency.get(short)
            t.append(f"{label:<6}", style=c("muted"))
            p50, p90, p99 = (summary.p50, summary.p90, summary.p99) if summary else (None, None, None)
            level = th.level(f"{short}_p99", p99) if short in ("ttft", "itl") else None
            t.append(f"{seconds(p50):>7}{seconds(p90):>7}", style=c("foreground"))
            t.append(f"{seconds(p99):>7}", style=level_style(c, level))
            t.append(" ")
            mine = ours.get(short)
            if mine is not None:
                t.append(f"{millis(mine[0]):>7}{millis(mine[1]):>7}{millis(mine[2]):>7}", style=c("foreground"))
            elif short in ours:
                t.append(f"{'-':>7}{'-':>7}{'-':>7}", style=c("muted"))
            t.append("\n")
        span = view.latency_window_s
        covered = f"over the last {window(span)}" if span else "needs two scrapes"
        spans = f" · {traces.spans} traced calls in {window(quantile_window)}" if traces else ""
        t.append(f"{covered}{spans}", style=c("muted"))
        put(self.part(".card-latency", Static), t)

    def _rates(self, total: EngineStats | None, th: HealthThresholds, c: Palette) -> None:
        key = None if total is None else (total.requests_per_s, tuple(total.request_success_per_s.items()),
                                          total.prompt_tokens_per_s, total.prefix_cache_hit_rate,
                                          total.preemptions_per_s, total.counter_reset)
        if not self._changed("rates", key):
            return
        t = Text()
        if total is None:
            t.append("no vLLM metrics from this endpoint", style=c("muted"))
        else:
            t.append("requests ", style=c("muted"))
            t.append(per_s(total.requests_per_s))
            reasons = [(r, v) for r, v in sorted(total.request_success_per_s.items()) if v]
            if reasons:
                t.append("  " + " · ".join(f"{r} {v:.1f}" for r, v in reasons[:3]), style=c("muted"))
            t.append("\nprompt ", style=c("muted"))
            t.append(f"{number(total.prompt_tokens_per_s)} tok/s")
            t.append(" · prefix hit ", style=c("muted"))
            t.append(pct(total.prefix_cache_hit_rate))
            t.append(" · preempt ", style=c("muted"))
            t.append(per_s(total.preemptions_per_s),
                     style=level_style(c, th.level("preemptions_per_s", total.preemptions_per_s)))
            if total.counter_reset:
                t.append("\ncounters went back: the server restarted", style=c("level-amber"))
        put(self.part(".card-rates", Static), t)

    def _engines(self, engines: Sequence[EngineStats], th: HealthThresholds, c: Palette) -> None:
        shown = len(engines) > 1
        static = self.part(".card-engines", Static)
        if static.display != shown:
            static.display = shown
        key = tuple((e.key, e.kv_cache_usage, e.running, e.waiting, e.generation_tokens_per_s) for e in engines)
        if not shown or not self._changed("engines", key):
            return
        t = Text()
        t.append(f"{'engine':<24}{'KV':>6}{'run':>6}{'wait':>6}{'tok/s':>8}", style=c("muted"))
        for e in engines[:8]:
            t.append("\n")
            t.append(f"{_engine_label(e, 23):<24}")
            t.append(f"{pct(e.kv_cache_usage):>6}", style=level_style(c, th.level("kv_cache_usage", e.kv_cache_usage)))
            t.append(f"{number(e.running):>6}")
            t.append(f"{number(e.waiting):>6}", style=level_style(c, th.level("waiting", e.waiting)))
            t.append(f"{number(e.generation_tokens_per_s):>8}")
        if len(engines) > 8:
            t.append(f"\n+{len(engines) - 8} more engines", style=c("muted"))
        put(static, t)


class GpuCard(Vertical, _Cached):
    """One GPU: utilization big, memory, temperature, power against its limit,
    SM clock, sparklines, and the processes holding memory."""

    def __init__(self, target: str, **kw: Any) -> None:
        super().__init__(classes="health-card gpu-card", **kw)
        self.target = target

    def compose(self) -> ComposeResult:
        with Horizontal(classes="big-row"):
            yield BigValue("util %", classes="big util")
            yield Static("", classes="gpu-facts")
        yield SparkRow("util", classes="spark-cell util")
        yield SparkRow("mem", classes="spark-cell mem")
        yield Static("", classes="gpu-procs")

    def show(self, device: GpuDevice, series: Mapping[str, Sequence[float]], th: HealthThresholds, c: Palette,
             at: datetime) -> None:
        if self._changed("title", (device.index, device.name)):
            name = clean(device.name or "GPU", 40, one_line=True)
            self.border_title = f"{self.target} · {name}"
        self.part(".big.util", BigValue).set(big(device.util_percent))
        if self._slow_due(at):
            self.part(".spark-cell.util", SparkRow).set(series.get(series_key(self.target, "util_percent"), ()))
            self.part(".spark-cell.mem", SparkRow).set(series.get(series_key(self.target, "mem_fraction"), ()))
        facts = (device.mem_used_bytes, device.mem_total_bytes, device.temperature_c, device.power_w,
                 device.power_limit_w, device.sm_clock_mhz, device.sm_clock_max_mhz)
        if self._changed("facts", facts):
            put(self.part(".gpu-facts", Static), _gpu_facts(device, th, c))
        if self._changed("procs", device.processes):
            put(self.part(".gpu-procs", Static), _gpu_processes(device, c))


def _gpu_facts(d: GpuDevice, th: HealthThresholds, c: Palette) -> Text:
    t = Text()

    def row(label: str, value: str, level: str | None = None) -> None:
        t.append(f"{label:<6}", style=c("muted"))
        t.append(value + "\n", style=level_style(c, level))

    total = "-" if d.mem_total_bytes is None else f"{d.mem_total_bytes / GIB:.0f}"
    row("mem", f"{gib(d.mem_used_bytes)}/{total}G {pct(d.mem_fraction)}", th.level("gpu_mem_fraction", d.mem_fraction))
    row("temp", "-" if d.temperature_c is None else f"{d.temperature_c:.0f}°C",
        th.level("gpu_temperature_c", d.temperature_c))
    power = "-" if d.power_w is None else f"{d.power_w:.0f}"
    limit = "" if d.power_limit_w is None else f"/{d.power_limit_w:.0f}"
    share = f" {pct(d.power_fraction)}" if d.power_fraction is not None else ""
    row("power", f"{power}{limit}W{share}", th.level("gpu_power_fraction", d.power_fraction))
    clock = "-" if d.sm_clock_mhz is None else f"{d.sm_clock_mhz:.0f}"
    top = "" if d.sm_clock_max_mhz is None else f"/{d.sm_clock_max_mhz:.0f}"
    row("SM", f"{clock}{top}MHz")
    t.rstrip()
    return t


def _gpu_processes(d: GpuDevice, c: Palette) -> Text:
    t = Text()
    if not d.processes:
        t.append("no processes reported", style=c("muted"))
        return t
    for i, proc in enumerate(sorted(d.processes, key=lambda p: -(p.used_memory_bytes or 0))[:2]):
        if i:
            t.append("\n")
        t.append(f"{proc.pid:>7} ", style=c("muted"))
        t.append(clean(proc.name or "?", 18, one_line=True))
        t.append(f" {gib(proc.used_memory_bytes)} GiB", style=c("muted"))
    if len(d.processes) > 2:
        t.append(f"  +{len(d.processes) - 2}", style=c("muted"))
    return t


def _engine_label(stats: EngineStats, width: int) -> str:
    """``e0 opt-125m``: the engine first (it is what tells rows apart), the model's last path part."""
    key = stats.key
    model = (key.model_name or "").rsplit("/", 1)[-1]
    text = " ".join(p for p in (f"e{key.engine}" if key.engine is not None else "", model) if p) or "-"
    text = clean(text, 10_000, one_line=True)
    return text if len(text) <= width else text[: width - 1] + "…"
