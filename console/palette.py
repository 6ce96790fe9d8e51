"""Theme colours for Rich renderables (which cannot read tcss variables).

Widgets that draw Rich ``Text`` look colours up here, by theme variable name, so
the theme stays the only source of colour.
"""

from __future__ import annotations

from typing import Mapping

from textual.app import App


class Palette:
    def __init__(self, variables: Mapping[str, str]):
        self.vars = dict(variables)

    @classmethod
    def of(cls, app: App) -> "Palette":
        return cls(app.theme_variables)

    def __call__(self, name: str, *extra: str) -> str:
        color = self.vars.get(name) or self.vars.get("foreground", "")
        return " ".join((*extra, color)).strip()
