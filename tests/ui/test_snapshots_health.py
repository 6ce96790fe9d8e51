"""Snapshots of the health pane (live cards, failures, history) and of a trace's
Server tab, at 120x40 in both themes.

Deterministic: the pane's clock is frozen and the fake vLLM servers count on it;
GPUs come from FakeGpuSource; history and spans are written to a tmp store.
Endpoint URLs are drawn on screen, so the servers listen on fixed ports; the
tests skip if one of them is taken on this machine.
"""

from __future__ import annotations

import socket
from datetime import timedelta
from pathlib import Path

import pytest
from textual.widgets import TabbedContent

from console.screens import health as health_screen
from console.widgets.span_detail import SpanDetail
from tests.support.fake_vllm import FakeVllm
from tests.support.health_store import llm_span_rows, write_health_history, write_spans
from tests.ui.conftest import settle
from tests.ui.health_ui_support import SIZE, FrozenClock, health_app, open_pane, step

THEMES = ["llmops-dark", "llmops-light"]
PORTS = {"a": 28711, "b": 28712, "refused": 28713, "warming": 28714, "garbage": 28715}  # below the ephemeral range


def url(name: str) -> str:
    return f"http://127.0.0.1:{PORTS[name]}"


def _free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FrozenClock:
    frozen = FrozenClock()
    monkeypatch.setattr(health_screen, "CLOCK", frozen)
    return frozen


@pytest.fixture
def servers(clock: FrozenClock):  # type: ignore[no-untyped-def]
    if not all(_free(p) for p in PORTS.values()):
        pytest.skip(f"one of the fixed snapshot ports {sorted(PORTS.values())} is taken")
    made = {
        "a": FakeVllm(PORTS["a"], clock=clock.seconds, engines=2),
        "b": FakeVllm(PORTS["b"], clock=clock.seconds, phase=40.0, model="Qwen/Qwen3-8B"),
        "warming": FakeVllm(PORTS["warming"], clock=clock.seconds),
        "garbage": FakeVllm(PORTS["garbage"], clock=clock.seconds),
    }
    made["warming"].mode = "warming"
    made["garbage"].mode = "garbage"
    yield made
    for server in made.values():
        server.close()


@pytest.fixture
def store(tmp_path: Path, clock: FrozenClock) -> Path:
    root = tmp_path / "store"
    targets = {f"vllm:{url('a')}": {"engines": 2}, f"vllm:{url('b')}": {"phase": 40.0}}
    write_health_history(root, clock.now, minutes=15, endpoints=targets, gpus=2,
                         down={f"vllm:{url('b')}": [(200, 300)]})
    write_spans(root, llm_span_rows(url("a").removeprefix("http://"), clock.now - timedelta(minutes=4), 12,
                                    every_s=20))
    return root


async def _live(pilot, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    await open_pane(pilot)
    await step(pilot, clock, 10)
    await step(pilot, clock, 10)


def _after_live(clock: FrozenClock, *keys: str):  # type: ignore[no-untyped-def]
    """Two samples on the live view, then ``keys``."""
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await _live(pilot, clock)
        for key in keys:
            await pilot.press(key)
            await pilot.pause()

    return run_before


@pytest.mark.parametrize("theme", THEMES)
def test_health_live_cards(snap_compare, servers, store: Path, clock: FrozenClock, theme: str) -> None:
    app = health_app(store, [url("a"), url("b")], theme)
    assert snap_compare(app, terminal_size=SIZE, run_before=_after_live(clock))


@pytest.mark.parametrize("theme", THEMES)
def test_health_gpus_below(snap_compare, servers, store: Path, clock: FrozenClock, theme: str) -> None:
    app = health_app(store, [url("a"), url("b")], theme)
    assert snap_compare(app, terminal_size=SIZE, run_before=_after_live(clock, "G"))


@pytest.mark.parametrize("theme", THEMES)
def test_health_failures_and_no_gpu(snap_compare, servers, store: Path, clock: FrozenClock, theme: str) -> None:
    urls = [url("refused"), url("warming"), url("garbage"), url("b")]
    # no endpoint here hangs: the generous default timeout keeps a loaded machine from dropping a sample of b
    app = health_app(store, urls, theme, gpu=f"dcgm:{url('refused')}/metrics")
    assert snap_compare(app, terminal_size=SIZE, run_before=_after_live(clock))


@pytest.mark.parametrize("theme", THEMES)
def test_health_history(snap_compare, servers, store: Path, clock: FrozenClock, theme: str) -> None:
    app = health_app(store, [url("a"), url("b")], theme)

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await open_pane(pilot)
        await pilot.press("v")
        await settle(pilot, pilot.app)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


@pytest.mark.parametrize("theme", THEMES)
def test_trace_server_tab(snap_compare, store: Path, clock: FrozenClock, theme: str) -> None:
    app = health_app(store, [], theme, gpu="none")

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot, pilot.app)
        await pilot.press("j", "j", "enter")  # the third newest call
        await settle(pilot, pilot.app)
        pilot.app.screen.query_one(SpanDetail).query_one(TabbedContent).active = "tab-server"
        await settle(pilot, pilot.app)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
