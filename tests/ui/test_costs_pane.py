"""Pilot tests: the costs pane driven as a user would, over a real store."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from textual.widgets import Input, Static, TabbedContent

from console.screens import costs as costs_screen
from console.screens.costs import CostsScreen
from console.screens.export_dialog import ExportDialog
from console.screens.trace_detail import TraceScreen
from console.screens.traces import TracesScreen
from console.widgets.cost_chart import CostChart
from console.widgets.cost_tables import (AlertLogTable, BudgetTable, CacheTable, FlaggedTable, GroupTable,
                                         TraceCostTable)
from console.widgets.trace_table import TraceTable
from tests.ui.conftest import settle
from tests.ui.costs_ui_support import NOW, SIZE, costs_app, costs_store, open_costs


@pytest.fixture(autouse=True)
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(costs_screen, "CLOCK", lambda: NOW.timestamp())


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return costs_store(tmp_path_factory.mktemp("costs-ui") / "store")


def groups(app) -> dict:  # type: ignore[no-untyped-def]
    table = app.screen.query_one(GroupTable)
    return {tuple(r.get(d) for d in table.dimensions): r for r in table.rows_by_id.values()}


def summary(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.screen.query_one("#costs-summary", Static).render())


async def test_opens_on_model_groups_with_totals(store: Path) -> None:
    app = costs_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_costs(pilot)
        screen = app.screen
        assert isinstance(screen, CostsScreen)
        rows = groups(app)
        assert set(rows) == {("gpt-4o",), ("claude-sonnet-4-5",), ("gpt-4o-mini",), ("llama-3-70b",), ("acme-ft",)}
        total = screen.report.totals["cost_usd"]
        assert sum(r["cost_usd"] or 0 for r in rows.values()) == pytest.approx(total)
        assert "in the last 7d" in summary(app) and "12 of unknown cost" in summary(app)
        assert "2 flagged spans" in summary(app)
        table = screen.query_one(GroupTable)
        assert str(table.get_cell(table.order[-1], "cost")) == "?"  # acme-ft: unknown, never $0
        assert table.has_focus
        chart = screen.query_one(CostChart)
        assert chart.data is not None and len(chart.data.buckets) == 8  # 7 days, partial first and last


async def test_keys_change_range_bucket_and_group_by(store: Path) -> None:
    app = costs_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_costs(pilot)
        screen = app.screen
        total = screen.report.totals["cost_usd"]
        await pilot.press("d")  # provider
        await settle(pilot, app)
        assert set(groups(app)) == {("openai",), ("anthropic",), ("vllm",), ("acme",)}
        await pilot.press("d", "d")  # service, user
        await settle(pilot, app)
        assert set(groups(app)) == {("alice",), ("bob",), ("carol",)}
        assert screen.report.totals["cost_usd"] == pytest.approx(total)
        await pilot.press("r")  # 30d, by day
        await settle(pilot, app)
        assert (screen.range_key, screen.bucket) == ("30d", "day")
        assert screen.report.totals["cost_usd"] == pytest.approx(total)
        await pilot.press("b")  # week
        await settle(pilot, app)
        assert screen.query_one(CostChart).data.bucket == "week"
        await pilot.press("r", "r")  # 90d, then 24h by hour
        await settle(pilot, app)
        assert (screen.range_key, screen.bucket) == ("24h", "hour")
        assert screen.report.totals["calls"] < 40  # one day of three
        assert screen.query_one("#costs-by").value == "user"


async def test_the_chart_frame_built_by_the_worker_is_the_one_the_ui_thread_draws(store: Path) -> None:
    app = costs_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_costs(pilot)
        chart = app.screen.query_one(CostChart)
        for key in ("d", "r"):  # a new question: its frame comes prebuilt
            await pilot.press(key)
            await settle(pilot, app)
            assert chart._prebuilt is not None and chart._prebuilt.data is chart.data
            prebuilt = chart.render()
            chart._prebuilt = None
            assert prebuilt.plain == chart.render().plain and prebuilt.spans == chart.render().spans
        await pilot.press("l")  # the cursor moved: drawn here
        chart.focus()
        await pilot.press("right")
        await settle(pilot, app)
        assert chart._prebuilt is None and chart.cursor is not None


async def test_group_by_a_raw_attribute(store: Path) -> None:
    app = costs_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_costs(pilot)
        await pilot.press("a")
        attr = app.screen.query_one("#costs-attr", Input)
        assert attr.display and attr.has_focus
        await pilot.press(*"app.team", "enter")
        await settle(pilot, app)
        assert set(groups(app)) == {("care",), ("growth",)}


async def test_enter_on_a_row_shows_its_traces(store: Path) -> None:
    app = costs_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_costs(pilot)
        await pilot.press("d", "d", "d")  # by user
        await settle(pilot, app)
        table = app.screen.query_one(GroupTable)
        top = table.current_values
        await pilot.press("enter")
        await settle(pilot, app)
        await pilot.pause(0.5)  # the traces filter applies after its debounce
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, TracesScreen)
        query = screen.query_one("#filter-input", Input).value
        assert f"user:{top[0]}" in query and "since:2025-12-31T23:00:00" in query
        traces = screen.query_one(TraceTable)
        assert traces.row_count == 24 and {r["user_id"] for r in traces.rows_by_id.values()} == {top[0]}


async def test_enter_on_a_bar_shows_that_days_traces(store: Path) -> None:
    app = costs_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_costs(pilot)
        await pilot.press("c")  # the chart, cursor on the last bar
        chart = app.screen.query_one(CostChart)
        assert chart.has_focus and chart.cursor == 7
        await pilot.press("left")  # from 2026-01-07 (today, so far) to 2026-01-06
        label = chart.data.bucket_label(chart.cursor)
        assert label == "Tue 2026-01-06"
        await pilot.press("enter")
        await settle(pilot, app)
        await pilot.pause(0.5)
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, TracesScreen)
        query = screen.query_one("#filter-input", Input).value
        day = chart.data.buckets[chart.cursor].strftime("%Y-%m-%d")
        assert f"since:{day}T00:00:00" in query, (label, query)
        assert {r["start_time"].strftime("%Y-%m-%d") for r in screen.query_one(TraceTable).rows_by_id.values()} == {day}


async def test_export_the_view_at_once(store: Path, tmp_path: Path) -> None:
    app = costs_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_costs(pilot)
        await pilot.press("e")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ExportDialog)
        out = tmp_path / "view.csv"
        dialog.query_one("#export-path", Input).value = str(out)
        await pilot.press("enter")
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, CostsScreen)
        frame = pl.read_csv(out)
        assert frame.columns[:2] == ["bucket_start", "model"]
        assert frame.get_column("cost_usd").sum() == pytest.approx(screen.report.totals["cost_usd"])


async def test_audit_view_and_opening_a_trace(store: Path) -> None:
    app = costs_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_costs(pilot)
        await pilot.press("v")
        await settle(pilot, app)
        screen = app.screen
        assert screen.query_one(TabbedContent).active == "costs-audit"
        text = str(screen.query_one("#audit-summary", Static).render())
        assert "system prompt" in text and "retrieved context" in text and "would have been saved" in text
        assert screen.query_one("#audit-traces-cost", TraceCostTable).row_count == 10
        assert screen.query_one(CacheTable).row_count == 12
        assert screen.query_one("#audit-traces-cost", TraceCostTable).has_focus
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, TraceScreen)


async def test_budgets_alerts_and_flagged_views(store: Path) -> None:
    app = costs_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_costs(pilot)
        await pilot.press("v", "v")
        await settle(pilot, app)
        screen = app.screen
        budgets = screen.query_one(BudgetTable)
        rules = {(r["rule"], r["subject"]): r for r in budgets.rows_by_id.values()}
        assert rules[("budget:daily-total", "global")]["active"]  # the day's spend is over $0.05
        assert ("budget:per-user-weekly", "user:alice") in rules
        assert screen.query_one(AlertLogTable).row_count == 3
        assert "over budget" in summary(app)
        await pilot.press("v")
        await settle(pilot, app)
        flagged = screen.query_one(FlaggedTable)
        assert flagged.row_count == 2 and flagged.has_focus
        info = str(screen.query_one("#flagged-info", Static).render())
        assert "cached > input: 1" in info and "total ≠ in + out: 1" in info
        await pilot.press("v")
        assert screen.query_one(TabbedContent).active == "costs-explorer"


async def test_palette_commands_and_a_bad_budgets_section(store: Path) -> None:
    app = costs_app(store, budgets={"budgets": [{"name": "x", "period": "yearly", "amount_usd": 1}]})
    async with app.run_test(size=SIZE) as pilot:
        await open_costs(pilot)
        titles = [c.title for c in app.screen.pane_commands()]
        assert "costs: export view" in titles and "costs: group by trace name" in titles
        next(c for c in app.screen.pane_commands() if c.title == "costs: group by tag").run()
        await settle(pilot, app)
        assert set(groups(app)) == {("prod",), ("staging",), ("beta",)}
        assert "counts under each" in summary(app)
        app.screen.show_view("costs-budgets")
        await settle(pilot, app)
        info = str(app.screen.query_one("#budgets-info", Static).render())
        assert "budgets.budgets[0].period" in info
