"""The editor's model/temperature/max_tokens fields write into the prompt's YAML text,
which stays the one source of truth: one top-level line is replaced, added or removed,
and the rest of the file (comments, order, block scalars) is left as the user wrote it."""

from __future__ import annotations

import json
import re

FIELDS = ("model", "temperature", "max_tokens")
_PLAIN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-/:@+]*$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")


def _line_re(key: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(key)}\s*:(?P<value>.*?)(?P<end>\r?\n)?$")


def _scalar(key: str, value: str) -> str:
    """The value as YAML: numbers as typed for numeric keys (validation says when they are
    not numbers), plain words bare, anything else quoted."""
    if key != "model" and _NUMBER.match(value):
        return value
    if _PLAIN.match(value) and not value.endswith(":") and value.lower() not in ("true", "false", "null", "yes", "no", "~"):
        return value
    return json.dumps(value, ensure_ascii=False)


def line_span(text: str, key: str) -> tuple[int, int] | None:
    """(first, last+1) line index of ``key``'s top-level line, or None."""
    pattern = _line_re(key)
    for index, line in enumerate(text.splitlines(keepends=True)):
        if pattern.match(line):
            return index, index + 1
    return None


def set_top_level(text: str, key: str, value: str) -> str:
    """``text`` with ``key: value`` set (a blank value removes the line)."""
    lines = text.splitlines(keepends=True)
    value = value.strip()
    found = line_span(text, key)
    new_line = f"{key}: {_scalar(key, value)}\n" if value else ""
    if found is not None:
        index = found[0]
        if new_line and not lines[index].endswith("\n"):
            new_line = new_line[:-1]
        lines[index:index + 1] = [new_line] if new_line else []
        return "".join(lines)
    if not new_line:
        return text
    # A new key goes after the last of id/description/model/temperature/max_tokens at the top.
    at = 0
    for index, line in enumerate(lines):
        if re.match(r"^(id|description|model|temperature|max_tokens)\s*:", line):
            at = index + 1
        elif at and line.startswith((" ", "\t")):
            at = index + 1  # the block of the key above (a multi-line description)
        elif at:
            break
    if at and not lines[at - 1].endswith("\n"):
        lines[at - 1] += "\n"
    lines.insert(at, new_line)
    return "".join(lines)
