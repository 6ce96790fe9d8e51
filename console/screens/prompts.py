"""The prompts pane."""

from __future__ import annotations

from console.screens.placeholder import PlaceholderPane


class PromptsScreen(PlaceholderPane):
    PANE = "prompts"
    WHAT = "Versioned prompt editing and A/B replay of real traces."
