"""Snapshots of the guardrails pane at 120x40 in both themes, from a deterministic store
with a frozen clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.screens.guardrails import GuardrailsScreen
from tests.guardrails_ui.guardrails_ui_support import FROZEN, pane_store
from tests.ui.conftest import make_app, settle

THEMES = ["llmops-dark", "llmops-light"]
SIZE = (120, 40)


@pytest.fixture(scope="module")
def snap_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pane_store(tmp_path_factory.mktemp("snap") / "store")


@pytest.fixture(autouse=True)
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(GuardrailsScreen, "clock", staticmethod(lambda: FROZEN.timestamp()))
    monkeypatch.setattr(GuardrailsScreen, "slow_ms", float("inf"))  # no load times in a snapshot


async def idle(pilot) -> None:  # type: ignore[no-untyped-def]
    """Until no worker has run for a few pauses in a row (their answers have landed)."""
    quiet = 0
    for _ in range(400):
        await pilot.pause(0.05)
        quiet = quiet + 1 if all(w.is_finished for w in pilot.app.workers) else 0
        if quiet >= 4:
            return


async def open_pane(pilot, query: str = "") -> None:  # type: ignore[no-untyped-def]
    await settle(pilot, pilot.app)
    await pilot.press("4")
    await idle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, GuardrailsScreen) and screen.loaded and screen.overview_loaded
    if query:
        await pilot.press("slash", *query, "enter")
        await idle(pilot)


@pytest.mark.parametrize("theme", THEMES)
def test_guardrails_log(snap_compare, snap_store: Path, theme: str) -> None:
    assert snap_compare(make_app(snap_store, theme), terminal_size=SIZE, run_before=open_pane)


@pytest.mark.parametrize("theme", THEMES)
def test_guardrails_filtered_with_false_positives(snap_compare, snap_store: Path, theme: str) -> None:
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await open_pane(pilot, "detector:pii.*")
        await pilot.press("j")

    assert snap_compare(make_app(snap_store, theme), terminal_size=SIZE, run_before=run_before)
