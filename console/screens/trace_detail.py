"""One trace: the span waterfall, the selected span's detail, agent heuristics,
and the previous/next trace of the same session."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Static

from console import format as fmt
from console.messages import QueryFailed, ServerStatesLoaded, TraceLoaded
from console.palette import Palette
from console.screens.base import PaneCommand
from console.services.health import HealthService
from console.services.store import as_us
from console.text import clean
from console.widgets.key_footer import KeyFooter
from console.widgets.span_detail import SpanDetail
from console.widgets.status_bar import StatusBar
from console.widgets.waterfall import SpanWaterfall
from store.query.heuristics import agent_stats
from textual.screen import Screen


PRESENT_WITHIN_S = 0.15  # a trace slower than this to load is shown loading


class TraceScreen(Screen):
    PANE = "traces"
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS = [
        Binding("escape,q", "back", "Back", id="trace.back", tooltip="Back to the traces list"),
        Binding("tab", "switch_focus", "Detail", id="trace.focus", tooltip="Move between the tree and the detail"),
        Binding("left_square_bracket", "session(-1)", "Prev in session", show=False, id="trace.prev",
                tooltip="Previous trace of the same session"),
        Binding("right_square_bracket", "session(1)", "Next in session", show=False, id="trace.next",
                tooltip="Next trace of the same session"),
        Binding("c", "copy_id", "Copy id", show=False, id="trace.copy", tooltip="Copy the trace id"),
        Binding("p", "open_prompt", "Prompt", show=False, id="trace.prompt", tooltip="Open the span's prompt in Prompts"),
        Binding("r", "replay", "Replay", id="trace.replay", tooltip="Replay the selected LLM span"),
    ]

    def __init__(self, trace_id: str = "", start_us: int | None = None, end_us: int | None = None,
                 highlight_span: str | None = None):
        super().__init__()
        self.trace_id, self.start_us, self.end_us = trace_id, start_us, end_us
        self.highlight_span = highlight_span
        self.summary: dict[str, Any] | None = None
        self.spans: list[dict[str, Any]] = []
        self.selected: dict[str, Any] | None = None
        self._present: Callable[[], object] | None = None  # pushes this screen, once

    def compose(self) -> ComposeResult:
        yield Static(Text(f"trace {self.trace_id} · loading…"), id="trace-header")
        with Horizontal(id="trace-body"):
            yield SpanWaterfall(id="trace-waterfall")
            yield SpanDetail(id="trace-detail")
        yield StatusBar()
        yield KeyFooter()

    def on_mount(self) -> None:
        if self.trace_id:  # built ahead of time (no trace yet): the first show() loads one
            self.load(self.trace_id, self.start_us, self.end_us)
        self.query_one(SpanWaterfall).focus()

    def show(self, trace_id: str, start_us: int | None = None, end_us: int | None = None,
             highlight_span: str | None = None, present: Callable[[], object] | None = None) -> None:
        """Show another trace in this (already built) screen: reopening costs a query
        and a repaint, not a new widget tree. ``present`` (pushing this screen) is called
        when the trace has loaded or failed, or after ``PRESENT_WITHIN_S``, whichever is
        first."""
        self.trace_id, self.start_us, self.end_us = trace_id, start_us, end_us
        self.highlight_span = highlight_span
        self.spans, self.selected = [], None
        self._present = present
        if present is not None:
            self.set_timer(PRESENT_WITHIN_S, self._presented)
        if self.is_mounted:
            self.query_one("#trace-header", Static).update(Text(f"trace {trace_id} · loading…"))
            # the last trace's spans go at once: no key acts on them while this one loads
            self.query_one(SpanWaterfall).set_spans([])
            self.load(trace_id, start_us, end_us)
            self.query_one(SpanWaterfall).focus()

    @work(thread=True, exclusive=True, group="trace-load", exit_on_error=False, description="load trace")
    def load(self, trace_id: str, start_us: int | None, end_us: int | None) -> None:
        t0 = time.perf_counter()
        try:
            summary, spans, events = self.app.store.trace(trace_id, start_us, end_us)  # type: ignore[attr-defined]
        except Exception as e:
            self.post_message(QueryFailed("trace", f"{type(e).__name__}: {e}"))
            return
        self.post_message(TraceLoaded(trace_id, summary, spans, events, (time.perf_counter() - t0) * 1000))
        try:  # the serving endpoint's health around each LLM span, after the trace is on screen
            states = HealthService(self.app.store.reader).server_states(spans.to_dicts())  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - the trace view works without it
            return
        if any(state.target for state in states.values()):  # only spans served by a scraped endpoint
            self.post_message(ServerStatesLoaded(trace_id, states))

    def _presented(self) -> None:
        present, self._present = self._present, None
        if present is not None:
            present()

    @on(TraceLoaded)
    def show_trace(self, msg: TraceLoaded) -> None:
        self.call_later(self._presented)  # after this message: the trace is in the widgets by then
        self.trace_id, self.summary = msg.trace_id, msg.summary
        self.spans = msg.spans.to_dicts()
        self.events = msg.events
        highlight = self.highlight_span
        self.query_one(SpanDetail).clear_server_states()
        self.query_one(SpanWaterfall).set_spans(self.spans, highlight)
        self.query_one("#trace-header", Static).update(self.header_text(msg.elapsed_ms))

    @on(ServerStatesLoaded)
    async def server_states_loaded(self, msg: ServerStatesLoaded) -> None:
        if msg.trace_id == self.trace_id:
            await self.query_one(SpanDetail).set_server_states(msg.states)

    @on(QueryFailed)
    def failed(self, msg: QueryFailed) -> None:
        self._presented()
        self.query_one("#trace-header", Static).update(Text(f"⚠ could not load {msg.what}: {msg.error}"))

    def header_text(self, elapsed_ms: float) -> Text:
        c = Palette.of(self.app)
        s = self.summary or {}
        stats = agent_stats(self.spans, getattr(self.app.settings, "runaway_llm_calls", 25))  # type: ignore[attr-defined]
        t = Text()
        t.append(clean(s.get("root_name") or "(root span not received)", 120, one_line=True), style="bold")
        t.append(f"   {self.trace_id}", style=c("muted"))
        if "demo" in (s.get("tags") or []):
            t.append("   DEMO DATA", style=c("accent", "bold"))
        t.append("\n")
        parts = [
            f"{len(self.spans)} spans", f"{stats.llm_calls} LLM calls", f"{stats.tool_calls} tool calls",
            f"depth {stats.max_depth}", f"{fmt.tokens(s.get('total_tokens'))} tokens",
            fmt.usd(s.get("cost_usd"), bool(s.get("unpriced_llm_calls"))),
            fmt.duration_ms(s.get("latency_ms")),
        ]
        t.append(" · ".join(parts), style=c("foreground"))
        if s.get("session_id"):
            t.append(f" · session {clean(s['session_id'], 60, one_line=True)} ([ ])", style=c("muted"))
        if s.get("user_id"):
            t.append(f" · user {clean(s['user_id'], 60, one_line=True)}", style=c("muted"))
        n_events = 0 if self.events is None else self.events.height
        if n_events:
            t.append(f" · {n_events} guardrail events", style=c("warning", "bold"))
        if stats.repeated_tool_calls:
            t.append(f" · {stats.repeated_tool} repeated {stats.repeated_tool_calls}×", style=c("warning"))
        if stats.runaway:
            t.append(f"\nRUNAWAY: {stats.reason}", style=c("error", "bold"))
        return t

    @on(SpanWaterfall.Selected)
    def span_selected(self, msg: SpanWaterfall.Selected) -> None:
        self.selected = msg.span
        self.query_one(SpanDetail).show(msg.span)

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_switch_focus(self) -> None:
        wf = self.query_one(SpanWaterfall)
        if wf.has_focus:
            self.query_one(SpanDetail).focus()
        else:
            wf.focus()

    def action_copy_id(self) -> None:
        self.app.copy_to_clipboard(self.trace_id)
        self.notify(f"copied {self.trace_id}", markup=False)

    def action_session(self, step: int) -> None:
        s = self.summary or {}
        if not s.get("session_id"):
            self.notify("this trace has no session", markup=False)
            return
        self.neighbour(s["session_id"], as_us(s["start_time"]) or 0, step)

    @work(thread=True, exclusive=True, group="trace-load", exit_on_error=False)
    def neighbour(self, session: str, start_us: int, step: int) -> None:
        prev_id, next_id = self.app.store.neighbours(session, start_us)  # type: ignore[attr-defined]
        target = prev_id if step < 0 else next_id
        if target is None:
            self.app.call_from_thread(self.notify, "no more traces in this session this way", markup=False)
            return
        self.highlight_span = None
        self.load(target, None, None)

    def action_open_prompt(self) -> None:
        span = self.selected or {}
        pid = span.get("prompt_id") or next((s.get("prompt_id") for s in self.spans if s.get("prompt_id")), None)
        if not pid:
            self.notify("no span of this trace carries a prompt.id", markup=False)
            return
        self.app.open_prompt(pid, trace_id=self.trace_id)  # type: ignore[attr-defined]

    def action_replay(self) -> None:
        span = self.selected or {}
        if span.get("kind") != "llm":
            llm = [s for s in self.spans if s.get("kind") == "llm"]
            span = llm[0] if llm else {}
        if not span:
            self.notify("this trace has no LLM span to replay", markup=False)
            return
        self.app.open_replay(self.trace_id, span.get("span_id"))  # type: ignore[attr-defined]

    def pane_commands(self) -> list[PaneCommand]:
        return [PaneCommand("trace: copy id", "Copy the trace id", self.action_copy_id),
                PaneCommand("trace: replay span", "Replay the selected LLM span", self.action_replay),
                PaneCommand("trace: previous in session", "", lambda: self.action_session(-1)),
                PaneCommand("trace: next in session", "", lambda: self.action_session(1))]
