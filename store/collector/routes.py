"""Routes beyond traces and scores, registered by the subsystems that own them."""

from __future__ import annotations

from typing import Any

EXTRA_ROUTES: dict[tuple[str, str], Any] = {}
