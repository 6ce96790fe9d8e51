"""Chat messages rendered by role, tool calls and tool results shown as such,
JSON pretty-printed in collapsible blocks. Content is untrusted: never markup."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Group
from rich.padding import Padding
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from console.palette import Palette
from console.text import clean

MESSAGE_LIMIT = 20_000  # characters shown per message; the rest is cut with a marker
JSON_LIMIT = 200_000


def pretty_json(s: str) -> str | None:
    s = s.strip()
    if not s or s[0] not in "[{" or len(s) > JSON_LIMIT:
        return None
    try:
        return json.dumps(json.loads(s), indent=2, ensure_ascii=False)
    except ValueError:
        return None


def parse_messages(raw: str | None) -> list[dict[str, Any]]:
    if not raw:
        return []
    try:
        msgs = json.loads(raw)
    except ValueError:
        return [{"role": "?", "content": raw}]
    return [m for m in msgs if isinstance(m, dict)] if isinstance(msgs, list) else []


class ChatView(VerticalScroll):
    """One Static holding the whole conversation as Rich text: selecting another span
    swaps one renderable instead of mounting a widget per message. (The Raw tab has
    the collapsible JSON tree.)"""

    def compose(self) -> ComposeResult:
        yield Static(id="chat-body")

    def show(self, span: dict[str, Any]) -> None:
        c = Palette.of(self.app)
        parts: list[Any] = []
        ins = parse_messages(span.get("input_messages"))
        outs = parse_messages(span.get("output_messages"))
        if not ins and not outs:
            for label, key in (("input", "input_value"), ("output", "output_value")):
                if span.get(key):
                    parts.append(Text(label.upper(), style=c("muted", "bold")))
                    parts.append(self._content(str(span[key]), c))
            if not parts:
                parts.append(Text("this span carries no messages or input/output", style=c("muted")))
        for m in ins:
            parts.extend(self._message(m, c))
        if outs:
            parts.append(Text("── response ──", style=c("muted")))
        for m in outs:
            parts.extend(self._message(m, c))
        self.query_one("#chat-body", Static).update(Group(*parts))
        self.scroll_home(animate=False)

    def _message(self, m: dict[str, Any], c: Palette) -> list[Any]:
        role = str(m.get("role") or "?")
        head = Text("\n" + role.upper(), style=c(f"role-{role}" if role in ("system", "user", "assistant", "tool")
                                                  else "muted", "bold"))
        if m.get("name"):
            head.append(f"  {clean(m['name'], 100, one_line=True)}", style=c("muted"))
        if m.get("tool_call_id"):
            head.append(f"  result of {clean(m['tool_call_id'], 80, one_line=True)}", style=c("muted"))
        if m.get("finish_reason"):
            head.append(f"  finish: {clean(m['finish_reason'], 40, one_line=True)}", style=c("muted"))
        out = [head]
        content = m.get("content")
        if content:
            out.append(self._content(str(content), c))
        for tc in m.get("tool_calls") or []:
            title = Text(f"  ⚙ tool call → {clean(tc.get('name'), 100, one_line=True)}", style=c("role-tool", "bold"))
            if tc.get("id"):
                title.append(f"  ({clean(tc['id'], 60, one_line=True)})", style=c("muted"))
            out.append(title)
            args = str(tc.get("arguments") or "")
            out.append(_indent(Text(clean(pretty_json(args) or args, MESSAGE_LIMIT), style=c("foreground")), 4))
        return out

    def _content(self, content: str, c: Palette) -> Padding:
        pretty = pretty_json(content)
        if pretty is not None:
            return _indent(Text(clean(pretty, MESSAGE_LIMIT), style=c("foreground")), 2)
        return _indent(Text(clean(content, MESSAGE_LIMIT)), 2)


def _indent(text: Text, n: int) -> Padding:
    """Indent every line, wrapped continuations included (a left pad, not leading
    spaces); a line's own leading spaces (JSON nesting) become no-break spaces, which
    the renderer keeps when it wraps."""
    out = Text(style=text.style)
    for i, line in enumerate(text.split("\n", allow_blank=True)):
        if i:
            out.append("\n")
        lead = len(line.plain) - len(line.plain.lstrip(" "))
        out.append("\u00a0" * lead)
        out.append_text(line[lead:])
    return Padding(out, (0, 0, 0, n))
