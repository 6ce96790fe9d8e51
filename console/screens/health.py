"""The health pane: a card per vLLM endpoint and per GPU, live, and history
charts from stored samples.

Sampling apart from drawing: a ``SamplerThread`` polls the configured endpoints
and GPUs every ``[health] pane_interval`` seconds (1 s by default) while the pane
is shown and posts each ``LiveView``; the screen redraws on its own 1 Hz timer,
only when something new arrived and the pane is current. Stored history (what
the collector scrapes while the console is closed) seeds the sparklines, feeds
the History tab, and the traces' own latency per endpoint comes from the spans.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, VerticalScroll
from textual.css.query import NoMatches
from textual.geometry import Region
from textual.widget import Widget
from textual.message import Message
from textual.widgets import Static, TabbedContent, TabPane

from console.palette import Palette
from console.screens.base import PaneCommand, PaneScreen
from console.services.health import HealthHistory, HealthService, health_config
from console.text import clean
from console.widgets.health_cards import EndpointCard, GpuCard, put
from console.widgets.health_charts import HistoryCharts
from store.config import default_config_file
from store.health.config import HealthConfig
from store.health.gpu import gpu_target
from store.health.live import LiveHealth, LiveView, SamplerThread
from store.query.health import TraceLatency


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


CLOCK: Callable[[], datetime] = utc_now  # tests freeze it
REDRAW_SECONDS = 1.0
TRACES_SECONDS = 15.0
HISTORY_SECONDS = 30.0
SPARK_SECONDS = 300.0
WINDOWS: tuple[tuple[str, float], ...] = (("15m", 900.0), ("1h", 3600.0), ("6h", 6 * 3600.0), ("24h", 86400.0))
_UNSET = object()
RULE_NAMES = {
    "endpoint_down": "endpoint down", "kv_cache_high": "KV cache high", "queue_growing": "queue growing",
    "preemptions": "preemptions", "gpu_temperature": "GPU temperature", "gpu_power_limit": "GPU power at limit",
}


@dataclass
class HealthSampled(Message):
    view: LiveView


@dataclass
class SamplingFailed(Message):
    error: str


@dataclass
class HealthHistoryLoaded(Message):
    history: HealthHistory | None
    window_label: str
    elapsed_ms: float
    error: str | None = None


@dataclass
class TraceLatencyLoaded(Message):
    latency: dict[str, TraceLatency]


class HealthScreen(PaneScreen):
    PANE = "health"
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    AUTO_FOCUS = "#health-cards"
    BINDINGS = [
        Binding("v", "toggle_view", "History", id="health.view", tooltip="Switch between the live cards and stored history"),
        Binding("w", "cycle_window", "Window", id="health.window", tooltip="History window: 15m, 1h, 6h, 24h"),
        Binding("p", "toggle_pause", "Pause", id="health.pause", tooltip="Pause or resume live sampling"),
        Binding("r", "refresh", "Refresh", id="health.refresh", tooltip="Sample now and reload history and trace latency"),
        Binding("j", "scroll(1)", "Down", show=False, id="health.down", tooltip="Scroll down"),
        Binding("k", "scroll(-1)", "Up", show=False, id="health.up", tooltip="Scroll up"),
        Binding("g", "scroll_home", "Top", show=False, id="health.top", tooltip="Scroll to the top"),
        Binding("G", "scroll_end", "Bottom", show=False, id="health.bottom", tooltip="Scroll to the bottom"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.config = HealthConfig()
        self.config_error: str | None = None
        self.view: LiveView | None = None
        self.sampler: SamplerThread | None = None
        self.trace_latency: dict[str, TraceLatency] = {}
        self.history: HealthHistory | None = None
        self.window_index = 0
        self.sampling_error: str | None = None
        self.redraws = 0
        self._dirty = False
        self._layout_key: tuple[Any, ...] | None = None
        self._notes: dict[str, Any] = {}
        self._info_key: Any = None
        self._endpoint_cards: dict[str, EndpointCard] = {}
        self._gpu_cards: dict[str, GpuCard] = {}

    # -- layout ------------------------------------------------------------------------------
    def compose_pane(self) -> ComposeResult:
        yield Static("", id="health-info")
        with TabbedContent(id="health-tabs"):
            with TabPane("Now", id="health-now"):
                with VerticalScroll(id="health-cards"):
                    yield Static("", id="health-conditions")
                    yield Static("", id="health-endpoints-note")
                    yield Container(id="health-endpoints")
                    yield Static("", id="health-gpu-note")
                    yield Container(id="health-gpus")
            with TabPane("History", id="health-history"):
                yield Static("", id="health-history-info")
                yield HistoryCharts(id="health-charts")

    def on_mount(self) -> None:
        self.config, self.config_error = health_config(self.app.settings)  # type: ignore[attr-defined]
        self.sampler = SamplerThread(self._make_live, self._deliver, self.config.pane_interval, self._failed)
        self.sampler.start()
        self.set_interval(REDRAW_SECONDS, self.redraw)
        cards = self.query_one("#health-cards", VerticalScroll)
        self.watch(cards, "scroll_y", self._redraw_after_layout, init=False)
        self.set_interval(TRACES_SECONDS, self.load_traces_if_shown)
        self.set_interval(HISTORY_SECONDS, self.load_history_if_shown)
        self.update_info()
        self.show_notes()
        self.load_seed(list(self.endpoint_targets))
        self.load_traces(list(self.endpoint_targets))

    def on_unmount(self) -> None:
        if self.sampler is not None:
            self.sampler.stop()

    def on_screen_suspend(self) -> None:
        if self.sampler is not None:
            self.sampler.pause()

    def on_screen_resume(self) -> None:
        if self.sampler is not None:
            self.sampler.resume()

    @property
    def endpoint_targets(self) -> tuple[str, ...]:
        return tuple(f"vllm:{url}" for url in self.config.vllm)

    @property
    def window(self) -> tuple[str, float]:
        return WINDOWS[self.window_index]

    # -- sampling (on the sampler's thread) ------------------------------------------------------
    def _make_live(self) -> LiveHealth:
        return LiveHealth(self.config, clock=CLOCK, spark_s=SPARK_SECONDS)

    def _deliver(self, view: LiveView) -> None:
        self.post_message(HealthSampled(view))

    def _failed(self, exc: BaseException) -> None:
        self.post_message(SamplingFailed(f"{type(exc).__name__}: {exc}"))

    def sample_now(self) -> None:
        if self.sampler is not None:
            self.sampler.wake()

    @on(HealthSampled)
    async def sampled(self, msg: HealthSampled) -> None:
        first = self.view is None
        self.view = msg.view
        self.sampling_error = None
        await self._ensure_cards(msg.view)
        self._dirty = True
        if first:
            self.redraw()

    @on(SamplingFailed)
    def sampling_failed(self, msg: SamplingFailed) -> None:
        self.sampling_error = msg.error
        self.update_info()

    async def _ensure_cards(self, view: LiveView) -> None:
        gpus = ()
        if view.gpu is not None and view.gpu.available:
            gpus = tuple(gpu_target(view.gpu.host, d.index) for d in view.gpu.devices)
        key = (tuple(e.target for e in view.endpoints), gpus)
        if key == self._layout_key:
            return
        self._layout_key = key
        self._endpoint_cards = {e.target: EndpointCard(e.target) for e in view.endpoints}
        self._gpu_cards = {target: GpuCard(target) for target in gpus}
        endpoints = self.query_one("#health-endpoints", Container)
        await endpoints.remove_children()
        await endpoints.mount_all(self._endpoint_cards.values())
        grid = self.query_one("#health-gpus", Container)
        await grid.remove_children()
        await grid.mount_all(self._gpu_cards.values())
        # drawn again once laid out: a redraw before that can judge a card out of sight
        # from a layout it is not in yet, and would leave it blank until the next sample
        self._redraw_after_layout()

    # -- drawing -------------------------------------------------------------------------------
    def _redraw_after_layout(self) -> None:
        """Cards that come into sight (scrolled to, or just mounted and laid out) show
        the newest view now, not at the next tick."""
        self._dirty = True
        self.call_after_refresh(self.redraw)

    def redraw(self) -> None:
        """Draw the newest view; a no-op when nothing new arrived or the pane is hidden."""
        if not self._dirty or self.view is None or not self.is_current:
            return
        self._dirty = False
        self.redraws += 1
        view = self.view
        c = Palette.of(self.app)
        thresholds = self.config.thresholds
        scroll = self.query_one("#health-cards", VerticalScroll)
        viewport = Region(0, round(scroll.scroll_y), scroll.size.width, scroll.size.height)
        try:  # cards scrolled out of sight wait: scrolling redraws at once (see on_mount)
            for endpoint in view.endpoints:
                card = self._endpoint_cards.get(endpoint.target)
                if card is not None and _in_sight(card, viewport):
                    card.show(endpoint, view.series, self.trace_latency.get(endpoint.target), thresholds, c,
                              self.config.quantile_window)
            if view.gpu is not None and view.gpu.available:
                for device in view.gpu.devices:
                    card = self._gpu_cards.get(gpu_target(view.gpu.host, device.index))
                    if card is not None and _in_sight(card, viewport):
                        card.show(device, view.series, thresholds, c, view.time)
        except NoMatches:  # cards mounted a moment ago are still composing: draw on the next tick
            self._dirty = True
        self.show_conditions(view, c)
        self.show_notes()
        self.update_info()

    def show_conditions(self, view: LiveView, c: Palette) -> None:
        active = sorted(view.active, key=lambda x: (x.severity != "critical", x.rule, x.subject))
        t = Text(no_wrap=True, overflow="ellipsis")
        for i, condition in enumerate(active):
            if i:
                t.append("\n")
            style = c("level-red", "bold") if condition.severity == "critical" else c("level-amber")
            t.append(f"▲ {condition.severity:<8} {RULE_NAMES.get(condition.rule, condition.rule):<19}", style=style)
            t.append(clean(condition.message, 300, one_line=True))
        self._note("#health-conditions", t if active else None)

    def _note(self, selector: str, text: Text | None) -> None:
        """Show ``text`` in a note (None hides it); nothing is done when it says the
        same, and the screen is laid out again only when its height changes."""
        key = None if text is None else (text.plain, tuple(text.spans))
        if self._notes.get(selector, _UNSET) == key:
            return
        self._notes[selector] = key
        static = self.query_one(selector, Static)
        if static.display != (text is not None):
            static.display = text is not None
        if text is not None:
            put(static, text)

    def show_notes(self) -> None:
        c = Palette.of(self.app)
        note: Text | None = None
        if self.config_error:
            note = Text(f"⚠ [health] settings not used: {self.config_error}", style=c("level-red"))
        elif not self.config.vllm:
            source = getattr(self.app.settings, "source", "defaults")  # type: ignore[attr-defined]
            # with no config file yet, name the file to create, not the word "defaults"
            where = str(default_config_file()) if source == "defaults" else source
            note = Text()
            note.append("No vLLM endpoints configured. ", style=c("foreground", "bold"))
            note.append(f'Add them to the [health] section of {clean(where, 200, one_line=True)}:\n'
                        '  [health]\n  vllm = ["http://127.0.0.1:8000"]', style=c("muted"))
        self._note("#health-endpoints-note", note)
        view = self.view
        gpu_note: Text | None = None
        if view is None:
            gpu_note = Text("reading GPUs…", style=c("muted")) if self.config.gpu != "none" else None
        elif view.gpu is None:
            gpu_note = Text('GPUs are not watched ([health] gpu = "none").', style=c("muted"))
        elif not view.gpu.available:
            gpu_note = Text()
            gpu_note.append("No GPU readings: ", style=c("foreground", "bold"))
            gpu_note.append(clean(view.gpu.reason or "unavailable", 300, one_line=True) + ".")
            gpu_note.append("\nEverything else works without one. To read the GPUs of another host, set [health] "
                            'gpu = "nvidia-smi" (with gpu_command) or gpu = "dcgm:<url>".', style=c("muted"))
        self._note("#health-gpu-note", gpu_note)

    def update_info(self) -> None:
        c = Palette.of(self.app)
        view = self.view
        t = Text()
        n = len(self.config.vllm)
        if view is not None:
            up = sum(1 for e in view.endpoints if e.state.value == "up")
            t.append(f"{n} endpoint{'s' if n != 1 else ''} ({up} up)")
            gpu = view.gpu
            if gpu is None:
                t.append(" · no GPU source")
            elif gpu.available:
                t.append(f" · {len(gpu.devices)} GPU{'s' if len(gpu.devices) != 1 else ''} via {gpu.source}")
            else:
                t.append(f" · GPU: none ({gpu.source})")
        else:
            t.append(f"{n} endpoint{'s' if n != 1 else ''} · sampling…")
        paused = self.sampler is not None and self.sampler.paused and self.is_current
        t.append(f" · {'paused (p)' if paused else f'live every {self.config.pane_interval:g}s'}")
        if view is not None:  # to the minute: a line that changes every second costs a whole frame
            t.append(f" · {view.time.astimezone().strftime('%H:%M')}")
            active = view.active
            if active:
                t.append(f" · {len(active)} rule{'s' if len(active) != 1 else ''} active", style=c("level-red", "bold"))
        if self.sampling_error:
            t.append(f" · ⚠ sampling failed: {clean(self.sampling_error, 120, one_line=True)}", style=c("level-red"))
        key = (t.plain, tuple(t.spans))
        if key != self._info_key:
            self._info_key = key
            self.query_one("#health-info", Static).update(t, layout=False)

    # -- stored history --------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="health-seed", exit_on_error=False, description="health sparklines")
    def load_seed(self, targets: list[str]) -> None:
        now = CLOCK()
        try:
            points = HealthService(self.app.store.reader).sparkline_seed(  # type: ignore[attr-defined]
                targets, now - timedelta(seconds=SPARK_SECONDS), now)
        except Exception:  # noqa: BLE001 - the sparklines fill from live samples instead
            return
        if points and self.sampler is not None:
            self.sampler.seed(points)

    def load_traces_if_shown(self) -> None:
        if self.is_current:
            self.load_traces(list(self.endpoint_targets))

    @work(thread=True, exclusive=True, group="health-traces", exit_on_error=False, description="traces latency")
    def load_traces(self, targets: list[str]) -> None:
        if not targets:
            return
        since = CLOCK() - timedelta(seconds=self.config.quantile_window)
        try:
            latency = HealthService(self.app.store.reader).trace_latency(targets, since)  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - the cards show "-" for the traces' side
            return
        self.post_message(TraceLatencyLoaded(latency))

    @on(TraceLatencyLoaded)
    def traces_loaded(self, msg: TraceLatencyLoaded) -> None:
        self.trace_latency = msg.latency
        self._dirty = True
        self.redraw()

    def load_history_if_shown(self) -> None:
        if self.is_current and self.showing_history:
            self.load_history()

    @property
    def showing_history(self) -> bool:
        return self.query_one(TabbedContent).active == "health-history"

    def load_history(self) -> None:
        label, seconds = self.window
        self.query_one("#health-history-info", Static).update(
            Text(f"loading the last {label} of stored samples…", style=Palette.of(self.app)("muted")))
        self._load_history(label, seconds)

    @work(thread=True, exclusive=True, group="health-history", exit_on_error=False, description="health history")
    def _load_history(self, label: str, seconds: float) -> None:
        t0 = time.perf_counter()
        now = CLOCK()
        try:
            history = HealthService(self.app.store.reader).history(  # type: ignore[attr-defined]
                self.endpoint_targets, now - timedelta(seconds=seconds), now)
        except Exception as e:  # noqa: BLE001 - said in the info line
            self.post_message(HealthHistoryLoaded(None, label, 0.0, f"{type(e).__name__}: {e}"))
            return
        self.post_message(HealthHistoryLoaded(history, label, (time.perf_counter() - t0) * 1000))

    @on(HealthHistoryLoaded)
    def history_loaded(self, msg: HealthHistoryLoaded) -> None:
        c = Palette.of(self.app)
        info = self.query_one("#health-history-info", Static)
        if msg.error:
            info.update(Text(f"⚠ could not load history: {msg.error}", style=c("level-red")))
            return
        self.history = msg.history
        history = msg.history
        assert history is not None
        t = Text()
        t.append(f"last {msg.window_label}", style=c("foreground", "bold"))
        t.append(f" ({' '.join(w for w, _ in WINDOWS)}; w to change) · from stored samples, scraped every "
                 f"{self.config.interval:g}s by the collector", style=c("muted"))
        down = _down_counts(history)
        if down:
            t.append(" · " + ", ".join(f"{clean(tg.removeprefix('vllm:'), 60, one_line=True)} down in {n} scrape{'s' if n != 1 else ''}"
                                       for tg, n in down.items()), style=c("level-red"))
        if not history.endpoints and history.gpus.is_empty():
            t.append("\nNothing stored in this window. The collector stores samples while it runs "
                     "(llmops-console collect, or the console's embedded collector).", style=c("muted"))
        info.update(t)
        self.query_one(HistoryCharts).draw(history, CLOCK())

    @on(TabbedContent.TabActivated)
    def tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "health-history":
            self.load_history()

    # -- actions -------------------------------------------------------------------------------
    def action_toggle_view(self) -> None:
        tabs = self.query_one(TabbedContent)
        tabs.active = "health-now" if tabs.active == "health-history" else "health-history"

    def action_cycle_window(self) -> None:
        self.window_index = (self.window_index + 1) % len(WINDOWS)
        if not self.showing_history:
            self.query_one(TabbedContent).active = "health-history"  # its activation loads the window
        else:
            self.load_history()
        self.notify(f"history window: last {self.window[0]}", markup=False)

    def action_toggle_pause(self) -> None:
        if self.sampler is None:
            return
        if self.sampler.paused:
            self.sampler.resume()
        else:
            self.sampler.pause()
        self.update_info()

    def action_refresh(self) -> None:
        self.sample_now()
        self.load_traces(list(self.endpoint_targets))
        if self.showing_history:
            self.load_history()

    def action_scroll(self, step: int) -> None:
        self.query_one("#health-cards", VerticalScroll).scroll_relative(y=step * 3, animate=False)

    def action_scroll_home(self) -> None:
        self.query_one("#health-cards", VerticalScroll).scroll_home(animate=False)

    def action_scroll_end(self) -> None:
        self.query_one("#health-cards", VerticalScroll).scroll_end(animate=False)

    def pane_commands(self) -> list[PaneCommand]:
        commands = [
            PaneCommand("health: show history", "Charts of stored samples", self._show("health-history")),
            PaneCommand("health: show live cards", "GPU and endpoint cards", self._show("health-now")),
            PaneCommand("health: pause or resume sampling", "Stop or restart the live scrapes",
                        self.action_toggle_pause),
            PaneCommand("health: refresh", "Sample now and reload history", self.action_refresh),
        ]
        for i, (label, _) in enumerate(WINDOWS):
            commands.append(PaneCommand(f"health: history window {label}", f"Charts over the last {label}",
                                        lambda i=i: self._set_window(i)))
        return commands

    def _show(self, pane_id: str) -> Callable[[], None]:
        def run() -> None:
            self.query_one(TabbedContent).active = pane_id

        return run

    def _set_window(self, index: int) -> None:
        self.window_index = index
        if self.showing_history:
            self.load_history()
        else:
            self.query_one(TabbedContent).active = "health-history"


def _in_sight(card: EndpointCard | GpuCard, viewport: Region) -> bool:
    """Whether any of the card is inside the scrolled view (``viewport``: the scroll's
    offset and size, in its content's coordinates). Virtual regions come from the
    last layout; asking for a screen region would rebuild the compositor's map."""
    grid = card.parent
    if not isinstance(grid, Widget) or not card.virtual_region.height or not viewport.height:
        return True  # not laid out yet: draw it
    top = grid.virtual_region.y + card.virtual_region.y
    return Region(0, top, 1, card.virtual_region.height).overlaps(Region(0, viewport.y, 1, viewport.height))


def _down_counts(history: HealthHistory) -> dict[str, int]:
    states = history.states
    if states.is_empty():
        return {}
    import polars as pl

    down = states.filter(pl.col("state") == "down").group_by("target").len()
    return {row[0]: row[1] for row in down.sort("target").iter_rows()}
