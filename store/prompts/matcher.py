"""Fingerprinting: which prompt (and version) produced a span's messages, with which variables.

Each templated part (system, messages, template) compiles to a regex: literal
text escaped, each whitespace run matching any whitespace run, each variable a
non-greedy wildcard (a repeat of a variable must repeat its value). Both ends
are compared stripped, since apps often trim what a YAML block scalar ends with.

A prompt's parts must match messages of the same role, in order (other messages
may come between and after: app-added history, tool results). When several
prompts match, the one with the most literal text wins.

Speed: each part has an *anchor*, its longest literal run; a prompt is only tried
when all its anchors occur in the span's (whitespace-collapsed) text, which is a
plain substring test. A prompt whose parts hold fewer than
``MIN_LITERAL_CHARS`` literal characters in all is never matched: a template
that is all variables would claim every span.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from store.prompts import template as tpl
from store.prompts.model import Prompt

MIN_LITERAL_CHARS = 8
_WS = re.compile(r"\s+")


class PromptMatch(NamedTuple):
    prompt_id: str
    version: str | None
    variables: dict[str, str]


def _collapse(text: str) -> str:
    return _WS.sub(" ", text).strip()


@dataclass(frozen=True)
class _Part:
    role: str
    regex: re.Pattern[str]
    groups: tuple[tuple[str, str], ...]  # (regex group name, variable name)
    anchor: str  # collapsed longest literal run ("" when none)
    literal_chars: int


def _compile_part(role: str, text: str) -> _Part:
    pattern: list[str] = []
    groups: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    literals: list[str] = []
    for segment in tpl.parse(text.strip()).segments:
        if isinstance(segment, str):
            literals.append(segment)
            pattern.append(r"\s+".join(re.escape(piece) for piece in _WS.split(segment)))
        elif segment.name in seen:
            pattern.append(f"(?P={seen[segment.name]})")
        else:
            group = f"v{len(groups)}"
            seen[segment.name] = group
            groups.append((group, segment.name))
            pattern.append(f"(?P<{group}>.*?)")
    collapsed = [_collapse(lit) for lit in literals]
    return _Part(
        role=role,
        regex=re.compile("".join(pattern), re.DOTALL),
        groups=tuple(groups),
        anchor=max(collapsed, key=len, default=""),
        literal_chars=sum(len(c.replace(" ", "")) for c in collapsed),
    )


@dataclass(frozen=True)
class _Compiled:
    prompt_id: str
    version: str | None
    parts: tuple[_Part, ...]
    literal_chars: int
    anchors: tuple[str, ...]


def _content_text(message: Mapping[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):  # content parts, as some SDKs record them
        return "".join(str(p.get("text") or p.get("content") or "") for p in content if isinstance(p, Mapping))
    return content if isinstance(content, str) else ""


class PromptMatcher:
    """Compiled templates of a registry's prompts (or any prompts), matched against spans.

    ``PromptMatcher(registry)`` takes the registry's current versions;
    ``include_history=True`` adds every git version, so an old span matches the
    version it was made with. ``PromptMatcher.from_prompts([...])`` takes prompts directly.
    """

    def __init__(self, registry: Any = None, *, include_history: bool = False) -> None:
        self._compiled: list[_Compiled] = []
        if registry is None:
            return
        for prompt in registry.list():
            self.add(prompt)
            if include_history and prompt.path is not None:
                for old in registry.history(prompt.id):
                    if old.version != prompt.version and old.text is not None:
                        loaded = registry.parse_version(old.text, old.version)
                        if loaded is not None:
                            self.add(loaded)

    @classmethod
    def from_prompts(cls, prompts: Iterable[Prompt]) -> PromptMatcher:
        matcher = cls()
        for prompt in prompts:
            matcher.add(prompt)
        return matcher

    def add(self, prompt: Prompt) -> bool:
        """Compile one prompt version; False when it is too unspecific to fingerprint."""
        parts = tuple(_compile_part(role, text) for role, text in prompt.parts())
        literal_chars = sum(p.literal_chars for p in parts)
        if not parts or literal_chars < MIN_LITERAL_CHARS:
            return False
        anchors = tuple(p.anchor for p in parts if p.anchor)
        self._compiled.append(_Compiled(prompt.id, prompt.version, parts, literal_chars, anchors))
        return True

    def __len__(self) -> int:
        return len(self._compiled)

    def match(self, messages: Sequence[Mapping[str, Any]]) -> PromptMatch | None:
        """The best matching (prompt_id, version, variables), or None."""
        if not messages:
            return None
        contents = [_content_text(m) for m in messages]
        haystack = "\n".join(_collapse(c) for c in contents)
        best: tuple[int, PromptMatch] | None = None
        for compiled in self._compiled:
            if best is not None and compiled.literal_chars <= best[0]:
                continue
            if not all(anchor in haystack for anchor in compiled.anchors):
                continue
            variables = self._match_parts(compiled, messages, contents)
            if variables is not None:
                best = (compiled.literal_chars, PromptMatch(compiled.prompt_id, compiled.version, variables))
        return best[1] if best else None

    @staticmethod
    def _match_parts(compiled: _Compiled, messages: Sequence[Mapping[str, Any]], contents: list[str]) -> dict[str, str] | None:
        variables: dict[str, str] = {}
        position = 0
        for part in compiled.parts:
            while position < len(messages):
                message_index = position
                position += 1
                if messages[message_index].get("role") != part.role:
                    continue
                found = part.regex.fullmatch(contents[message_index].strip())
                if found is None:
                    continue
                values = {name: found.group(group) for group, name in part.groups}
                if any(variables.get(n, v) != v for n, v in values.items()):
                    continue  # the same variable must have one value across parts
                variables.update(values)
                break
            else:
                return None
        return variables
