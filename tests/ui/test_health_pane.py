"""Pilot tests of the health pane: live cards from local fake vLLM servers and the
fake GPU source, endpoint failures, no GPU, thresholds, history from stored
samples, the traces' latency, and the keys."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from rich.text import Text
from textual.widgets import Static, TabbedContent

from console.screens.health import HealthScreen
from console.widgets.health_cards import BigValue, EndpointCard, GpuCard
from tests.support.health_store import llm_span_rows, write_health_history, write_spans
from tests.ui.conftest import settle
from tests.ui.health_ui_support import SIZE, clock, closed_port, fake, health_app, open_pane, step  # noqa: F401

pytestmark = pytest.mark.usefixtures("clock")


def text_of(widget: Static) -> str:
    content = widget.render()
    return content.plain if hasattr(content, "plain") else str(content)


def card(screen: HealthScreen, url: str) -> EndpointCard:
    return next(c for c in screen.query(EndpointCard) if c.target == f"vllm:{url}")


def big(card_widget: EndpointCard | GpuCard, name: str) -> BigValue:
    return card_widget.query_one(f".big.{name}", BigValue)


async def test_cards_show_live_values_and_exact_rates(tmp_path: Path, clock) -> None:
    one, two = fake(clock, engines=2), fake(clock)
    app = health_app(tmp_path / "store", [one.url, two.url])
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_pane(pilot)
            assert len(screen.query(EndpointCard)) == 2 and len(screen.query(GpuCard)) == 2
            screen = await step(pilot, clock, 10)
            screen = await step(pilot, clock, 10)
            view = screen.view.endpoints[0]
            assert view.total.generation_tokens_per_s == pytest.approx(900.0)  # the fake's rate, on the frozen clock
            assert view.total.requests_per_s == pytest.approx(3.0, abs=0.3)  # whole requests per engine and reason
            assert len(view.engines) == 2 and view.total.running == sum(e.running for e in view.engines)
            first = card(screen, one.url)
            assert big(first, "gen").value == "900"
            assert big(first, "kv").value == f"{view.total.kv_cache_usage * 100:.0f}"
            assert first.query_one(".card-engines", Static).display  # two engines: the table is shown
            assert not card(screen, two.url).query_one(".card-engines", Static).display
            latency = text_of(first.query_one(".card-latency", Static))
            assert "TTFT" in latency and "over the last 20s" in latency
            info = text_of(screen.query_one("#health-info", Static))
            assert "2 endpoints (2 up)" in info and "2 GPUs via fake" in info
            gpu = screen.query(GpuCard).first()
            assert gpu.border_title.startswith("gpu:0 · NVIDIA H100")
            assert "W" in text_of(gpu.query_one(".gpu-facts", Static))
    finally:
        one.close()
        two.close()


async def test_endpoint_failures_are_shown_and_the_rest_works(tmp_path: Path, clock) -> None:
    ok, slow, dying, warming, garbage, bare = (fake(clock) for _ in range(6))
    slow.mode = "slow"
    warming.mode = "warming"
    garbage.mode = "garbage"
    bare.mode = "no-metrics"
    refused = f"http://127.0.0.1:{closed_port()}"
    urls = [ok.url, refused, slow.url, dying.url, warming.url, garbage.url, bare.url]
    app = health_app(tmp_path / "store", urls, timeout=1.0)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await open_pane(pilot)
            dying.mode = "down"  # seen up once, now 503: the engine died
            screen = await step(pilot, clock, 5)
            states = {e.base_url: (e.state.value, e.error) for e in screen.view.endpoints}
            assert states[ok.url] == ("up", None)
            assert states[refused] == ("down", "connection refused")
            assert states[slow.url][0] == "down" and "timeout after 1s" in states[slow.url][1]
            assert states[dying.url] == ("down", "HTTP 503: engine dead")
            assert states[warming.url] == ("warming", "HTTP 503: warming up")
            assert states[garbage.url][0] == "up" and "metrics:" in states[garbage.url][1]
            assert states[bare.url] == ("up", "metrics: HTTP 404")
            head = text_of(card(screen, refused).query_one(".card-head", Static))
            assert "down" in head and "connection refused" in head
            assert not card(screen, refused).query_one(".big-row").display  # no metrics: no big numbers
            assert "warming" in text_of(card(screen, warming.url).query_one(".card-head", Static))
            conditions = text_of(screen.query_one("#health-conditions", Static))
            assert "endpoint down" in conditions
            assert big(card(screen, ok.url), "gen").value != "-"  # the healthy one is unaffected
            dying.mode = "up"
            screen = await step(pilot, clock, 5)
            recovered = card(screen, dying.url)
            head = text_of(recovered.query_one(".card-head", Static))
            assert "up" in head and "last error" in head and "HTTP 503" in head
    finally:
        for server in (ok, slow, dying, warming, garbage, bare):
            server.close()


async def test_no_gpu_is_said_plainly(tmp_path: Path, clock) -> None:
    server = fake(clock)
    app = health_app(tmp_path / "store", [server.url], gpu=f"dcgm:http://127.0.0.1:{closed_port()}/metrics")
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_pane(pilot)
            note = text_of(screen.query_one("#health-gpu-note", Static))
            assert note.startswith("No GPU readings: dcgm-exporter unreachable")
            assert "Everything else works" in note
            assert len(screen.query(GpuCard)) == 0 and len(screen.query(EndpointCard)) == 1
            assert "GPU: none (dcgm)" in text_of(screen.query_one("#health-info", Static))
    finally:
        server.close()


async def test_no_endpoints_configured_says_how(tmp_path: Path, clock) -> None:
    app = health_app(tmp_path / "store", [], gpu="none")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_pane(pilot)
        note = text_of(screen.query_one("#health-endpoints-note", Static))
        assert "No vLLM endpoints configured" in note and 'vllm = ["http://127.0.0.1:8000"]' in note
        assert "not watched" in text_of(screen.query_one("#health-gpu-note", Static))


async def test_a_bad_health_section_is_reported(tmp_path: Path, clock) -> None:
    app = health_app(tmp_path / "store", [], gpu="cuda")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.app.switch_mode("health")
        await settle(pilot, app)
        note = text_of(app.screen.query_one("#health-endpoints-note", Static))
        assert "settings not used" in note and "health.gpu" in note


async def test_thresholds_turn_values_amber_and_red(tmp_path: Path, clock) -> None:
    server = fake(clock)
    thresholds = {"kv_cache_amber": 0.0, "kv_cache_red": 0.01, "gpu_temp_amber_c": 1, "gpu_temp_red_c": 2,
                  "waiting_amber": 0, "waiting_red": 1000}
    app = health_app(tmp_path / "store", [server.url], thresholds=thresholds)
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_pane(pilot)
            c = card(screen, server.url)
            assert big(c, "kv").level == "red"
            assert big(c, "waiting").level == "amber"
            assert big(c, "running").level is None
            facts = screen.query(GpuCard).first().query_one(".gpu-facts", Static).render()
            temp = next(s for s in facts.spans if "°C" in facts.plain[s.start:s.end])
            assert "bold" in str(temp.style)  # red levels are bold as well as red
    finally:
        server.close()


async def test_traces_latency_sits_next_to_the_server_figures(tmp_path: Path, clock) -> None:
    server = fake(clock)
    store = tmp_path / "store"
    address = server.url.removeprefix("http://")
    write_spans(store, llm_span_rows(address, clock.now - timedelta(minutes=4), 11, every_s=10))
    app = health_app(store, [server.url])
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_pane(pilot)
            await step(pilot, clock, 10)
            latency = screen.trace_latency[f"vllm:{server.url}"]
            assert latency.spans == 11 and latency.duration_p50 == pytest.approx(2000 * 1.05)
            text = text_of(card(screen, server.url).query_one(".card-latency", Static))
            assert "our traces saw" in text and "2.1s" in text and "11 traced calls" in text
    finally:
        server.close()


async def test_history_tab_draws_stored_samples_and_windows_cycle(tmp_path: Path, clock) -> None:
    store = tmp_path / "store"
    target = "vllm:http://gpu-a:8000"
    write_health_history(store, clock.now, minutes=20, endpoints={target: {"engines": 2}}, gpus=2,
                         down={target: [(300, 400)]})
    app = health_app(store, ["http://gpu-a:8000"], gpu="none", timeout=0.2)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_pane(pilot)
        await pilot.press("v")
        await settle(pilot, app)
        assert screen.query_one(TabbedContent).active == "health-history"
        assert screen.history is not None and list(screen.history.endpoints) == [target]
        frame = screen.history.endpoints[target]
        assert frame.height > 60 and frame["generation_tokens_per_s"].drop_nulls().mean() == pytest.approx(900, rel=0.01)
        info = text_of(screen.query_one("#health-history-info", Static))
        assert info.startswith("last 15m") and "gpu-a:8000 down in" in info
        await pilot.press("w")
        await settle(pilot, app)
        assert screen.window[0] == "1h"
        assert text_of(screen.query_one("#health-history-info", Static)).startswith("last 1h")
        await pilot.press("v")
        assert screen.query_one(TabbedContent).active == "health-now"


async def test_keys_pause_scroll_and_palette(tmp_path: Path, clock) -> None:
    server = fake(clock)
    app = health_app(tmp_path / "store", [server.url], fake_gpus=8)
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_pane(pilot)
            await pilot.press("p")
            assert screen.sampler.paused and "paused (p)" in text_of(screen.query_one("#health-info", Static))
            await pilot.press("p")
            assert not screen.sampler.paused
            scroll = screen.query_one("#health-cards")
            await pilot.press("G")
            assert scroll.scroll_y > 0
            await pilot.press("g")
            assert scroll.scroll_y == 0
            await pilot.press("j")
            assert scroll.scroll_y == 3
            titles = [c.title for c in screen.pane_commands()]
            assert "health: show history" in titles and "health: history window 24h" in titles
            bindings = {b.id for b in screen.BINDINGS}
            assert {"health.view", "health.window", "health.pause", "health.refresh"} <= bindings
    finally:
        server.close()


async def test_sampling_pauses_while_the_pane_is_hidden(tmp_path: Path, clock) -> None:
    server = fake(clock)
    app = health_app(tmp_path / "store", [server.url])
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_pane(pilot)
            await app.switch_mode("traces")
            await pilot.pause()
            assert screen.sampler.paused
            await app.switch_mode("health")
            await pilot.pause()
            assert not screen.sampler.paused
    finally:
        server.close()


def test_hostile_text_is_drawn_as_text() -> None:
    """Endpoint errors and model ids come from the network: never markup."""
    from console.palette import Palette
    from console.widgets.health_cards import _engine_label
    from store.health.vllm import EngineKey, EngineStats

    label = _engine_label(EngineStats(EngineKey("[bold red]x\x1b[31m", "0")), 40)
    assert "\x1b" not in label and "[bold red]" in label
    assert isinstance(Palette({})("muted"), str)
    assert Text(label).plain == label


def test_sparkline_scales_between_min_and_max_and_keeps_the_newest() -> None:
    from console.widgets.health_cards import spark_text

    assert spark_text([1, 2, 3, 4, 5, 6, 7, 8, 9], 9, "").plain == "▁▂▃▄▅▅▆▇█"
    assert spark_text([5.0] * 3, 10, "").plain == "▄▄▄"  # flat: a middle line, not full bars
    assert len(spark_text(list(range(300)), 20, "").plain) == 20  # 15 values a cell, their max
    assert spark_text([], 10, "").plain == "" and spark_text([1, 2], 0, "").plain == ""
