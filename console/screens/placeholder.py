"""Panes that later issues fill: a clear word on what will be here."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.widgets import Static

from console.screens.base import PaneScreen


class PlaceholderPane(PaneScreen):
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    WHAT = ""

    def compose_pane(self) -> ComposeResult:
        yield Static(f"{self.PANE.title()}\n\n{self.WHAT}\n\nComing soon: this pane is not built yet.",
                     classes="placeholder")
