"""Budget and rolling-window cost alerts inside the collector (filled in by the costs pane's work)."""

from __future__ import annotations

from typing import Any


def start(collector: Any) -> list[Any]:
    return []
