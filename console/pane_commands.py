"""The command palette offers the active pane's commands ("pane: verb")."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider


class PaneCommands(Provider):
    def _commands(self):  # type: ignore[no-untyped-def]
        screen = self.screen
        getter = getattr(screen, "pane_commands", None)
        return getter() if getter else []

    async def discover(self) -> Hits:
        for cmd in self._commands():
            yield DiscoveryHit(cmd.title, cmd.run, help=cmd.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for cmd in self._commands():
            score = matcher.match(cmd.title)
            if score > 0:
                yield Hit(score, matcher.highlight(cmd.title), partial(cmd.run), help=cmd.help)
