"""A trace's LLM span tied to the serving endpoint's health: the Server tab."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from textual.widgets import Static, TabbedContent

from console.screens.trace_detail import TraceScreen
from console.widgets.span_detail import SpanDetail
from store.query import StoreReader
from store.query.health import HealthQueries
from tests.support.health_store import llm_span_rows, write_health_history, write_spans
from tests.ui.conftest import make_app, settle
from tests.ui.health_ui_support import NOW, SIZE

TARGET = "vllm:http://127.0.0.1:8000"


async def test_server_tab_shows_the_endpoint_around_the_span(tmp_path: Path) -> None:
    store = tmp_path / "store"
    write_health_history(store, NOW, minutes=10, endpoints={TARGET: {}}, gpus=1)
    start = NOW - timedelta(minutes=3, seconds=4)  # 6 s after a scrape, 4 s before the next
    write_spans(store, llm_span_rows("localhost:8000", start, 1))
    expected = HealthQueries(StoreReader(store)).server_state("localhost:8000", start)
    app = make_app(store, health={"gpu": "none"})
    async with app.run_test(size=SIZE) as pilot:
        await open_newest_trace(pilot, app)
        detail = app.screen.query_one(SpanDetail)
        tabs = detail.query_one(TabbedContent)
        tabs.active = "tab-server"
        await settle(pilot, app)
        text = detail.query_one("#span-server", Static).render().plain
        assert "127.0.0.1" not in text.split("\n")[0]  # the span's own spelling first
        assert "localhost:8000" in text and f"scraped as {TARGET}" in text
        assert "before (-6.0s)" in text and "after (+4.0s)" in text
        assert f"{expected.before.kv_cache_usage * 100:.0f}%" in text
        assert "900 tok/s generated" in text
        assert "gpu:0" in text and "this machine" in text


async def test_no_server_tab_without_health_samples(tmp_path: Path) -> None:
    store = tmp_path / "store"
    write_spans(store, llm_span_rows("localhost:8000", NOW, 1))
    app = make_app(store, health={"gpu": "none"})
    async with app.run_test(size=SIZE) as pilot:
        await open_newest_trace(pilot, app)
        assert not app.screen.query("#tab-server")


async def open_newest_trace(pilot, app) -> None:  # type: ignore[no-untyped-def]
    await settle(pilot, app)
    await pilot.press("enter")
    await settle(pilot, app)
    assert isinstance(app.screen, TraceScreen)
