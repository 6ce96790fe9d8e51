"""The console app: one mode per pane, a status bar fed by a sampler, themes and
keymap from config."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, Callable

from textual import on, work
from textual.app import App, ScreenStackError, SystemCommand
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen

from console.gc_policy import FULL_COLLECTION_SECONDS, GcPolicy
from console.pane_commands import PaneCommands
from console.messages import StatusSampled
import importlib

from console.screens.traces import TracesScreen
from console.services.collector_link import CollectorLink
from console.services.store import StoreService
from store.config import Settings
from themes import DEFAULT_DARK, DEFAULT_LIGHT, builtin_themes, user_themes

STATUS_SECONDS = 2.0
WARM_UP_AFTER_S = 1.0  # after launch, once the first page is painted


# pane -> (module, screen class). Panes other than Traces are imported when first
# opened, so launching the console does not pay for charts, replay or NVML.
PANES: dict[str, tuple[str, str]] = {
    "traces": ("console.screens.traces", "TracesScreen"),
    "prompts": ("console.screens.prompts", "PromptsScreen"),
    "costs": ("console.screens.costs", "CostsScreen"),
    "guardrails": ("console.screens.guardrails", "GuardrailsScreen"),
    "health": ("console.screens.health", "HealthScreen"),
}


def _pane_factory(module: str, name: str) -> Callable[[], Screen]:
    def make() -> Screen:
        return getattr(importlib.import_module(module), name)()

    return make


MODES: dict[str, Any] = {mode: _pane_factory(*where) for mode, where in PANES.items()}
MODES["traces"] = TracesScreen


class ConsoleApp(App):
    TITLE = "llmops-console"
    CSS_PATH = Path(__file__).with_name("app.tcss")
    MODES = MODES
    DEFAULT_MODE = "traces"
    COMMANDS = App.COMMANDS | {PaneCommands}
    BINDINGS = [
        Binding("1", "switch_mode('traces')", "Traces", id="app.traces", tooltip="Traces pane"),
        Binding("2", "switch_mode('prompts')", "Prompts", id="app.prompts", tooltip="Prompts and replay"),
        Binding("3", "switch_mode('costs')", "Costs", id="app.costs", tooltip="Cost explorer"),
        Binding("4", "switch_mode('guardrails')", "Guards", id="app.guardrails", tooltip="Guardrail events"),
        Binding("5", "switch_mode('health')", "Health", id="app.health", tooltip="GPU and vLLM health"),
        Binding("question_mark", "help", "Help", id="app.help", tooltip="Keys of this pane"),
        Binding("ctrl+t", "toggle_theme", "Theme", show=False, id="app.theme", tooltip="Dark or light theme"),
        Binding("ctrl+q", "quit", "Quit", id="app.quit", tooltip="Quit the console", priority=True),
    ]

    status: reactive[StatusSampled | None] = reactive(None)

    def __init__(self, settings: Settings, link: CollectorLink | None = None,
                 store: StoreService | None = None, sample_status: bool = True):
        super().__init__()
        self.settings = settings
        self.link = link or CollectorLink(settings, mode="unavailable", label="collector: not connected")
        self.store = store or StoreService(settings)
        self.sample_status = sample_status
        self._http: Any = None
        self.gc_policy = GcPolicy()
        for theme in builtin_themes() + user_themes(Path(settings.store).parent / "themes"):
            self.register_theme(theme)
        self.theme = settings.theme if settings.theme in self.available_themes else DEFAULT_DARK

    def on_mount(self) -> None:
        if self.settings.keymap:
            self.set_keymap(dict(self.settings.keymap))
        self.status = StatusSampled(self.link.label, self.link.mode not in ("unavailable", "starting"))
        if self.link.mode == "starting":
            self.call_after_refresh(self.start_collector)
        if self.sample_status:
            self.sample()
            self.set_interval(STATUS_SECONDS, self.sample)
        self.call_after_refresh(self.gc_policy.apply)  # what the first frame needed lives on
        self.set_interval(FULL_COLLECTION_SECONDS, self.gc_policy.collect)
        self._warm_up_timer = self.set_interval(WARM_UP_AFTER_S, self._warm_up_when_reading)

    def _warm_up_when_reading(self) -> None:
        # only while the reader is on the traces list: building costs the UI thread
        # ~100 ms, which a pane that is drawing live data should not pay
        if self.current_mode == "traces" and self._showing(TracesScreen):
            self._warm_up_timer.stop()
            self.warm_up()

    def _showing(self, kind: type | Screen) -> bool:
        """Whether a screen of ``kind`` (or that screen) is on screen; False while the
        app starts or closes, when no screen is."""
        try:
            current = self.screen
        except ScreenStackError:
            return False
        return current is kind if isinstance(kind, Screen) else isinstance(current, kind)

    @work(thread=True, exit_on_error=False, description="import the trace screen")
    def warm_up(self) -> None:
        """The trace screen, made while the reader looks at the list: its modules imported
        here, its widgets built on the UI thread. The first trace opened then costs what
        any other does (~100 ms of imports and ~100 ms of building saved)."""
        import console.screens.trace_detail  # noqa: F401

        self.call_from_thread(self._build_trace_screen, "traces")

    async def _build_trace_screen(self, mode: str) -> None:
        from console.screens.trace_detail import TraceScreen

        name = f"trace:{mode}"
        if self.is_screen_installed(name):
            return
        screen = TraceScreen()
        self.install_screen(screen, name)
        # Textual mounts a screen when it is first pushed and lays it out when it is
        # shown; its own helpers do both without showing it (guarded: should they go in
        # a later release, the screen is built on first use as before)
        mount, lay_out = getattr(self, "_get_screen", None), getattr(screen, "_refresh_layout", None)
        if mount is None or lay_out is None:
            return
        self._load_screen_css(screen)
        _, mounted = mount(name)
        await mounted

        def lay_out_hidden() -> None:  # once its widgets have settled, if still out of sight
            if screen.is_running and not self._showing(screen):
                lay_out(self.size)

        self.set_timer(0.1, lay_out_hidden)

    def on_unmount(self) -> None:
        self.gc_policy.restore()

    @work(thread=True, exclusive=True, group="collector", exit_on_error=False, description="start the collector")
    def start_collector(self) -> None:
        self.link.start_embedded()
        self.post_message(StatusSampled(self.link.label, self.link.mode == "embedded"))

    # -- status sampling (kept apart from drawing) -------------------------------------
    @work(exclusive=True, group="status", exit_on_error=False, description="sample status")
    async def sample(self) -> None:
        if self._http is None:
            import httpx  # imported here: it costs a fifth of a second at launch

            self._http = httpx.AsyncClient()  # one client: a new one per sample builds an SSL context each time
        stats = await self.link.stats(self._http)
        try:
            today = await asyncio.to_thread(self.store.today)
            cost, hits, size = today.cost_usd, today.guardrail_hits, today.store_bytes
        except Exception:
            cost = hits = size = None
        ok = self.link.mode != "unavailable" and stats is not None
        quiet = ok or self.link.mode in ("unavailable", "starting")
        label = self.link.label if quiet else f"{self.link.label} (not answering)"
        self.post_message(StatusSampled(label, ok, stats.get("spans_per_s") if stats else None, size, cost, hits,
                                        alerts_firing=(stats or {}).get("alerts_firing", 0), extra=stats or {}))

    @on(StatusSampled)
    def status_sampled(self, msg: StatusSampled) -> None:
        self.status = msg

    # -- actions -------------------------------------------------------------------------
    def action_help(self) -> None:
        from console.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_toggle_theme(self) -> None:
        self.theme = DEFAULT_LIGHT if self.theme == DEFAULT_DARK else DEFAULT_DARK

    def get_system_commands(self, screen: Screen) -> Any:
        yield from super().get_system_commands(screen)
        for mode in PANES:
            yield SystemCommand(f"go: {mode}", f"Switch to the {mode} pane",
                                lambda m=mode: self.action_switch_mode(m))

    # -- unsaved work: a pane with a ``guard_leave(proceed) -> bool`` is asked first -------
    def _guarded(self, proceed: Any, modes: list[str]) -> None:
        for mode in modes:
            try:
                stack = self.get_screen_stack(mode)
            except KeyError:
                continue
            for pane in stack:
                guard = getattr(pane, "guard_leave", None)
                if guard is not None and guard(proceed):
                    return
        proceed()

    def action_switch_mode(self, mode: str) -> None:
        if mode == self.current_mode:
            return
        self._guarded(lambda: self.switch_mode(mode), [self.current_mode])

    async def action_quit(self) -> None:
        self._guarded(self.exit, [self.current_mode, *(m for m in PANES if m != self.current_mode)])

    def open_trace(self, trace_id: str, start_us: int | None = None, end_us: int | None = None,
                   highlight_span: str | None = None) -> None:
        """The trace screen is built once per pane and reused for every trace opened there."""
        from console.screens.trace_detail import TraceScreen

        name = f"trace:{self.current_mode}"
        if not self.is_screen_installed(name):
            self.install_screen(TraceScreen(trace_id, start_us, end_us, highlight_span), name)
            self.push_screen(name)
            return
        screen = self.get_screen(name)
        assert isinstance(screen, TraceScreen)
        if screen.is_current:
            screen.show(trace_id, start_us, end_us, highlight_span)
            return
        # shown once the trace is loaded (or after a short wait): one layout and one frame
        # of the whole trace, instead of a "loading" frame first and the query competing
        # with drawing it. Onto the pane it was opened from, should the reader have
        # switched panes meanwhile.
        mode = self.current_mode
        screen.show(trace_id, start_us, end_us, highlight_span, present=lambda: self.push_screen(name, mode=mode))

    def open_prompt(self, prompt_id: str, trace_id: str | None = None) -> None:
        self.switch_mode("prompts")
        handler = getattr(self.screen, "open_prompt", None)
        if handler:
            handler(prompt_id, trace_id)
        else:
            self.notify(f"prompt {prompt_id}: the prompts pane is not built yet", markup=False)

    def open_replay(self, trace_id: str, span_id: str | None) -> None:
        self.switch_mode("prompts")
        handler = getattr(self.screen, "open_replay", None)
        if handler:
            handler(trace_id, span_id)
        else:
            self.notify("replay: the prompts pane is not built yet", markup=False)

    def open_batch(self, trace_filter: Any, query_text: str) -> None:
        self.switch_mode("prompts")
        handler = getattr(self.screen, "open_batch", None)
        if handler:
            handler(trace_filter, query_text)


def run_app(settings: Settings) -> int:
    link = CollectorLink(settings).connect()
    if link.mode == "starting":
        # The collector's child processes need multiprocessing's resource tracker, which
        # inherits stderr: start it now, while stderr is still the terminal's.
        from multiprocessing import resource_tracker

        resource_tracker.ensure_running()
    try:
        app = ConsoleApp(settings, link)
        app.run()
    finally:
        link.stop()
    return 0
