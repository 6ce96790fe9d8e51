"""Snapshots of the traces pane, the trace detail and help, at 120x40, in both themes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.stores import small_store
from tests.ui.conftest import make_app, settle

THEMES = ["llmops-dark", "llmops-light"]
SIZE = (120, 40)


@pytest.fixture(scope="module")
def snap_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_store(tmp_path_factory.mktemp("snap") / "store")


async def _loaded(pilot) -> None:  # type: ignore[no-untyped-def]
    await settle(pilot, pilot.app)


@pytest.mark.parametrize("theme", THEMES)
def test_traces_list(snap_compare, snap_store: Path, theme: str) -> None:
    assert snap_compare(make_app(snap_store, theme), terminal_size=SIZE, run_before=_loaded)


@pytest.mark.parametrize("theme", THEMES)
def test_traces_filtered_with_error(snap_compare, snap_store: Path, theme: str) -> None:
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot, pilot.app)
        await pilot.press("slash", *"status:error cost>x", "enter")  # enter: back to the list, no blinking cursor
        await settle(pilot, pilot.app)

    assert snap_compare(make_app(snap_store, theme), terminal_size=SIZE, run_before=run_before)


@pytest.mark.parametrize("theme", THEMES)
def test_trace_detail(snap_compare, snap_store: Path, theme: str) -> None:
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot, pilot.app)
        await pilot.press("j", "enter")
        await settle(pilot, pilot.app)
        await pilot.press("j")
        await settle(pilot, pilot.app)

    assert snap_compare(make_app(snap_store, theme), terminal_size=SIZE, run_before=run_before)


@pytest.mark.parametrize("theme", THEMES)
def test_runaway_trace_detail(snap_compare, snap_store: Path, theme: str) -> None:
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot, pilot.app)
        await pilot.press("slash", *"is:runaway", "enter", "enter")
        await settle(pilot, pilot.app)

    assert snap_compare(make_app(snap_store, theme), terminal_size=SIZE, run_before=run_before)


def test_help(snap_compare, snap_store: Path) -> None:
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot, pilot.app)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(make_app(snap_store), terminal_size=SIZE, run_before=run_before)
