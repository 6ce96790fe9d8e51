"""Snapshots of the costs pane at 120x40 in both themes: the explorer, the token audit,
budgets and alerts, flagged spans. A frozen clock and a store written in tmp; the
query timings (which vary) are hidden."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.screens import costs as costs_screen
from tests.ui.conftest import settle
from tests.ui.costs_ui_support import NOW, SIZE, costs_app, costs_store, open_costs

THEMES = ["llmops-dark", "llmops-light"]


@pytest.fixture(autouse=True)
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(costs_screen, "CLOCK", lambda: NOW.timestamp())
    monkeypatch.setattr(costs_screen, "SHOW_TIMING", False)
    monkeypatch.setattr(costs_screen, "HOT_COPY", False)  # no background loading beside the frame


@pytest.fixture(scope="module")
def snap_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return costs_store(tmp_path_factory.mktemp("costs-snap") / "store")


def _view(presses: tuple[str, ...]):  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await open_costs(pilot)
        for key in presses:
            await pilot.press(key)
            await settle(pilot, pilot.app)
        await settle(pilot, pilot.app)

    return run_before


@pytest.mark.parametrize("theme", THEMES)
def test_costs_explorer_by_user_with_a_bar_picked(snap_compare, snap_store: Path, theme: str) -> None:
    run_before = _view(("d", "d", "d", "c", "left", "down"))
    assert snap_compare(costs_app(snap_store, theme), terminal_size=SIZE, run_before=run_before)


@pytest.mark.parametrize("theme", THEMES)
def test_costs_audit(snap_compare, snap_store: Path, theme: str) -> None:
    assert snap_compare(costs_app(snap_store, theme), terminal_size=SIZE, run_before=_view(("v",)))


@pytest.mark.parametrize("theme", THEMES)
def test_costs_budgets_and_alert_log(snap_compare, snap_store: Path, theme: str) -> None:
    assert snap_compare(costs_app(snap_store, theme), terminal_size=SIZE, run_before=_view(("v", "v")))


@pytest.mark.parametrize("theme", THEMES)
def test_costs_flagged_spans(snap_compare, snap_store: Path, theme: str) -> None:
    assert snap_compare(costs_app(snap_store, theme), terminal_size=SIZE, run_before=_view(("v", "v", "v")))
