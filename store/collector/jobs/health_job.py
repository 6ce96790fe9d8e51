"""Health scraping inside the collector (filled in by the health pane's work)."""

from __future__ import annotations

from typing import Any


def start(collector: Any) -> list[Any]:
    return []
