"""The guardrails pane: one live log of every guardrail event (ours at ingest, and
external ones: OpenInference GUARDRAIL spans, span events, LiteLLM, the app's own
POSTs), events by detector over time with each detector's false-positive rate,
filters, the jump to the offending span, and false-positive marks (stored as scores
through the collector)."""

from __future__ import annotations

import re
import shlex
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import polars as pl
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Static

from console.messages import ExportFinished, QueryFailed
from console.palette import Palette
from console.screens.base import PaneCommand, PaneScreen
from console.services.guardrails import CHART_BUCKETS, GuardrailService, Overview
from console.widgets.detector_table import DetectorTable, bucket_label
from console.widgets.filter_bar import FilterBar
from console.widgets.guardrail_filter_bar import GuardrailFilterBar
from console.widgets.virtual_table import VirtualTable
from console.widgets.guardrail_log import GuardrailLog, event_detail
from store.query import guardrails as guardrail_filters
from store.query.guardrails import GuardrailFilter

PAGE = 200
# A live reload asks again for everything loaded so far (up to this many): guardrail events
# arrive late and out of time order (detection runs behind ingest, and apps post old ones),
# so only the newest page again would leave gaps.
LIVE_MAX = 2000
LIVE_SECONDS = 2.0
OVERVIEW_SECONDS = 15.0  # the per-detector numbers are refreshed at least this often
PENDING_MARK_SECONDS = 30.0  # how long a mark sent but not yet read back overrides the store
SLOW_MS = 1000  # a page that took longer says so in the info line
WINDOWS = ("", "1h", "24h", "7d")  # what `t` cycles through ("" = all time)


@dataclass
class GuardrailEventsLoaded(Message):
    """A page of the event log: replace (new filter), append (next page) or live."""

    rows: pl.DataFrame
    mode: str
    next_cursor: Any
    generation: int
    elapsed_ms: float = 0.0


@dataclass
class GuardrailOverviewLoaded(Message):
    overview: Overview
    generation: int


@dataclass
class FalsePositiveMarked(Message):
    """The collector took (or refused, with ``error``) a false-positive mark."""

    event_id: str
    marked: bool
    error: str | None = None


