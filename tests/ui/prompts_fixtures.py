"""Shared by the prompts-pane tests: a prompts folder with a store made from it, an app
over both, provider keys kept out, and helpers to wait for replay work."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from console.app import ConsoleApp
from store.config import Settings
from tests.support.prompt_store import PromptStore, build
from tests.ui.conftest import settle

SIZE = (120, 40)
FROZEN = datetime(2026, 1, 5, 12, 30, 0, tzinfo=timezone.utc)


@pytest.fixture
def pstore(tmp_path: Path) -> PromptStore:
    return build(tmp_path)


@pytest.fixture
def isolated_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """No provider key in the environment, and a keyring that is a file in tmp_path."""
    import keyring
    import keyring.core

    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "HOSTED_VLLM_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    previous = keyring.get_keyring()
    keyring.core.init_backend()
    yield tmp_path / "data"
    keyring.set_keyring(previous)


def make_prompts_app(ps: PromptStore, theme: str = "llmops-dark", **kw: Any) -> ConsoleApp:
    s = Settings(store=ps.store, theme=theme, prompts_dir=ps.prompts_dir)
    for k, v in kw.items():
        setattr(s, k, v)
    return ConsoleApp(s, sample_status=False)


async def go_prompts(pilot: Any) -> Any:
    """Switch to the prompts pane and let it load; returns the screen."""
    app = pilot.app
    await settle(pilot, app)
    await pilot.press("2")
    await settle(pilot, app)
    screen = app.screen
    screen.clock = lambda: FROZEN
    return screen


async def wait_for(pilot: Any, predicate: Any, timeout: float = 20.0, what: str = "") -> None:
    """Pause the pilot until ``predicate()`` holds (replays run on their own thread)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await pilot.pause(0.05)
    await pilot.pause()


def freeze_timings(result: Any, latency_ms: float = 640.0, ttft_ms: float = 95.0) -> Any:
    """A result as snapshots show it: measured times replaced by fixed ones."""
    if result is not None and not result.from_recording and result.error is None:
        result.latency_ms, result.ttft_ms, result.total_ms = latency_ms, ttft_ms, latency_ms
    return result
