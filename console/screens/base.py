"""What every pane shares: the status bar, the footer, and palette commands."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from textual.app import ComposeResult
from textual.screen import Screen
from console.widgets.key_footer import KeyFooter

from console.widgets.status_bar import StatusBar


@dataclass(frozen=True)
class PaneCommand:
    """A command-palette entry of the active pane, titled "pane: verb"."""

    title: str
    help: str
    run: Callable[[], object]


class PaneScreen(Screen):
    PANE = ""

    def compose(self) -> ComposeResult:
        yield from self.compose_pane()
        yield StatusBar()
        yield KeyFooter()

    def compose_pane(self) -> ComposeResult:
        yield from ()

    def pane_commands(self) -> list[PaneCommand]:
        """Commands of this pane; the palette lists them while the pane is active."""
        return []