class GuardrailsScreen(PaneScreen):
    PANE = "guardrails"
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    AUTO_FOCUS = "#guardrails-log"
    BINDINGS = [
        Binding("slash", "focus_filter", "Filter", id="guardrails.filter", tooltip="Type a filter query"),
        Binding("enter", "open_trace", "Trace", id="guardrails.open",
                tooltip="Open the event's trace with the offending span highlighted"),
        Binding("x", "toggle_false_positive", "False pos.", id="guardrails.fp",
                tooltip="Mark the event a false positive, or unmark it (stored as a score via the collector)"),
        Binding("t", "cycle_window", "Window", id="guardrails.window",
                tooltip="Cycle the time range: all, last 1h, 24h, 7d"),
        Binding("d", "focus_detectors", "Detectors", show=False, id="guardrails.detectors",
                tooltip="Move to the by-detector table (enter there filters the log)"),
        Binding("e", "export", "Export", id="guardrails.export", tooltip="Export the filtered events"),
        Binding("c", "copy_id", "Copy id", show=False, id="guardrails.copy", tooltip="Copy the event's trace id"),
        Binding("f", "toggle_live", "Live", show=False, id="guardrails.live",
                tooltip="Follow new events, or pause the log"),
        Binding("escape", "leave_filter", "Back", show=False, id="guardrails.back", tooltip="Back to the log"),
    ]
    # The time source (a test freezes it); everything the pane shows or asks is relative to it.
    clock: Callable[[], float] = staticmethod(time.time)
    slow_ms: float = SLOW_MS
    # For the help screen: this pane's filter language (title, text).
    FILTER_HELP = ("guardrails", guardrail_filters.__doc__ or "")

    def __init__(self) -> None:
        super().__init__()
        self.filter = GuardrailFilter()
        self.query_text = ""
        self.generation = 0
        self.next_cursor: Any = None
        self.live = True
        self.loading_more = False
        self.loaded = False  # the first page has been drawn (tests wait on it)
        self.overview_loaded = False
        self.last_elapsed = 0.0
        self.last_overview = 0.0
        self.chart_note = ""
        # event_id -> (marked, monotonic deadline): marks sent but not yet read back
        self.pending: dict[str, tuple[bool, float]] = {}
        self.service: GuardrailService | None = None

    def compose_pane(self) -> ComposeResult:
        yield GuardrailFilterBar(clock=self.clock, id="guardrails-filter")
        yield Static("", id="guardrails-info")
        yield DetectorTable(id="guardrails-detectors")
        yield GuardrailLog(id="guardrails-log")
        yield Static("", id="guardrails-detail")

    def on_mount(self) -> None:
        app = self.app
        self.service = GuardrailService(app.store.reader, app.settings, getattr(app, "link", None))  # type: ignore[attr-defined]
        frozen = datetime.fromtimestamp(self.clock(), timezone.utc) if self.clock is not time.time else None
        self.log_table.now = frozen
        self.detectors.now = frozen
        self.call_after_refresh(self.reload)  # after the layout: the chart's width sets its buckets
        self.set_interval(LIVE_SECONDS, self.live_tick)

    @property
    def log_table(self) -> GuardrailLog:
        return self.query_one(GuardrailLog)

    @property
    def detectors(self) -> DetectorTable:
        return self.query_one(DetectorTable)

    # -- loading -------------------------------------------------------------------------
    def reload(self) -> None:
        self.generation += 1
        self.load(self.filter, None, "replace", self.generation)
        self.refresh_overview()

    def refresh_overview(self) -> None:
        # as many buckets as the sparkline column has characters
        self.load_overview(self.filter, self.generation, self.detectors.flex_width)

    @work(thread=True, exclusive=True, group="guardrails-query", exit_on_error=False, description="guardrail events")
    def load(self, f: GuardrailFilter, cursor: object, mode: str, generation: int, limit: int = PAGE) -> None:
        t0 = time.perf_counter()
        try:
            page = self.service.page(f, limit, cursor)  # type: ignore[union-attr]
        except Exception as e:  # shown in the info line; the pane stays usable
            self.post_message(QueryFailed("guardrail events", f"{type(e).__name__}: {e}"))
            return
        self.post_message(GuardrailEventsLoaded(page.rows, mode, page.next_cursor, generation,
                                                (time.perf_counter() - t0) * 1000))

    @work(thread=True, exclusive=True, group="guardrails-overview", exit_on_error=False,
          description="guardrail counts")
    def load_overview(self, f: GuardrailFilter, generation: int, buckets: int = CHART_BUCKETS) -> None:
        try:
            overview = self.service.overview(f, self.clock(), buckets)  # type: ignore[union-attr]
        except Exception as e:
            self.post_message(QueryFailed("detector counts", f"{type(e).__name__}: {e}"))
            return
        self.post_message(GuardrailOverviewLoaded(overview, generation))

    def live_tick(self) -> None:
        if not self.live or not self.is_current or self.loading_more:
            return
        if self.filter.until_us is None:
            limit = min(max(PAGE, self.log_table.row_count), LIVE_MAX)
            self.load(self.filter, None, "live", self.generation, limit)
        if time.monotonic() - self.last_overview >= OVERVIEW_SECONDS:
            self.refresh_overview()

    def with_pending(self, df: pl.DataFrame) -> list[dict[str, Any]]:
        """Rows as loaded, with marks sent but not yet in the store shown as sent."""
        rows = df.to_dicts()
        if not self.pending:
            return rows
        now = time.monotonic()
        for r in rows:
            mark = self.pending.get(r["event_id"])
            if mark is None:
                continue
            marked, deadline = mark
            if r["false_positive"] == marked or now > deadline:
                del self.pending[r["event_id"]]
            else:
                r["false_positive"] = marked
        return rows

    @on(GuardrailEventsLoaded)
    def show_page(self, msg: GuardrailEventsLoaded) -> None:
        if msg.generation != self.generation:
            return
        table = self.log_table
        self.last_elapsed = msg.elapsed_ms
        rows = self.with_pending(msg.rows)
        if msg.mode == "replace":
            table.replace(rows)
            self.next_cursor = msg.next_cursor
        elif msg.mode == "append":
            table.append(rows)
            self.next_cursor = msg.next_cursor
            self.loading_more = False
        else:
            covered = table.row_count <= LIVE_MAX  # the reload asked for every row we had
            if table.merge_newest(rows, keep_older=not covered):
                self.refresh_overview()
            if covered:
                self.next_cursor = msg.next_cursor
        self.loaded = True
        self.update_info()
        self.show_detail()

    @on(GuardrailOverviewLoaded)
    def show_overview(self, msg: GuardrailOverviewLoaded) -> None:
        if msg.generation != self.generation:
            return
        self.last_overview = time.monotonic()
        o = msg.overview
        window = self.filter_window_label()
        label = f"per {bucket_label(o.counts.bucket_us)}, {window}"
        self.detectors.show(o.stats.to_dicts(), o.counts.counts, label)
        self.overview_loaded = True
        self.update_info()

    def filter_window_label(self) -> str:
        m = re.search(r"(?:^|\s)since:(\S+)", self.query_text)
        if self.filter.since_us is None:
            return "last 24h"
        return f"since {m.group(1)}" if m else "filtered range"

    @on(QueryFailed)
    def show_failure(self, msg: QueryFailed) -> None:
        self.loading_more = False
        self.query_one("#guardrails-info", Static).update(Text(f"⚠ could not load {msg.what}: {msg.error}"))

    def update_info(self) -> None:
        table = self.log_table
        more = "more below" if self.next_cursor is not None else "all loaded"
        live = "● live" if self.live else "‖ paused (f)"
        events = sum(r["events"] for r in self.detectors.stats)
        fps = sum(r["false_positives"] for r in self.detectors.stats)
        total = f" of {events:,}" if events else ""
        marked = f" · {fps} marked false positive" if fps else ""
        q = f" · filter: {self.query_text}" if self.query_text else ""
        slow = f" · {self.last_elapsed / 1000:.1f} s to load" if self.last_elapsed >= self.slow_ms else ""
        self.query_one("#guardrails-info", Static).update(Text(
            f"{table.row_count:,}{total} events, newest first, {more} · {live}{marked}{q}{slow}"))

    def show_detail(self) -> None:
        self.query_one("#guardrails-detail", Static).update(event_detail(self.log_table.current, Palette.of(self.app)))

    @on(VirtualTable.RowHighlighted, "#guardrails-log")
    def row_highlighted(self) -> None:
        self.show_detail()

    @on(GuardrailLog.NearEnd)
    def load_more(self) -> None:
        if self.next_cursor is None or self.loading_more:
            return
        self.loading_more = True
        self.load(self.filter, self.next_cursor, "append", self.generation)

    # -- filter --------------------------------------------------------------------------
    @on(FilterBar.Changed)
    def filter_changed(self, msg: FilterBar.Changed) -> None:
        self.query_text, self.filter = msg.query, msg.parsed  # type: ignore[assignment]
        self.reload()

    @on(FilterBar.Submitted)
    def filter_submitted(self) -> None:
        self.log_table.focus()

    def action_focus_filter(self) -> None:
        self.query_one(GuardrailFilterBar).focus_input()

    def action_leave_filter(self) -> None:
        self.log_table.focus()

    def set_filter(self, query: str) -> None:
        self.query_one(GuardrailFilterBar).set_query(query)

    def set_term(self, key: str, value: str) -> None:
        """Replace ``key:…`` in the filter text (or add it); an empty value removes it."""
        rest = re.sub(rf"(?:^|\s)(?:'-?{key}:[^']*'|-?{key}:\S+)", "", self.typed).strip()
        term = f"{key}:{value}"
        if re.search(r"[\s'\"]", value):
            term = shlex.quote(term)
        self.set_filter(f"{rest} {term}".strip() if value else rest)

    @property
    def typed(self) -> str:
        """The filter text as typed so far (the query runs a moment later)."""
        return self.query_one(GuardrailFilterBar).value

    def action_cycle_window(self) -> None:
        m = re.search(r"(?:^|\s)since:(\S+)", self.typed)
        current = m.group(1) if m else ""
        nxt = WINDOWS[(WINDOWS.index(current) + 1) % len(WINDOWS)] if current in WINDOWS else ""
        self.set_term("since", nxt)
        self.notify(f"showing {'since ' + nxt if nxt else 'all time'}", markup=False)

    @on(VirtualTable.RowSelected, "#guardrails-detectors")
    def detector_chosen(self, msg: VirtualTable.RowSelected) -> None:
        self.set_term("detector", str(msg.key))
        self.log_table.focus()

    def action_focus_detectors(self) -> None:
        self.detectors.focus()

    # -- actions on an event ---------------------------------------------------------------
    @on(VirtualTable.RowSelected, "#guardrails-log")
    def event_selected(self) -> None:
        self.action_open_trace()

    def action_open_trace(self) -> None:
        if not self.log_table.has_focus:
            return
        row = self.log_table.current
        if row is None:
            return
        if not row.get("trace_id"):
            self.notify("this event names no trace", markup=False)
            return
        from console.screens.trace_detail import TraceScreen

        self.app.push_screen(TraceScreen(row["trace_id"], highlight_span=row.get("span_id")))

    def action_toggle_false_positive(self) -> None:
        row = self.log_table.current
        if row is None:
            return
        marked = not row.get("false_positive")
        self.pending[row["event_id"]] = (marked, time.monotonic() + PENDING_MARK_SECONDS)
        self.log_table.update_row({**row, "false_positive": marked, "fp_pending": True})
        self.show_detail()
        self.send_mark(dict(row), marked)

    @work(thread=True, group="guardrails-mark", exit_on_error=False, description="false-positive mark")
    def send_mark(self, row: dict[str, Any], marked: bool) -> None:
        try:
            self.service.mark_false_positive(row, marked)  # type: ignore[union-attr]
        except Exception as e:
            self.post_message(FalsePositiveMarked(row["event_id"], marked, str(e)))
            return
        self.post_message(FalsePositiveMarked(row["event_id"], marked))

    @on(FalsePositiveMarked)
    def mark_answered(self, msg: FalsePositiveMarked) -> None:
        table = self.log_table
        row = table.rows_by_id.get(msg.event_id)
        if msg.error is not None:
            self.pending.pop(msg.event_id, None)
            if row is not None:
                table.update_row({**row, "false_positive": not msg.marked, "fp_pending": False})
            self.notify(msg.error, title="false positive not recorded", severity="error", markup=False)
        else:
            if row is not None:
                table.update_row({**row, "false_positive": msg.marked, "fp_pending": False})
            self.notify("marked false positive" if msg.marked else "false-positive mark removed", markup=False)
            # the score is queryable after the collector's next flush
            self.set_timer(1.0, self.refresh_overview)
        self.show_detail()

    def action_copy_id(self) -> None:
        row = self.log_table.current
        if row and row.get("trace_id"):
            self.app.copy_to_clipboard(row["trace_id"])
            self.notify(f"copied {row['trace_id']}", markup=False)

    def action_toggle_live(self) -> None:
        self.live = not self.live
        self.update_info()
        if self.live:
            self.live_tick()

    def action_export(self) -> None:
        from console.screens.export_dialog import ExportDialog

        def done(choice: tuple[str, str] | None) -> None:
            if choice:
                path, fmt = choice
                self.export(self.filter, Path(path), fmt)

        stamp = datetime.fromtimestamp(self.clock()).strftime("%Y%m%d-%H%M%S")
        self.app.push_screen(ExportDialog("the filtered guardrail events", f"guardrails-{stamp}",
                                          formats=("jsonl", "csv", "json")), done)

    @work(thread=True, group="export", exit_on_error=False, description="export guardrail events")
    def export(self, f: GuardrailFilter, path: Path, fmt: str) -> None:
        try:
            n = self.service.export(f, path, fmt)  # type: ignore[union-attr]
        except Exception as e:
            self.post_message(QueryFailed("export", f"{type(e).__name__}: {e}"))
            return
        self.post_message(ExportFinished(str(path), n, fmt))

    @on(ExportFinished)
    def exported(self, msg: ExportFinished) -> None:
        self.notify(f"wrote {msg.rows} events to {msg.path}", markup=False)

    def pane_commands(self) -> list[PaneCommand]:
        return [
            PaneCommand("guardrails: filter", "Focus the filter bar", self.action_focus_filter),
            PaneCommand("guardrails: export view", "Export the filtered events (JSONL, CSV, JSON)", self.action_export),
            PaneCommand("guardrails: pause or follow live events", "Toggle live updates", self.action_toggle_live),
            PaneCommand("guardrails: only blocked", "Events a guardrail blocked",
                        lambda: self.set_term("action", "blocked")),
            PaneCommand("guardrails: only high and critical", "Severity high or above",
                        lambda: self.set_filter(re.sub(r"severity\S*", "", self.typed).strip()
                                                + " severity>=high")),
            PaneCommand("guardrails: injection and jailbreaks", "Prompt injection and jailbreak attempts",
                        lambda: self.set_term("category", "injection,jailbreak")),
            PaneCommand("guardrails: marked false positives", "Events people marked false positive",
                        lambda: self.set_term("fp", "yes")),
            PaneCommand("guardrails: last hour", "Events of the last hour", lambda: self.set_term("since", "1h")),
            PaneCommand("guardrails: clear filter", "Show every event", lambda: self.set_filter("")),
        ]
