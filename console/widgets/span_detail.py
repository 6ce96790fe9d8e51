"""The selected span: chat, attributes, raw attributes, tokens and cost."""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Static, TabbedContent, TabPane, Tabs

from console import format as fmt
from console.palette import Palette
from console.text import clean
from console.widgets.chat_view import ChatView
from console.widgets.json_tree import JsonTree
from console.widgets.server_state import server_text
from console.services.health import health_config

ATTRIBUTE_FIELDS = (
    ("name", "name"), ("kind", "kind"), ("status", "status"), ("status message", "status_message"),
    ("service", "service"), ("model", "model"), ("provider", "provider"), ("operation", "operation"),
    ("server", "server_address"), ("duration", "duration_ms"), ("time to first token", "ttft_ms"),
    ("finish reason", "finish_reason"), ("prompt id", "prompt_id"), ("prompt version", "prompt_version"),
    ("session", "session_id"), ("user", "user_id"), ("tags", "tags"), ("dialect", "dialect"),
    ("trace id", "trace_id"), ("span id", "span_id"), ("parent id", "parent_id"), ("start", "start_time"),
)


def _json_or_none(raw: Any) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (TypeError, ValueError):
        return raw


class SpanDetail(Vertical):
    server_states: dict[str, Any] = {}  # span_id -> store.query.health.ServerState, set by the trace screen
    span: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        with TabbedContent():
            with TabPane("Chat", id="tab-chat"):
                yield ChatView(id="span-chat")
            with TabPane("Attributes", id="tab-attrs"):
                yield DataTable(id="span-attrs", cursor_type="row", show_header=False)
            with TabPane("Raw", id="tab-raw"):
                yield JsonTree(id="span-raw")
            with TabPane("Tokens & cost", id="tab-cost"):
                yield VerticalScroll(Static(id="span-cost"))

    def focus(self, scroll_visible: bool = True) -> "SpanDetail":
        """Focus the tab strip, so that left and right switch tabs (a Vertical takes no focus)."""
        self.query_one(Tabs).focus(scroll_visible)
        return self

    def on_mount(self) -> None:
        t = self.query_one("#span-attrs", DataTable)
        t.add_column("field", width=22)
        t.add_column("value")

    def show(self, span: dict[str, Any]) -> None:
        self.span = span
        self.show_server()
        self.query_one(ChatView).show(span)
        t = self.query_one("#span-attrs", DataTable)
        t.clear()
        for label, key in ATTRIBUTE_FIELDS:
            v = span.get(key)
            if v is None or v == [] or v == "":
                continue
            if key in ("duration_ms", "ttft_ms"):
                v = fmt.duration_ms(v)
            elif isinstance(v, list):
                v = ", ".join(map(str, v))
            t.add_row(Text(label), Text(clean(v, 2000, one_line=True)))
        params = _json_or_none(span.get("request_params"))
        if isinstance(params, dict):
            for k, v in params.items():
                if k != "tools":
                    t.add_row(Text(f"param {k}"), Text(clean(json.dumps(v), 500, one_line=True)))
        raw = {
            "attributes": _json_or_none(span.get("attributes")) or {},
            "request_params": params or {},
            "prompt_variables": _json_or_none(span.get("prompt_vars")) or {},
            "events": _json_or_none(span.get("events")) or [],
            "resource": _json_or_none(span.get("resource")) or {},
        }
        self.query_one(JsonTree).load(raw)
        self.query_one("#span-cost", Static).update(cost_text(span, Palette.of(self.app)))

    async def set_server_states(self, states: dict[str, Any]) -> None:
        """The serving endpoint's state per LLM span; the Server tab appears when there is one."""
        self.server_states = states
        tabs = self.query_one(TabbedContent)
        if states and not self.query("#tab-server"):
            await tabs.add_pane(TabPane("Server", VerticalScroll(Static(id="span-server")), id="tab-server"))
        elif states:
            tabs.show_tab("tab-server")
        self.show_server()

    def clear_server_states(self) -> None:
        """Another trace is shown: its server states come later, if it has any."""
        self.server_states = {}
        if self.query("#tab-server"):
            tabs = self.query_one(TabbedContent)
            if tabs.active == "tab-server":
                tabs.active = "tab-chat"
            tabs.hide_tab("tab-server")

    def show_server(self) -> None:
        if self.span is None or not self.query("#span-server"):
            return
        thresholds = health_config(self.app.settings)[0].thresholds  # type: ignore[attr-defined]
        state = self.server_states.get(self.span.get("span_id") or "")
        self.query_one("#span-server", Static).update(server_text(state, self.span, Palette.of(self.app), thresholds))


def cost_text(span: dict[str, Any], c: Palette) -> Text:
    t = Text()

    def line(label: str, value: str, style: str = "") -> None:
        t.append(f"{label:<22}", style=c("muted"))
        t.append(value + "\n", style=style)

    for label, key in (("input tokens", "input_tokens"), ("  of which cache read", "cache_read_tokens"),
                       ("  of which cache write", "cache_write_tokens"), ("output tokens", "output_tokens"),
                       ("  of which reasoning", "reasoning_tokens"), ("total tokens", "total_tokens")):
        if span.get(key) is not None:
            line(label, f"{span[key]:,}")
    t.append("\n")
    source = span.get("cost_source")
    if source is None:
        line("cost", "not an LLM call")
        return t
    line("cost", fmt.usd(span.get("cost_usd")) if span.get("cost_usd") is not None else "unknown",
         c("warning") if span.get("cost_usd") is None else "bold")
    explain = {"reported": "reported by the app", "computed": "computed from LiteLLM's price map",
               "override": "your price override", "gpu_time": "GPU time of a self-hosted endpoint",
               "unknown": "no price known for this model: add an override in [pricing]",
               "no_usage": "the app sent no token counts for this call"}
    line("how", explain.get(str(source), str(source)))
    b = _json_or_none(span.get("cost_breakdown"))
    if isinstance(b, dict):
        t.append("\n")
        for k in ("input", "cache_read", "cache_write", "output", "reasoning"):
            if b.get(k):
                line(f"  {k.replace('_', ' ')}", fmt.usd(b[k]))
        if b.get("price_key"):
            line("  price entry", clean(b["price_key"], 200, one_line=True))
    for flag in span.get("accounting_flags") or []:
        line("⚠ check", flag, c("warning"))
    return t
