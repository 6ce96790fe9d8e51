"""Untrusted text made safe to draw.

Trace content is data, never markup or terminal control: every string from the
store goes through ``safe`` before it reaches a widget (as a Rich ``Text``, which
does not interpret markup), with escape and control characters shown visibly,
lone surrogates replaced and long text cut with a visible marker.
"""

from __future__ import annotations

import re

from rich.text import Text

DEFAULT_LIMIT = 100_000
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_NAMES = {"\x1b": "␛", "\r": "␍", "\x00": "␀", "\x07": "␇", "\x08": "␈"}


def _visible(m: re.Match[str]) -> str:
    ch = m.group(0)
    if ch in _NAMES:
        return _NAMES[ch]
    code = ord(ch)
    if 0xD800 <= code <= 0xDFFF:
        return "\ufffd"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(s: object, limit: int = DEFAULT_LIMIT, one_line: bool = False) -> str:
    if s is None:
        return ""
    text = s if isinstance(s, str) else str(s)
    cut = len(text) - limit if len(text) > limit else 0
    if cut:
        text = text[:limit]
    text = _CONTROL.sub(_visible, text)
    if one_line:
        text = text.replace("\n", " ⏎ ").replace("\t", " ")
    if cut:
        text += f" …[{cut:,} more chars]"
    return text


def safe(s: object, style: str = "", limit: int = DEFAULT_LIMIT, one_line: bool = False) -> Text:
    return Text(clean(s, limit, one_line), style=style, no_wrap=one_line, overflow="ellipsis" if one_line else "fold")
