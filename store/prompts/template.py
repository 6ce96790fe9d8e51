"""The ``{{name}}`` template language.

Rules (deliberately small, so a template means the same to every reader):

- ``{{name}}`` is a variable; spaces inside the braces are ignored (``{{ name }}``).
  A name starts with a letter or ``_`` and goes on with letters, digits, ``_``, ``.``, ``-``.
- ``{{{name}}}`` is the same variable (Mustache's "unescaped" form); we never
  HTML-escape, so both forms insert the value as it is.
- ``\\{{`` is a literal ``{{`` (Handlebars' escape). We chose it over ``{{{{``,
  which would be ambiguous next to ``{{{name}}}``.
- Any other ``{{`` (``{{ not a name }}``, JSON such as ``{{"a": 1}}``) stays literal
  text; :func:`parse` reports it in ``stray`` so validation can warn about typos.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

NAME = r"[A-Za-z_][A-Za-z0-9_.\-]*"
_TOKEN = re.compile(
    r"(?P<escape>\\\{\{)"
    rf"|\{{\{{\{{\s*(?P<triple>{NAME})\s*\}}\}}\}}"
    rf"|\{{\{{\s*(?P<name>{NAME})\s*\}}\}}"
    r"|(?P<stray>\{\{)"
)


@dataclass(frozen=True)
class Var:
    name: str
    start: int  # offset of the opening brace in the template text
    end: int


@dataclass(frozen=True)
class Parsed:
    """A template as alternating literal text and variables."""

    segments: tuple[str | Var, ...]
    stray: tuple[int, ...]  # offsets of "{{" that are not variables

    @property
    def names(self) -> list[str]:
        """Variable names in order of first use, without repeats."""
        seen: dict[str, None] = {}
        for segment in self.segments:
            if isinstance(segment, Var):
                seen.setdefault(segment.name, None)
        return list(seen)

    @property
    def literals(self) -> list[str]:
        return [s for s in self.segments if isinstance(s, str)]


class MissingVariables(KeyError):
    """Rendering needs values for these variables."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(names)
        self.names = names

    def __str__(self) -> str:
        return "missing value for " + ", ".join(f"{{{{{n}}}}}" for n in self.names)


@lru_cache(maxsize=1024)
def parse(text: str) -> Parsed:
    segments: list[str | Var] = []
    stray: list[int] = []
    literal: list[str] = []
    pos = 0
    for match in _TOKEN.finditer(text):
        literal.append(text[pos : match.start()])
        pos = match.end()
        if match.group("escape"):
            literal.append("{{")
        elif match.group("stray"):
            stray.append(match.start())
            literal.append("{{")
        else:
            if literal:
                segments.append("".join(literal))
                literal = []
            segments.append(Var(match.group("triple") or match.group("name"), match.start(), match.end()))
    literal.append(text[pos:])
    tail = "".join(literal)
    if tail:
        segments.append(tail)
    merged = tuple(s for s in segments if s != "")
    return Parsed(merged, tuple(stray))


def variable_names(text: str) -> list[str]:
    return parse(text).names


def render_text(text: str, values: Mapping[str, object], *, strict: bool = True) -> str:
    """Fill ``text``'s variables from ``values`` (non-strings go through ``str``).

    With ``strict``, a variable without a value raises :class:`MissingVariables`;
    otherwise it is left as ``{{name}}``.
    """
    out: list[str] = []
    missing: list[str] = []
    for segment in parse(text).segments:
        if isinstance(segment, str):
            out.append(segment)
        elif segment.name in values and values[segment.name] is not None:
            value = values[segment.name]
            out.append(value if isinstance(value, str) else str(value))
        else:
            missing.append(segment.name)
            out.append("{{" + segment.name + "}}")
    if strict and missing:
        raise MissingVariables(list(dict.fromkeys(missing)))
    return "".join(out)


def escape(text: str) -> str:
    """Make ``text`` render literally (every ``{{`` becomes ``\\{{``)."""
    return text.replace("{{", "\\{{")
