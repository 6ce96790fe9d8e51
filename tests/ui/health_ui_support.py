"""Driving the health pane in tests: a frozen clock the pane and the fake servers
share, an app over a store, and waiting for the sampler's views."""

from __future__ import annotations

import asyncio
import socket
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from console.app import ConsoleApp
from console.screens import health as health_screen
from console.screens.health import HealthScreen
from tests.support.fake_vllm import FakeVllm
from tests.ui.conftest import make_app, settle

NOW = datetime(2026, 1, 5, 12, 0, 0, tzinfo=timezone.utc)
SIZE = (120, 40)


class FrozenClock:
    """The pane's clock (datetime) and the fake servers' (seconds since ``start``)."""

    def __init__(self, now: datetime = NOW, start: datetime | None = None) -> None:
        self.now = now
        self.start = start or now - timedelta(minutes=10)

    def __call__(self) -> datetime:
        return self.now

    def seconds(self) -> float:
        return (self.now - self.start).total_seconds()

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FrozenClock:
    frozen = FrozenClock()
    monkeypatch.setattr(health_screen, "CLOCK", frozen)
    return frozen


def fake(clock: FrozenClock, port: int = 0, **kw: Any) -> FakeVllm:
    return FakeVllm(port, clock=clock.seconds, **kw)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def health_app(store: Path, urls: list[str], theme: str = "llmops-dark", **health: Any) -> ConsoleApp:
    # a generous scrape timeout: on a loaded machine the fake servers (threads of this
    # process) can take over a second to answer, and a snapshot would show them down
    section = {"vllm": urls, "gpu": "fake", "fake_gpus": 2, "pane_interval": 3600, "timeout": 5.0}
    section.update(health)
    return make_app(store, theme, health=section)


async def wait_polls(pilot, n: int, timeout: float = 15.0) -> HealthScreen:  # type: ignore[no-untyped-def]
    """Until the pane has drawn its n-th sample."""
    app = pilot.app
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        screen = app.screen
        if isinstance(screen, HealthScreen) and screen.view is not None and screen.view.polls >= n:
            for _ in range(50):  # cards mounted for a first view may still be composing
                await pilot.pause()
                screen.redraw()
                if not screen._dirty:
                    break
            await pilot.pause()
            return screen
        await asyncio.sleep(0.02)
    raise AssertionError(f"the health pane did not sample {n} times")


async def open_pane(pilot, polls: int = 1) -> HealthScreen:  # type: ignore[no-untyped-def]
    await pilot.app.switch_mode("health")
    screen = await wait_polls(pilot, polls)
    await settle(pilot, pilot.app)
    return screen


async def step(pilot, clock: FrozenClock, seconds: float = 10.0) -> HealthScreen:  # type: ignore[no-untyped-def]
    """Move time on and take one more sample."""
    screen = pilot.app.screen
    assert isinstance(screen, HealthScreen)
    polls = screen.view.polls if screen.view else 0
    clock.advance(seconds)
    screen.sample_now()
    screen = await wait_polls(pilot, polls + 1)
    await settle(pilot, pilot.app)
    screen.redraw()
    await pilot.pause()
    return screen
