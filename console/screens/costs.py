"""The costs pane: a cost explorer that matches the bill.

Explorer: a range, a bucket and a group-by; totals and deltas against the previous
period, a stacked chart with the trend, and the groups; enter on a row or a bar shows
the traces behind it. Audit: top traces and prompts, what the input tokens are made
of, what a cache would have saved. Budgets: where each budget and rule stands, and
the alert log. Flagged: spans whose token numbers cannot be right. ``e`` exports the
explorer's view at once (the same rows as ``llmops-console export costs``).

Queries run in thread workers through ``CostsService``; answers come back as
messages and are drawn on the UI thread. A timer reloads the current view every
``REFRESH_SECONDS`` while the pane is shown (ranges end "now").
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Select, Static, TabbedContent, TabPane

from console import format as fmt
from console.messages import ExportFinished, QueryFailed
from console.palette import Palette
from console.screens.base import PaneCommand, PaneScreen
from console.services.costs import RANGE_BUCKET, RANGES, BudgetStatus, CostsService, Superseded, drill_query
from console.text import clean
from console.widgets.cost_chart import ChartData, CostChart, PrebuiltChart
from console.widgets.cost_tables import (AlertLogTable, BudgetTable, CacheTable, FlaggedTable, GroupTable,
                                         PromptCostTable, TraceCostTable)
from console.widgets.virtual_table import VirtualTable
from store.query.cost_audit import AuditReport, FlaggedReport
from store.query.costs import CostQuery, CostQueryError, CostReport

CLOCK: Callable[[], float] = time.time  # tests freeze it
SHOW_TIMING = True  # snapshots turn the (varying) query and draw times off
HOT_COPY = True  # keep sealed segments' cost columns warm in DuckDB (store.query.cost_cache)
REFRESH_SECONDS = 30.0
TABLE_ROWS = 200  # the most expensive groups listed; the export has them all
BUCKETS = ("hour", "day", "week")
GROUP_BYS = ("model", "provider", "service", "user", "session", "tag", "prompt", "trace", "source", "attr")
GROUP_LABELS = {"prompt": "prompt version", "trace": "trace name", "source": "cost source", "attr": "attribute…"}
VIEWS = ("costs-explorer", "costs-audit", "costs-budgets", "costs-flagged")


@dataclass
class CostsLoaded(Message):
    report: CostReport
    chart: ChartData  # drawn from the report in the worker: the UI thread only shows it
    drawn: PrebuiltChart | None  # its first frame, built in the worker too
    groups: list[dict[str, Any]]  # the table's rows: the report's top groups
    generation: int


@dataclass
class AuditLoaded(Message):
    report: AuditReport
    generation: int


@dataclass
class FlaggedLoaded(Message):
    report: FlaggedReport
    generation: int


@dataclass
class BudgetsLoaded(Message):
    status: BudgetStatus
    alerts: Any  # polars frame of ALERTS rows, newest first


class CostsScreen(PaneScreen):
    PANE = "costs"
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    AUTO_FOCUS = "#costs-groups"
    BINDINGS = [
        Binding("r", "cycle_range", "Range", id="costs.range", tooltip="Range: last 24h, 7d, 30d, 90d"),
        Binding("b", "cycle_bucket", "Bucket", id="costs.bucket", tooltip="Bucket: hour, day, week"),
        Binding("d", "cycle_by", "Group by", id="costs.by",
                tooltip="Group by model, provider, service, user, session, tag, prompt, trace, source, attribute"),
        Binding("a", "attribute", "Attribute", show=False, id="costs.attr",
                tooltip="Group by a raw span attribute (attr:<key>)"),
        Binding("c", "focus_chart", "Chart", id="costs.chart", tooltip="Pick a bar of the chart (enter: its traces)"),
        Binding("e", "export", "Export", id="costs.export", tooltip="Export this view: CSV, Parquet or JSON"),
        Binding("v", "cycle_view", "View", id="costs.view", tooltip="Explorer, audit, budgets and alerts, flagged"),
        Binding("R", "reload", "Reload", show=False, id="costs.reload", tooltip="Query again now"),
        Binding("escape", "focus_table", "Back", show=False, id="costs.back", tooltip="Back to the groups"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.range_key = "7d"
        self.bucket = RANGE_BUCKET["7d"]
        self.by = "model"
        self.attr_key = ""
        self.generation = 0
        self.query_: CostQuery | None = None
        self.report: CostReport | None = None
        self.flagged: FlaggedReport | None = None
        self.budgets: BudgetStatus | None = None
        self.audit_generation = -1
        self.flagged_generation = -1
        self.flagged_due = False
        self.loaded_at: float | None = None  # perf_counter when the last question was asked
        self.last_timing: tuple[float, float] = (0.0, 0.0)  # query ms, draw ms
        self.last_total_ms = 0.0  # from the question to the drawn answer
        self.asking = False  # a report question is out
        self._service: CostsService | None = None

    @property
    def service(self) -> CostsService:
        if self._service is None:
            self._service = CostsService(self.app.settings, self.app.store.reader,  # type: ignore[attr-defined]
                                         now=lambda: CLOCK(), hot=HOT_COPY)
            self._service.warm()
        return self._service

    # -- layout ------------------------------------------------------------------------------
    def compose_pane(self) -> ComposeResult:
        with Horizontal(id="costs-controls"):
            yield Static("range", classes="costs-label")
            yield Select([(k, k) for k in RANGES], value=self.range_key, allow_blank=False, compact=True,
                         id="costs-range")
            yield Static("bucket", classes="costs-label")
            yield Select([(b, b) for b in BUCKETS], value=self.bucket, allow_blank=False, compact=True,
                         id="costs-bucket")
            yield Static("group by", classes="costs-label")
            yield Select([(GROUP_LABELS.get(k, k), k) for k in GROUP_BYS], value=self.by, allow_blank=False,
                         compact=True, id="costs-by")
            yield Input(placeholder="attribute key, e.g. app.team", id="costs-attr")
            yield Static("", id="costs-timing")
        yield Static("", id="costs-summary")
        with TabbedContent(id="costs-tabs"):
            with TabPane("Explorer", id="costs-explorer"):
                yield CostChart(id="costs-chart")
                yield GroupTable(id="costs-groups")
            with TabPane("Audit", id="costs-audit"):
                with VerticalScroll(id="audit-scroll"):
                    yield Static("Run when shown.", id="audit-summary")
                    yield Static("Top traces by cost", classes="costs-heading")
                    yield TraceCostTable(id="audit-traces-cost", classes="audit-table")
                    yield Static("Top traces by input tokens", classes="costs-heading")
                    yield TraceCostTable(id="audit-traces-input", classes="audit-table")
                    yield Static("Top prompts by cost", classes="costs-heading")
                    yield PromptCostTable(id="audit-prompts-cost", classes="audit-table")
                    yield Static("Top prompts by input tokens", classes="costs-heading")
                    yield PromptCostTable(id="audit-prompts-input", classes="audit-table")
                    yield Static("Cache opportunity: repeated requests", classes="costs-heading")
                    yield CacheTable(id="audit-cache", classes="audit-table")
            with TabPane("Budgets & alerts", id="costs-budgets"):
                yield Static("", id="budgets-info")
                yield BudgetTable(id="budgets-table")
                yield Static("Alert log (newest first)", classes="costs-heading")
                yield AlertLogTable(id="alerts-table")
            with TabPane("Flagged", id="costs-flagged"):
                yield Static("", id="flagged-info")
                yield FlaggedTable(id="flagged-table")

    def on_mount(self) -> None:
        self.chart = self.query_one(CostChart)  # kept: the explorer's worker prebuilds its frames
        self.query_one("#costs-attr", Input).display = False
        self.reload()
        self.load_budgets()
        self.set_interval(REFRESH_SECONDS, self.refresh_if_shown)

    # -- asking ------------------------------------------------------------------------------
    def current_query(self) -> CostQuery:
        by = f"attr:{self.attr_key}" if self.by == "attr" else self.by
        return self.service.query(self.range_key, self.bucket, (by,))

    def reload(self, range_changed: bool = True) -> None:
        """Ask the current question; the flagged spans depend on the range only, so a
        new group-by or bucket (``range_changed=False``) leaves them as they are."""
        if self.by == "attr" and not self.attr_key:
            self.show_summary_text("type an attribute key (a raw span attribute such as app.team) and press enter")
            return
        try:
            q = self.current_query()
        except CostQueryError as e:
            self.show_summary_text(f"⚠ {e}")
            return
        self.generation += 1
        self.query_ = q
        self.asking = True
        self.loaded_at = time.perf_counter()
        self.query_one("#costs-timing", Static).update("loading…" if SHOW_TIMING else "")
        self.load_report(q, self.generation)
        if range_changed or self.flagged is None:
            self.flagged_due = True  # asked once the report is drawn: they share two cores
        if self.view == "costs-audit":
            self.load_audit(q, self.generation)

    def refresh_if_shown(self) -> None:
        if self.is_current and not self.asking:  # never stack a refresh on a slow answer
            self.service.warm()
            self.reload()
            self.load_budgets()

    def on_unmount(self) -> None:
        if self._service is not None:
            self._service.close()

    @work(thread=True, exclusive=True, group="costs-explore", exit_on_error=False, description="cost explorer")
    def load_report(self, q: CostQuery, generation: int) -> None:
        try:
            report = self.service.explore(q)
        except Superseded:
            return
        except Exception as e:  # shown in the summary; the pane stays usable
            self.post_message(QueryFailed("costs", f"{type(e).__name__}: {e}"))
            return
        chart = ChartData.of(report)
        try:
            drawn = self.chart.prebuild(chart)
        except Exception:  # noqa: BLE001 - a chart the UI thread then draws itself, as before
            drawn = None
        self.post_message(CostsLoaded(report, chart, drawn, report.top_groups(TABLE_ROWS).to_dicts(), generation))

    @work(thread=True, exclusive=True, group="costs-flagged", exit_on_error=False, description="flagged spans")
    def load_flagged(self, q: CostQuery, generation: int) -> None:
        try:
            self.post_message(FlaggedLoaded(self.service.flagged(q), generation))
        except Superseded:
            return
        except Exception as e:
            self.post_message(QueryFailed("flagged spans", f"{type(e).__name__}: {e}"))

    @work(thread=True, exclusive=True, group="costs-audit", exit_on_error=False, description="token audit")
    def load_audit(self, q: CostQuery, generation: int) -> None:
        try:
            self.post_message(AuditLoaded(self.service.audit(q), generation))
        except Superseded:
            return
        except Exception as e:
            self.post_message(QueryFailed("token audit", f"{type(e).__name__}: {e}"))

    @work(thread=True, exclusive=True, group="costs-budgets", exit_on_error=False, description="budgets")
    def load_budgets(self) -> None:
        try:
            status = self.service.budgets()
            alerts = self.service.alerts()
        except Exception as e:
            self.post_message(QueryFailed("budgets", f"{type(e).__name__}: {e}"))
            return
        self.post_message(BudgetsLoaded(status, alerts))

    # -- answers -----------------------------------------------------------------------------
    @on(CostsLoaded)
    def show_report(self, msg: CostsLoaded) -> None:
        if msg.generation != self.generation:
            return
        t0 = time.perf_counter()
        first = self.report is None
        self.asking = False
        self.report = msg.report
        self.chart.show(msg.chart, msg.drawn)
        table = self.query_one(GroupTable)
        table.show(msg.groups, msg.report.columns, keep_cursor=not first)
        draw_ms = (time.perf_counter() - t0) * 1000
        self.last_timing = (msg.report.elapsed_ms, draw_ms)
        self.update_summary()
        if self.flagged_due and self.query_ is not None:
            self.flagged_due = False
            self.flagged_generation = self.generation
            self.load_flagged(self.query_, self.generation)
        total_ms = (time.perf_counter() - self.loaded_at) * 1000 if self.loaded_at else 0.0
        self.last_total_ms = total_ms
        timing = f"{total_ms:.0f} ms (query {msg.report.elapsed_ms:.0f}, draw {draw_ms:.0f})" if SHOW_TIMING else ""
        self.query_one("#costs-timing", Static).update(Text(timing, style=Palette.of(self.app)("muted")))

    @on(FlaggedLoaded)
    def show_flagged(self, msg: FlaggedLoaded) -> None:
        if msg.generation != self.flagged_generation:
            return
        self.flagged = msg.report
        from console.widgets.cost_tables import FLAG_TEXT

        counts = ", ".join(f"{FLAG_TEXT.get(k, k)}: {n:,}" for k, n in sorted(msg.report.counts.items()))
        shown = f" (newest {msg.report.spans.height:,} listed)" if msg.report.total > msg.report.spans.height else ""
        info = (f"{msg.report.total:,} spans whose token numbers cannot be right{shown} · {counts} · enter opens the "
                f"trace") if msg.report.total else "no span in this range has token numbers that contradict each other"
        self.query_one("#flagged-info", Static).update(Text(info))
        self.query_one(FlaggedTable).replace(msg.report.spans.to_dicts())
        self.update_summary()

    @on(AuditLoaded)
    def show_audit(self, msg: AuditLoaded) -> None:
        if msg.generation != self.generation:
            return
        self.audit_generation = msg.generation
        a = msg.report
        comp = a.composition

        def share(v: float | None) -> str:
            return f"{v:.0%}" if v is not None else "?"

        lines = [
            f"Input tokens: {share(comp.system_share)} system prompt, {share(comp.retrieved_share)} retrieved context "
            f"(estimated from message text over {comp.calls:,} calls; see docs/costs.md).",
            f"Cache opportunity: {fmt.usd(a.cache_saving_usd)} would have been saved by serving repeated requests "
            f"from a cache ({a.cache.height} groups below).",
            *a.notes,
        ]
        self.query_one("#audit-summary", Static).update(Text("\n".join(lines)))
        self.query_one("#audit-traces-cost", TraceCostTable).replace(a.top_traces_cost.to_dicts())
        self.query_one("#audit-traces-input", TraceCostTable).replace(a.top_traces_input.to_dicts())
        for table_id, frame in (("#audit-prompts-cost", a.top_prompts_cost), ("#audit-prompts-input",
                                                                               a.top_prompts_input)):
            rows = [{**r, "_key": str(r["prompt"])} for r in frame.to_dicts()]
            self.query_one(table_id, PromptCostTable).replace(rows)
        self.query_one(CacheTable).replace([{**r, "_key": str(i)} for i, r in enumerate(a.cache.to_dicts())])

    @on(BudgetsLoaded)
    def show_budgets(self, msg: BudgetsLoaded) -> None:
        self.budgets = msg.status
        rows = [{"_key": f"{c.rule}|{c.subject}", "rule": c.rule, "subject": c.subject, "value": c.value,
                 "threshold": c.threshold, "active": c.active, "severity": c.severity, "message": c.message}
                for c in msg.status.conditions]
        rows.sort(key=lambda r: (not r["active"], r["rule"], -(r["value"] or 0)))
        self.query_one(BudgetTable).replace(rows)
        alerts = [{**r, "_key": f"{r['alert_id']}|{r['state']}|{r['time']}"} for r in msg.alerts.to_dicts()]
        self.query_one(AlertLogTable).replace(alerts)
        if msg.status.error:
            info = f"⚠ {msg.status.error}"
        elif not msg.status.conditions and not self.app.settings.budgets:  # type: ignore[attr-defined]
            info = "No budgets yet: add [budgets] to the config file (docs/costs.md); the alert log is below."
        else:
            firing = sum(1 for c in msg.status.conditions if c.active)
            info = f"{len(rows)} budget and rule subjects, {firing} above their threshold now"
        self.query_one("#budgets-info", Static).update(Text(info))
        self.update_summary()

    @on(QueryFailed)
    def show_failure(self, msg: QueryFailed) -> None:
        if msg.what == "export":
            self.notify(f"export failed: {msg.error}", severity="error", markup=False)
            return
        if msg.what == "costs":
            self.asking = False
        self.query_one("#costs-timing", Static).update("")
        self.show_summary_text(f"⚠ could not load {msg.what}: {msg.error}")

    def show_summary_text(self, text: str) -> None:
        self.query_one("#costs-summary", Static).update(Text(text))

    def update_summary(self) -> None:
        r = self.report
        if r is None:
            return
        c = Palette.of(self.app)
        t = r.totals
        out = Text()
        out.append(fmt.usd(t["cost_usd"], bool(t["unknown_calls"])), style=c("accent", "bold"))
        out.append(f" in the last {self.range_key}")
        if t["prev_cost_usd"] is not None:
            change = t["delta_usd"] or 0.0
            arrow, style = ("▲", c("level-amber")) if change > 0 else ("▼", c("status-ok"))
            pct = f" ({t['delta_pct']:+.0%})" if t["delta_pct"] is not None else ""
            out.append(f" · {arrow} {fmt.usd(abs(change))}{pct}", style=style)
            out.append(f" vs the {self.range_key} before ({fmt.usd(t['prev_cost_usd'])})")
        else:
            out.append(" · nothing stored for the period before", style=c("muted"))
        out.append(f" · {t['calls']:,} calls")
        if t["unknown_calls"]:
            out.append(f" · {t['unknown_calls']:,} of unknown cost", style=c("warning"))
        if r.idle.height:
            out.append(f" · GPU idle {fmt.usd(float(r.idle.get_column('cost_usd').sum()))}", style=c("muted"))
        if self.flagged is not None and self.flagged.total:
            out.append(f" · {self.flagged.total:,} flagged spans", style=c("warning"))
        if self.budgets is not None:
            firing = sum(1 for cond in self.budgets.conditions if cond.active)
            if firing:
                out.append(f" · {firing} over budget", style=c("error", "bold"))
        if r.group_frame.height > TABLE_ROWS:
            out.append(f" · top {TABLE_ROWS} of {r.group_frame.height:,} groups listed (export for all)", style=c("muted"))
        if self.service.pricing_error:
            out.append(f" · ⚠ {self.service.pricing_error}", style=c("warning"))
        for note in r.notes:
            out.append(f" · {note}", style=c("muted"))
        self.query_one("#costs-summary", Static).update(out)

    # -- controls ----------------------------------------------------------------------------
    @on(Select.Changed)
    def select_changed(self, event: Select.Changed) -> None:
        if event.value is Select.BLANK:
            return
        current = {"costs-range": self.range_key, "costs-bucket": self.bucket, "costs-by": self.by}
        if current.get(event.select.id or "") == event.value:
            return
        if event.select.id == "costs-range":
            self.range_key = str(event.value)
            self.bucket = RANGE_BUCKET[self.range_key] if self.bucket == "hour" and self.range_key == "90d" \
                else self.bucket
        elif event.select.id == "costs-bucket":
            self.bucket = str(event.value)
        elif event.select.id == "costs-by":
            self.by = str(event.value)
            attr = self.query_one("#costs-attr", Input)
            attr.display = self.by == "attr"
            if self.by == "attr" and not self.attr_key:
                attr.focus()
        self._sync_selects()
        self.reload(range_changed=event.select.id == "costs-range")

    @on(Input.Submitted, "#costs-attr")
    def attr_submitted(self, event: Input.Submitted) -> None:
        self.attr_key = event.value.strip()
        self.query_one(GroupTable).focus()
        self.reload(range_changed=False)

    def _sync_selects(self) -> None:
        """Show the state in the selects without them reporting it back as a change (a
        late echo of an older value would undo a newer key press)."""
        for select_id, value in (("#costs-range", self.range_key), ("#costs-bucket", self.bucket),
                                 ("#costs-by", self.by)):
            select = self.query_one(select_id, Select)
            if select.value != value:
                with select.prevent(Select.Changed):
                    select.value = value

    def _cycle(self, values: tuple[str, ...], current: str) -> str:
        return values[(values.index(current) + 1) % len(values)]

    def action_cycle_range(self) -> None:
        self.range_key = self._cycle(tuple(RANGES), self.range_key)
        self.bucket = RANGE_BUCKET[self.range_key]
        self._sync_selects()
        self.reload()

    def action_cycle_bucket(self) -> None:
        self.bucket = self._cycle(BUCKETS, self.bucket)
        self._sync_selects()
        self.reload(range_changed=False)

    def action_cycle_by(self) -> None:
        self.by = self._cycle(GROUP_BYS, self.by)
        if self.by == "attr" and not self.attr_key:
            self.by = self._cycle(GROUP_BYS, self.by)  # the attribute needs a key first: `a`
        self.query_one("#costs-attr", Input).display = self.by == "attr"
        self._sync_selects()
        self.reload(range_changed=False)

    def action_attribute(self) -> None:
        self.by = "attr"
        self._sync_selects()
        attr = self.query_one("#costs-attr", Input)
        attr.display = True
        attr.focus()

    def set_view(self, by: str | None = None, range_key: str | None = None, bucket: str | None = None,
                 attr: str | None = None) -> None:
        """Ask a question in one go (palette commands, tests)."""
        if range_key is not None:
            self.range_key = range_key
            self.bucket = bucket or RANGE_BUCKET[range_key]
        if bucket is not None:
            self.bucket = bucket
        if attr is not None:
            self.attr_key, self.by = attr, "attr"
        elif by is not None:
            self.by = by
        self.query_one("#costs-attr", Input).display = self.by == "attr"
        if attr is not None:
            self.query_one("#costs-attr", Input).value = attr
        self._sync_selects()
        self.reload(range_changed=range_key is not None)

    @property
    def view(self) -> str:
        return self.query_one(TabbedContent).active or VIEWS[0]

    def action_cycle_view(self) -> None:
        self.show_view(self._cycle(VIEWS, self.view))

    def show_view(self, view: str) -> None:
        self.query_one(TabbedContent).active = view

    @on(TabbedContent.TabActivated)
    def tab_activated(self, event: TabbedContent.TabActivated) -> None:
        pane = event.pane.id
        if pane == "costs-audit" and self.query_ is not None and self.audit_generation != self.generation:
            self.query_one("#audit-summary", Static).update("computing the token audit…")
            self.load_audit(self.query_, self.generation)
        elif pane == "costs-budgets":
            self.load_budgets()
        focus = {"costs-explorer": GroupTable, "costs-audit": TraceCostTable, "costs-budgets": BudgetTable,
                 "costs-flagged": FlaggedTable}.get(pane or "")
        if focus is not None:
            self.query(focus).first().focus()

    def action_focus_chart(self) -> None:
        self.show_view("costs-explorer")
        chart = self.query_one(CostChart)
        chart.focus()
        if chart.cursor is None:
            chart.action_move(0)

    def action_focus_table(self) -> None:
        self.query_one(GroupTable).focus()

    def action_reload(self) -> None:
        self.reload()
        self.load_budgets()

    # -- drill down ----------------------------------------------------------------------------
    @on(VirtualTable.RowSelected)
    def row_selected(self, event: VirtualTable.RowSelected) -> None:
        table = event.data_table
        if isinstance(table, GroupTable):
            self.drill_group()
        elif isinstance(table, (TraceCostTable, FlaggedTable)):
            row = table.current
            if row is not None:
                self.open_trace(row["trace_id"])
        elif isinstance(table, CacheTable):
            row = table.current
            if row is not None and row.get("example_traces"):
                self.open_trace(row["example_traces"][0])

    def drill_group(self) -> None:
        table = self.query_one(GroupTable)
        values = table.current_values
        if values is None or self.query_ is None:
            return
        dims = dict(zip(self.query_.by, values))
        self.drill(dims, self.query_.since_us, self.query_.until_us)

    @on(CostChart.Drill)
    def drill_bar(self, msg: CostChart.Drill) -> None:
        q = self.query_
        if q is None:
            return
        since = max(q.since_us, int(msg.start.timestamp() * 1_000_000))
        until = min(q.until_us, int(msg.end.timestamp() * 1_000_000))
        dims = dict(zip(q.by, msg.key)) if msg.key is not None else {}
        self.drill(dims, since, until)

    @work(exclusive=True, group="costs-drill", exit_on_error=False, description="show traces")
    async def drill(self, dims: dict[str, Any], since_us: int, until_us: int) -> None:
        query, left_out = drill_query(dims, since_us, until_us)
        app = self.app
        await app.switch_mode("traces")
        apply = getattr(app.screen, "apply_filter", None)
        if apply is not None:
            apply(query)
        if left_out:
            app.notify(f"the traces filter has no key for {', '.join(left_out)}: showing that time range",
                       markup=False)

    def open_trace(self, trace_id: str) -> None:
        from console.screens.trace_detail import TraceScreen

        self.app.push_screen(TraceScreen(trace_id, None, None))

    # -- export ------------------------------------------------------------------------------
    def action_export(self) -> None:
        from console.screens.export_dialog import ExportDialog

        report = self.report
        if report is None:
            self.notify("nothing to export yet", markup=False)
            return
        label = "-".join(report.columns) or "total"
        stem = f"costs-{self.range_key}-{self.bucket}-{label}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
        stem = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in stem)

        def done(choice: tuple[str, str] | None) -> None:
            if choice:
                path, fmt_ = choice
                self.export(report, Path(path).expanduser(), fmt_)

        scope = f"this view ({report.rows.height:,} rows: {self.bucket} × {label})"
        self.app.push_screen(ExportDialog(scope, stem, formats=("csv", "parquet", "json")), done)

    @work(thread=True, group="costs-export", exit_on_error=False, description="export costs")
    def export(self, report: CostReport, path: Path, fmt_: str) -> None:
        try:
            n = self.service.export(report, path, fmt_)
        except Exception as e:
            self.post_message(QueryFailed("export", f"{type(e).__name__}: {e}"))
            return
        self.post_message(ExportFinished(str(path), n, fmt_))

    @on(ExportFinished)
    def exported(self, msg: ExportFinished) -> None:
        self.notify(f"wrote {msg.rows:,} rows to {clean(msg.path, 300)}", markup=False)

    # -- palette -----------------------------------------------------------------------------
    def pane_commands(self) -> list[PaneCommand]:
        cmds = [PaneCommand("costs: export view", "Write the current view as CSV, Parquet or JSON", self.action_export)]
        for key in GROUP_BYS[:-1]:
            cmds.append(PaneCommand(f"costs: group by {GROUP_LABELS.get(key, key)}", f"Spend per {key}",
                                    lambda k=key: self.set_view(by=k)))
        cmds.append(PaneCommand("costs: group by attribute", "Spend per value of a raw span attribute",
                                self.action_attribute))
        for key in RANGES:
            cmds.append(PaneCommand(f"costs: last {key}", f"Range: the last {key}", lambda k=key: self.set_view(range_key=k)))
        for view, title in zip(VIEWS, ("explorer", "token audit", "budgets and alerts", "flagged spans")):
            cmds.append(PaneCommand(f"costs: show {title}", f"Switch to the {title}", lambda v=view: self.show_view(v)))
        return cmds


__all__ = ["CLOCK", "AuditLoaded", "BudgetsLoaded", "CostsLoaded", "CostsScreen", "FlaggedLoaded"]
