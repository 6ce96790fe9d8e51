"""Console themes: TOML files in this folder, loaded into Textual themes.

Every colour the console draws comes from a theme variable; the stylesheets name
variables (``$primary``, ``$waterfall-llm``), never hex values.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

from textual.theme import Theme

DEFAULT_DARK = "llmops-dark"
DEFAULT_LIGHT = "llmops-light"

_FIELDS = ("primary", "secondary", "warning", "error", "success", "accent", "foreground", "background",
           "surface", "panel", "boost", "dark")


def theme_from_toml(text: str, fallback_name: str) -> Theme:
    doc = tomllib.loads(text)
    kwargs = {k: doc[k] for k in _FIELDS if k in doc}
    variables = {str(k): str(v) for k, v in doc.get("variables", {}).items()}
    return Theme(name=doc.get("name", fallback_name), variables=variables, **kwargs)


def builtin_themes() -> list[Theme]:
    out = []
    for entry in sorted(resources.files(__package__).iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".toml"):
            out.append(theme_from_toml(entry.read_text(), entry.name[:-5]))
    return out


def user_themes(folder: Path) -> list[Theme]:
    if not folder.is_dir():
        return []
    return [theme_from_toml(p.read_text(), p.stem) for p in sorted(folder.glob("*.toml"))]
