"""Pilot tests: the traces list and the trace detail, driven as a user would."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from pathlib import Path

from textual.widgets import Input, Static

from console.screens.help import HelpScreen
from console.screens.trace_detail import TraceScreen
from console.screens.traces import TracesScreen
from console.widgets.span_detail import SpanDetail
from console.widgets.trace_table import TraceTable
from console.widgets.waterfall import SpanWaterfall
from tests.support.stores import T0, agent_trace, write
from tests.ui.conftest import make_app, settle

SIZE = (120, 40)


async def test_list_loads_newest_first(demo_store: Path) -> None:
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        table = app.screen.query_one(TraceTable)
        assert table.row_count == 30
        first = table.current
        assert first is not None and first["root_name"] == "invoke_agent support-2"  # trace 29, the newest
        assert table.has_focus


async def test_vim_keys_move_the_cursor(demo_store: Path) -> None:
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        table = app.screen.query_one(TraceTable)
        await pilot.press("j", "j")
        assert table.cursor_row == 2
        await pilot.press("k")
        assert table.cursor_row == 1
        await pilot.press("G")
        assert table.cursor_row == 29
        await pilot.press("g")
        assert table.cursor_row == 0


async def test_filter_narrows_and_bad_query_explains(demo_store: Path) -> None:
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("slash")
        assert app.screen.query_one("#filter-input", Input).has_focus
        await pilot.press(*"status:error")
        await settle(pilot, app)
        table = app.screen.query_one(TraceTable)
        assert table.row_count == 4  # traces 3, 10, 17, 24
        assert all(r["error_count"] for r in table.rows_by_id.values())
        app.screen.query_one("#filter-input", Input).value = "bogus:1"
        await settle(pilot, app)
        err = app.screen.query_one("#filter-error", Static)
        assert err.display and "unknown filter" in str(err.render())
        assert table.row_count == 4  # the last good result stays
        app.screen.query_one("#filter-input", Input).value = 'model:claude* user:bob "refund" since:2026-01-01'
        await settle(pilot, app)
        assert table.row_count == 10
        await pilot.press("enter")
        assert table.has_focus


async def test_runaway_and_flags_show(demo_store: Path) -> None:
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        app.screen.query_one("#filter-input", Input).value = "is:runaway"
        await settle(pilot, app)
        table = app.screen.query_one(TraceTable)
        assert table.row_count == 1
        row = table.current
        assert row["runaway"] and row["llm_calls"] == 30
        flags = str(table.get_cell(row["trace_id"], "flags"))
        assert "L" in flags


async def test_open_trace_navigate_spans_and_back(demo_store: Path) -> None:
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("enter")
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, TraceScreen)
        wf = screen.query_one(SpanWaterfall)
        assert len(wf.spans) == 3
        assert wf.spans[wf.shown[0]]["kind"] == "agent"
        await pilot.press("j")
        await settle(pilot, app)
        assert screen.selected["kind"] == "llm"
        header = str(screen.query_one("#trace-header", Static).render())
        assert "1 LLM calls" in header and "session" in header
        await pilot.press("enter")  # fold the root: only it stays visible
        await pilot.press("k", "enter")
        assert len(wf.shown) == 1
        await pilot.press("enter")
        assert len(wf.shown) == 3
        await pilot.press("escape")
        await settle(pilot, app)
        assert isinstance(app.screen, TracesScreen)


async def test_next_and_previous_trace_in_session(demo_store: Path) -> None:
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        table = app.screen.query_one(TraceTable)
        await pilot.press("j")  # trace 28, session sess-9 (traces 27, 28, 29)
        await pilot.press("enter")
        await settle(pilot, app)
        screen = app.screen
        first = screen.trace_id
        await pilot.press("right_square_bracket")
        await settle(pilot, app)
        assert screen.trace_id != first and screen.summary["session_id"] == "sess-9"
        await pilot.press("left_square_bracket")
        await settle(pilot, app)
        assert screen.trace_id == first
        assert table is not None


async def test_mark_and_export_jsonl_and_csv(demo_store: Path, tmp_path: Path) -> None:
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("space", "space")
        table = app.screen.query_one(TraceTable)
        assert len(table.marked) == 2
        out = tmp_path / "marked.jsonl"
        app.screen.export(sorted(table.marked), out, "jsonl")
        await settle(pilot, app)
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        assert {r["trace_id"] for r in rows} == table.marked
        out_csv = tmp_path / "view.csv"
        app.screen.export(None, out_csv, "csv")
        await settle(pilot, app)
        import polars as pl

        assert pl.read_csv(out_csv).height == 3 * 29 + 36  # every span of the view (the runaway trace has 36)


async def test_export_dialog_flow(demo_store: Path, tmp_path: Path) -> None:
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("e")
        await pilot.pause()
        path = app.screen.query_one("#export-path", Input)
        path.value = str(tmp_path / "x.jsonl")
        await pilot.press("enter")
        await settle(pilot, app)
        assert (tmp_path / "x.jsonl").exists()


async def test_copy_trace_id(demo_store: Path) -> None:
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("c")
        assert app.clipboard == app.screen.query_one(TraceTable).current_id


async def test_live_rows_arrive_without_stealing_the_cursor(demo_store: Path) -> None:
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        table = app.screen.query_one(TraceTable)
        await pilot.press("j", "j", "j")
        watched = table.current_id
        write(demo_store, agent_trace(100, T0 + timedelta(hours=2)) + agent_trace(101, T0 + timedelta(hours=3)))
        app.screen.live_tick()
        await settle(pilot, app)
        assert table.row_count == 32
        assert table.current_id == watched  # the cursor stayed on the same trace
        assert table.order[0] == agent_trace(101, T0)[0]["trace_id"]


async def test_help_palette_and_modes(demo_store: Path) -> None:
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        for key, mode in (("2", "prompts"), ("3", "costs"), ("4", "guardrails"), ("5", "health"), ("1", "traces")):
            await pilot.press(key)
            await pilot.pause()
            assert app.current_mode == mode
        titles = [c.title for c in app.screen.pane_commands()]
        assert "traces: filter" in titles and "traces: export view" in titles


async def test_span_detail_tabs_show_cost_and_raw(demo_store: Path) -> None:
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("enter")
        await settle(pilot, app)
        await pilot.press("j")
        await settle(pilot, app)
        detail = app.screen.query_one(SpanDetail)
        cost = str(detail.query_one("#span-cost", Static).render())
        assert "computed from LiteLLM's price map" in cost and "input tokens" in cost


async def test_an_empty_store_says_how_to_start(tmp_path: Path) -> None:
    app = make_app(tmp_path / "empty")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        info = str(app.screen.query_one("#traces-info", Static).render())
        assert "No traces yet" in info and "/v1/traces" in info and "llmops-console demo" in info


def _three_pages(store: Path) -> Path:
    """450 traces, every other one failed: more than two pages of the list."""
    rows: list[dict] = []
    for i in range(450):
        rows += agent_trace(i, T0 + timedelta(minutes=i), error=i % 2 == 0)
    write(store, rows)
    return store


async def test_scrolling_to_the_end_appends_the_page_read_ahead(tmp_path: Path) -> None:
    app = make_app(_three_pages(tmp_path / "store"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, TracesScreen)
        table = screen.query_one(TraceTable)
        assert table.row_count == 200
        assert screen.prefetch is not None and screen.prefetch[1] is not None  # the next page, read ahead
        screen.load_more()
        assert table.row_count == 400  # appended at once, no query waited for
        await settle(pilot, app)  # the page after that is read ahead in turn
        await pilot.press("G")
        await settle(pilot, app)
        assert table.row_count == 450
        assert "all loaded" in str(screen.query_one("#traces-info", Static).render())
        starts = [table.rows_by_id[k]["start_time"] for k in table.order]
        assert len(set(table.order)) == 450 and starts == sorted(starts, reverse=True)
        assert screen.prefetch is None


async def test_a_new_filter_drops_the_page_read_ahead(tmp_path: Path) -> None:
    app = make_app(_three_pages(tmp_path / "store"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, TracesScreen)
        await pilot.press("slash")
        await pilot.press(*"status:error")
        await pilot.press("enter")
        await settle(pilot, app)
        table = screen.query_one(TraceTable)
        assert table.row_count == 200
        await pilot.press("G")
        await settle(pilot, app)
        assert table.row_count == 225
        assert all(table.rows_by_id[k]["error_count"] for k in table.order)


async def _open_first_trace_and_back(pilot, app) -> str:  # type: ignore[no-untyped-def]
    await settle(pilot, app)
    await pilot.press("enter")
    await settle(pilot, app)
    opened = app.screen.trace_id
    await pilot.press("escape")
    await settle(pilot, app)
    return opened


async def test_a_trace_opened_again_is_shown_whole_once_loaded(demo_store: Path) -> None:
    """The second trace opened reuses the screen: it is pushed when its spans are in, never
    showing the first trace's spans under the second one's id."""
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(TraceTable)
        first = await _open_first_trace_and_back(pilot, app)
        await pilot.press("j")
        second = table.current_id
        assert second != first
        await pilot.press("enter")
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, TraceScreen) and screen.trace_id == second
        assert {s["trace_id"] for s in screen.query_one(SpanWaterfall).spans} == {second}


def _hold_trace_loads(app) -> threading.Event:  # type: ignore[no-untyped-def]
    """Trace loads wait until the returned event is set: a slow store."""
    released = threading.Event()
    fast = app.store.trace

    def held(*args):  # type: ignore[no-untyped-def]
        released.wait(5)
        return fast(*args)

    app.store.trace = held
    return released


async def test_a_slow_trace_is_shown_loading_then_filled(demo_store: Path) -> None:
    import time

    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await _open_first_trace_and_back(pilot, app)  # the trace screen is built
        released = _hold_trace_loads(app)
        await pilot.press("j", "enter")
        started = time.monotonic()
        while not isinstance(app.screen, TraceScreen) and time.monotonic() - started < 3:
            await pilot.pause(0.02)
        assert isinstance(app.screen, TraceScreen)  # shown while the query still runs
        assert "loading" in str(app.screen.query_one("#trace-header", Static).render())
        assert app.screen.query_one(SpanWaterfall).spans == []
        released.set()
        await settle(pilot, app)
        spans = app.screen.query_one(SpanWaterfall).spans
        assert spans and {s["trace_id"] for s in spans} == {app.screen.trace_id}


async def test_the_trace_screen_is_built_ahead_and_first_opened_whole(demo_store: Path) -> None:
    """A second after launch the trace screen is built, out of sight; the first trace
    opened is then shown in it like any other."""
    from console.app import WARM_UP_AFTER_S

    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.pause(WARM_UP_AFTER_S + 0.3)
        await settle(pilot, app)
        assert app.is_screen_installed("trace:traces")
        built = app.get_screen("trace:traces")
        assert built.is_running and not built.is_current
        assert isinstance(app.screen, TracesScreen)
        wanted = app.screen.query_one(TraceTable).current_id
        await pilot.press("enter")
        await settle(pilot, app)
        assert app.screen is built and built.trace_id == wanted
        assert {s["trace_id"] for s in built.query_one(SpanWaterfall).spans} == {wanted}


async def test_a_trace_opened_then_left_for_another_pane_waits_on_its_own_pane(demo_store: Path) -> None:
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await _open_first_trace_and_back(pilot, app)
        released = _hold_trace_loads(app)
        await pilot.press("j", "enter", "3")  # open, then straight to Costs
        await pilot.pause(0.3)
        released.set()
        await settle(pilot, app)
        assert app.current_mode == "costs" and not isinstance(app.screen, TraceScreen)
        await pilot.press("1")
        await settle(pilot, app)
        assert isinstance(app.screen, TraceScreen) and app.screen.query_one(SpanWaterfall).spans
