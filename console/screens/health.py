"""The health pane."""

from __future__ import annotations

from console.screens.placeholder import PlaceholderPane


class HealthScreen(PlaceholderPane):
    PANE = "health"
    WHAT = "GPU and vLLM server health, live and with history."
