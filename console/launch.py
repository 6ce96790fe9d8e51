"""Opening the console: find (or start) the collector, then run the app."""

from __future__ import annotations

from store.config import Settings


def launch(settings: Settings) -> int:
    from console.app import run_app

    return run_app(settings)
