"""Periodic work the collector does besides answering requests (health scraping,
alert evaluation), as asyncio tasks on the server's loop."""

from __future__ import annotations

from typing import Any


def start_background(collector: Any) -> list[Any]:
    return []
