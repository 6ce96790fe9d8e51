"""Chat messages rendered by role, tool calls and tool results shown as such,
JSON pretty-printed in collapsible blocks. Content is untrusted: never markup."""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Collapsible, Static

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
    def show(self, span: dict[str, Any]) -> None:
        self.remove_children()
        c = Palette.of(self.app)
        widgets = []
        ins = parse_messages(span.get("input_messages"))
        outs = parse_messages(span.get("output_messages"))
        if not ins and not outs:
            for label, key in (("input", "input_value"), ("output", "output_value")):
                if span.get(key):
                    widgets.extend(self._block(label, span[key], c))
            if not widgets:
                widgets.append(Static(Text("this span carries no messages or input/output", style=c("muted"))))
        for m in ins:
            widgets.extend(self._message(m, c))
        if outs:
            widgets.append(Static(Text("── response ──", style=c("muted"))))
        for m in outs:
            widgets.extend(self._message(m, c))
        self.mount_all(widgets)
        self.scroll_home(animate=False)

    def _message(self, m: dict[str, Any], c: Palette) -> list[Any]:
        role = str(m.get("role") or "?")
        head = Text(role.upper(), style=c(f"role-{role}" if role in ("system", "user", "assistant", "tool")
                                          else "muted", "bold"))
        if m.get("name"):
            head.append(f"  {clean(m['name'], 100, one_line=True)}", style=c("muted"))
        if m.get("tool_call_id"):
            head.append(f"  result of {clean(m['tool_call_id'], 80, one_line=True)}", style=c("muted"))
        if m.get("finish_reason"):
            head.append(f"  finish: {clean(m['finish_reason'], 40, one_line=True)}", style=c("muted"))
        out: list[Any] = [Static(head, classes="chat-role")]
        content = m.get("content")
        if content:
            out.extend(self._content(str(content), role == "tool"))
        for tc in m.get("tool_calls") or []:
            title = f"tool call → {clean(tc.get('name'), 100, one_line=True)}"
            if tc.get("id"):
                title += f"  ({clean(tc['id'], 60, one_line=True)})"
            args = str(tc.get("arguments") or "")
            body = pretty_json(args) or args
            out.append(Collapsible(Static(Text(clean(body, MESSAGE_LIMIT)), classes="chat-json"),
                                   title=title, collapsed=False, classes="chat-tool-call"))
        return out

    def _content(self, content: str, is_tool: bool) -> list[Any]:
        pretty = pretty_json(content)
        if pretty is not None:
            lines = pretty.count("\n")
            return [Collapsible(Static(Text(clean(pretty, MESSAGE_LIMIT)), classes="chat-json"),
                                title=f"JSON ({lines + 1} lines)", collapsed=lines > 40, classes="chat-json-block")]
        return [Static(Text(clean(content, MESSAGE_LIMIT)), classes="chat-content")]

    def _block(self, label: str, value: str, c: Palette) -> list[Any]:
        return [Static(Text(label.upper(), style=c("muted", "bold")), classes="chat-role"),
                *self._content(str(value), False)]
