"""The footer of keys, recomposed only when the keys it shows change.

Textual's footer rebuilds all its key widgets whenever a screen's bindings are updated:
on every screen switch and every focus change, even when the keys shown are the same,
which made up a large part of opening a trace (~50 ms of styling ten new widgets).
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Footer


class KeyFooter(Footer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shown: tuple | None = None

    def _keys_shown(self, screen: Screen) -> tuple:
        return tuple((b.key, b.description, b.action, b.group, enabled, tooltip)
                     for (_, b, enabled, tooltip) in screen.active_bindings.values() if b.show) \
            + (self.app.ENABLE_COMMAND_PALETTE, self.show_command_palette)

    def bindings_changed(self, screen: Screen) -> None:
        if self.is_attached and screen is self.screen and screen.app.app_focus:
            shown = self._keys_shown(screen)
            if shown == self._shown:
                self._bindings_ready = True
                return
            self._shown = shown
        super().bindings_changed(screen)
