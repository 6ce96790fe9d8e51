"""The traces pane: a live list, newest first, with a filter bar."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from rich.text import Text
from textual.widgets import Static

from console.messages import ExportFinished, QueryFailed, TracesLoaded
from console.screens.base import PaneCommand, PaneScreen
from console.services.store import as_us
from console.widgets.filter_bar import FilterBar
from console.widgets.trace_table import TraceTable
from store.query.filters import TraceFilter

PAGE = 200
LIVE_SECONDS = 2.0


class TracesScreen(PaneScreen):
    PANE = "traces"
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    AUTO_FOCUS = "#traces-table"
    BINDINGS = [
        Binding("slash", "focus_filter", "Filter", id="traces.filter", tooltip="Type a filter query"),
        Binding("enter", "open_trace", "Open", id="traces.open", tooltip="Open the trace: spans, messages, cost"),
        Binding("space", "mark", "Mark", id="traces.mark", tooltip="Mark a trace for export"),
        Binding("c", "copy_id", "Copy id", show=False, id="traces.copy", tooltip="Copy the trace id to the clipboard"),
        Binding("e", "export", "Export", id="traces.export", tooltip="Export marked traces, or the filtered view"),
        Binding("f", "toggle_live", "Live", show=False, id="traces.live", tooltip="Follow new traffic, or pause the list"),
        Binding("p", "open_prompt", "Prompt", show=False, id="traces.prompt", tooltip="Open this trace's prompt"),
        Binding("r", "replay", "Replay", show=False, id="traces.replay", tooltip="Replay this trace against a prompt"),
        Binding("escape", "leave_filter", "Back", show=False, id="traces.back", tooltip="Back to the list"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filter = TraceFilter()
        self.query_text = ""
        self.generation = 0
        self.next_cursor = None
        self.live = True
        self.loading_more = False
        self.last_elapsed = 0.0
        # the page after what is loaded, read ahead so that reaching the end of the list
        # appends at once: ((generation, cursor it starts at), its page or None while in flight)
        self.prefetch: tuple[tuple[int, object], TracesLoaded | None] | None = None

    def compose_pane(self) -> ComposeResult:
        yield FilterBar(id="traces-filter")
        yield Static("", id="traces-info")
        yield TraceTable(id="traces-table")

    def on_mount(self) -> None:
        self.reload()
        self.set_interval(LIVE_SECONDS, self.live_tick)

    @property
    def table(self) -> TraceTable:
        return self.query_one(TraceTable)

    # -- loading -------------------------------------------------------------------------
    def reload(self) -> None:
        self.generation += 1
        self.prefetch = None
        self.load(self.filter, None, "replace", self.generation)

    @work(thread=True, exclusive=True, group="traces-query", exit_on_error=False, description="traces page")
    def load(self, f: TraceFilter, cursor: object, mode: str, generation: int) -> None:
        t0 = time.perf_counter()
        try:
            page = self.app.store.trace_page(f, PAGE, cursor)  # type: ignore[attr-defined]
        except Exception as e:  # shown in the info line; the pane stays usable
            self.post_message(QueryFailed("traces", f"{type(e).__name__}: {e}"))
            return
        self.post_message(TracesLoaded(page.rows, mode, page.next_cursor, generation,
                                       (time.perf_counter() - t0) * 1000))

    @work(thread=True, exclusive=True, group="traces-prefetch", exit_on_error=False, description="next page")
    def read_ahead(self, f: TraceFilter, cursor: object, generation: int) -> None:
        try:
            page = self.app.store.trace_page(f, PAGE, cursor)  # type: ignore[attr-defined]
        except Exception as e:  # shown in the info line; the page is read again when asked for
            self.post_message(QueryFailed("traces", f"{type(e).__name__}: {e}"))
            return
        self.post_message(TracesLoaded(page.rows, "prefetch", page.next_cursor, generation, cursor=cursor))

    def prefetch_next(self) -> None:
        key = (self.generation, self.next_cursor)
        if self.next_cursor is None:
            self.prefetch = None
        elif self.prefetch is None or self.prefetch[0] != key:
            self.prefetch = (key, None)
            self.read_ahead(self.filter, self.next_cursor, self.generation)

    def live_tick(self) -> None:
        if not self.live or not self.is_current or self.loading_more:
            return
        if self.filter.until_us is not None:
            return
        self.load(self.filter, None, "live", self.generation)

    @on(TracesLoaded)
    def show_page(self, msg: TracesLoaded) -> None:
        if msg.generation != self.generation:
            return
        table = self.table
        if msg.mode == "prefetch":
            if self.prefetch is None or self.prefetch[0] != (msg.generation, msg.cursor) \
                    or self.prefetch[1] is not None:
                return  # read for a cursor the list has moved past
            self.prefetch = (self.prefetch[0], msg)
            if self.loading_more:  # the end was reached while it was being read
                self.append_prefetched()
            return
        self.last_elapsed = msg.elapsed_ms
        if msg.mode == "replace":
            table.replace(msg.rows)
            self.next_cursor = msg.next_cursor
        elif msg.mode == "append":
            table.append(msg.rows)
            self.next_cursor = msg.next_cursor
            self.loading_more = False
        elif table.row_count and msg.next_cursor is not None \
                and not set(msg.rows["trace_id"].to_list()) & set(table.order):
            # more arrived since the last refresh than a page holds: merging would leave a
            # gap between the new page and what is loaded below it, so start over
            table.replace(msg.rows)
            self.next_cursor = msg.next_cursor
        else:
            table.merge_newest(msg.rows)
            if self.next_cursor is None and msg.next_cursor is not None and table.row_count <= PAGE:
                self.next_cursor = msg.next_cursor
        self.update_info()
        self.prefetch_next()

    def append_prefetched(self) -> None:
        assert self.prefetch is not None and self.prefetch[1] is not None
        msg = self.prefetch[1]
        self.prefetch = None
        self.table.append(msg.rows)
        self.next_cursor = msg.next_cursor
        self.loading_more = False
        self.update_info()
        self.call_after_refresh(self.prefetch_next)  # the rows painted first, then the next read

    @on(QueryFailed)
    def show_failure(self, msg: QueryFailed) -> None:
        self.loading_more = False
        self.prefetch = None
        self.query_one("#traces-info", Static).update(f"⚠ could not load {msg.what}: {msg.error}")

    def update_info(self) -> None:
        table = self.table
        more = "more below" if self.next_cursor is not None else "all loaded"
        live = "● live" if self.live else "‖ paused (f)"
        marked = f" · {len(table.marked)} marked" if table.marked else ""
        q = f" · filter: {self.query_text}" if self.query_text else ""
        if self.filter.text_window_defaulted:
            q += " (text searched in the last 24 h; add since:30d for more)"
        if not table.row_count and self.filter.is_empty():
            url = getattr(getattr(self.app, "link", None), "url", "http://127.0.0.1:4318")
            self.query_one("#traces-info", Static).update(Text(
                # one line that fits 100 columns: the info bar is a single row
                f"No traces yet · send OTLP to {url}/v1/traces · or run `llmops-console demo` · " + live))
            return
        self.query_one("#traces-info", Static).update(
            Text(f"{table.row_count} traces, newest first, {more} · {live}{marked}{q}"))

    @on(TraceTable.NearEnd)
    def load_more(self) -> None:
        if self.next_cursor is None or self.loading_more:
            return
        self.loading_more = True
        if self.prefetch is not None and self.prefetch[0] == (self.generation, self.next_cursor):
            if self.prefetch[1] is not None:
                self.append_prefetched()
            return  # in flight: appended when it lands
        self.load(self.filter, self.next_cursor, "append", self.generation)

    # -- filter --------------------------------------------------------------------------
    @on(FilterBar.Changed)
    def filter_changed(self, msg: FilterBar.Changed) -> None:
        self.query_text, self.filter = msg.query, msg.parsed
        self.reload()

    @on(FilterBar.Submitted)
    def filter_submitted(self) -> None:
        self.table.focus()

    def action_focus_filter(self) -> None:
        self.query_one(FilterBar).focus_input()

    def action_leave_filter(self) -> None:
        self.table.focus()

    # -- actions -------------------------------------------------------------------------
    @on(TraceTable.RowSelected)
    def row_selected(self) -> None:
        self.action_open_trace()

    def action_open_trace(self) -> None:
        row = self.table.current
        if row is None:
            return
        self.app.open_trace(row["trace_id"], as_us(row.get("start_time")),  # type: ignore[attr-defined]
                            as_us(row.get("end_time")))

    def action_mark(self) -> None:
        if self.table.toggle_mark():
            self.table.action_move(1)
            self.update_info()

    def action_copy_id(self) -> None:
        tid = self.table.current_id
        if tid:
            self.app.copy_to_clipboard(tid)
            self.notify(f"copied {tid}", markup=False)

    def action_toggle_live(self) -> None:
        self.live = not self.live
        self.update_info()
        if self.live:
            self.live_tick()

    def action_export(self) -> None:
        from console.screens.export_dialog import ExportDialog

        marked = sorted(self.table.marked)
        scope = f"{len(marked)} marked traces" if marked else "the filtered view"

        def done(choice: tuple[str, str] | None) -> None:
            if choice:
                path, fmt = choice
                self.export(marked or None, Path(path), fmt)

        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        self.app.push_screen(ExportDialog(scope, f"traces-{stamp}"), done)

    @work(thread=True, group="export", exit_on_error=False, description="export traces")
    def export(self, ids: list[str] | None, path: Path, fmt: str) -> None:
        try:
            n = self.app.store.export_traces(self.filter, ids, path, fmt)  # type: ignore[attr-defined]
        except Exception as e:
            self.post_message(QueryFailed("export", f"{type(e).__name__}: {e}"))
            return
        self.post_message(ExportFinished(str(path), n, fmt))

    @on(ExportFinished)
    def exported(self, msg: ExportFinished) -> None:
        self.notify(f"wrote {msg.rows} spans to {msg.path}", markup=False)

    def action_open_prompt(self) -> None:
        row = self.table.current
        if row is None:
            return
        ids = row.get("prompt_ids") or []
        if not ids:
            self.notify("this trace carries no prompt.id; see docs/prompts.md to link prompts", markup=False)
            return
        self.app.open_prompt(ids[0], trace_id=row["trace_id"])  # type: ignore[attr-defined]

    def action_replay(self) -> None:
        row = self.table.current
        if row is not None:
            self.app.open_replay(row["trace_id"], None)  # type: ignore[attr-defined]

    def action_batch_replay(self) -> None:
        self.app.open_batch(self.filter, self.query_text)  # type: ignore[attr-defined]

    def pane_commands(self) -> list[PaneCommand]:
        return [
            PaneCommand("traces: filter", "Focus the filter bar", self.action_focus_filter),
            PaneCommand("traces: replay these in a batch", "Hand this filter to the prompts pane's batch replay",
                        self.action_batch_replay),
            PaneCommand("traces: export view", "Export marked traces or the filtered view (JSONL, CSV)",
                        self.action_export),
            PaneCommand("traces: pause or follow live traffic", "Toggle live updates", self.action_toggle_live),
            PaneCommand("traces: only errors", "Filter to traces with errors",
                        lambda: self._set_filter("status:error")),
            PaneCommand("traces: runaway agents", "Filter to runaway loops",
                        lambda: self._set_filter("is:runaway")),
            PaneCommand("traces: clear filter", "Show all traces", lambda: self._set_filter("")),
        ]

    def _set_filter(self, q: str) -> None:
        from textual.widgets import Input

        self.query_one("#filter-input", Input).value = q

    def apply_filter(self, query: str) -> None:
        """Show the traces matching ``query`` (the filter language), as if typed: other
        panes drill down into the traces behind a number this way."""
        self._set_filter(query)
