"""UI tests: a console app over a real store in a tmp dir, no collector sampling."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from textual import constants as textual_constants

from console.app import ConsoleApp
from store.config import Settings
from tests.support.stores import small_store

os.environ["TZ"] = "UTC"
try:
    import time

    time.tzset()
except AttributeError:
    pass

# Animations finish in their first frame, so a snapshot on a loaded CI machine never catches
# a tab underline half way (the App reads this when it is constructed).
textual_constants.TEXTUAL_ANIMATIONS = "none"


def make_app(store: Path, theme: str = "llmops-dark", **kw: object) -> ConsoleApp:
    s = Settings(store=store, theme=theme)
    for k, v in kw.items():
        setattr(s, k, v)
    return ConsoleApp(s, sample_status=False)


@pytest.fixture
def demo_store(tmp_path: Path) -> Path:
    return small_store(tmp_path / "store")


async def settle(pilot, app) -> None:  # type: ignore[no-untyped-def]
    """Let debounce timers fire, workers finish and their messages land."""
    await pilot.pause(0.2)
    for _ in range(3):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause()
