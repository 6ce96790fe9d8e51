"""The costs pane's tables: groups of the explorer, top traces and prompts, cache
opportunity, budgets, the alert log and flagged spans. Rows are plain dicts from
the reports; every string from the store goes through ``clean`` into ``Text``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from rich.text import Text

from console import format as fmt
from console.palette import Palette
from console.text import clean
from console.widgets.cost_chart import group_label
from console.widgets.virtual_table import VirtualTable


def money(value: float | None, unknown: int | None = 0) -> Text:
    return Text(fmt.usd(value, bool(unknown)), justify="right")


def delta(now: float | None, before: float | None, c: Palette) -> Text:
    """▲ +$1.20 (+12%) in the warning colour (spend went up), ▼ in the ok colour."""
    if before is None:
        return Text("new" if now else "-", style=c("muted"), justify="right")
    change = (now or 0.0) - before
    if abs(change) < 5e-7:
        return Text("=", style=c("muted"), justify="right")
    pct = f" {change / before:+.0%}" if before else ""
    arrow, style = ("▲", c("level-amber")) if change > 0 else ("▼", c("status-ok"))
    return Text(f"{arrow} {'+' if change > 0 else '-'}{fmt.usd(abs(change))}{pct}", style=style, justify="right")


def when(ts: datetime | None) -> str:
    return ts.strftime("%m-%d %H:%M") if ts is not None else "-"


def num(n: int | None) -> Text:
    return Text(f"{n or 0:,}", justify="right")


class GroupTable(VirtualTable):
    """One row per group of the explorer; ``current_values`` are its dimension values."""

    KEY = "_key"
    COLUMNS = (("group", 30), ("cost", 11), ("share", 6), ("vs previous", 19), ("calls", 9), ("unknown", 7),
               ("input", 7), ("output", 7))
    FLEX = "group"

    def __init__(self, **kw: Any):
        super().__init__(**kw)
        self.dimensions: list[str] = []

    def show(self, groups: list[dict[str, Any]], dimensions: list[str], keep_cursor: bool) -> None:
        self.dimensions = dimensions
        for row in groups:
            row["_key"] = json.dumps([row.get(d) for d in dimensions], default=str)
        self.replace(groups, keep_cursor=keep_cursor)

    def cells(self, row: dict[str, Any]) -> list[Any]:
        c = self.palette
        values = tuple(row.get(d) for d in self.dimensions)
        label = Text(group_label(values)) if all(v is not None for v in values) else \
            Text(group_label(values), style=c("muted", "italic"))
        share = row.get("share")
        unknown = row.get("unknown_calls") or 0
        return [
            label,
            money(row.get("cost_usd"), unknown),
            Text(f"{share:.0%}" if share is not None else "-", justify="right"),
            delta(row.get("cost_usd"), row.get("prev_cost_usd"), c),
            num(row.get("calls")),
            Text(f"{unknown:,}", style=c("warning") if unknown else c("muted"), justify="right"),
            Text(fmt.tokens(row.get("input_tokens")), justify="right"),
            Text(fmt.tokens(row.get("output_tokens")), justify="right"),
        ]

    @property
    def current_values(self) -> tuple[Any, ...] | None:
        row = self.current
        return tuple(row.get(d) for d in self.dimensions) if row else None


class TraceCostTable(VirtualTable):
    """Top traces: enter opens one."""

    KEY = "trace_id"
    COLUMNS = (("started", 11), ("trace", 30), ("user", 12), ("cost", 11), ("calls", 6), ("input", 7),
               ("output", 7))
    FLEX = "trace"

    def cells(self, row: dict[str, Any]) -> list[Any]:
        name = row.get("trace_name")
        return [
            when(row.get("start_time")),
            Text(clean(name, 120, one_line=True)) if name else Text(row["trace_id"][:16], style=self.palette("muted")),
            Text(clean(row.get("user") or "-", 40, one_line=True)),
            money(row.get("cost_usd"), row.get("unknown_calls")),
            num(row.get("calls")),
            Text(fmt.tokens(row.get("input_tokens")), justify="right"),
            Text(fmt.tokens(row.get("output_tokens")), justify="right"),
        ]


class PromptCostTable(VirtualTable):
    KEY = "_key"
    COLUMNS = (("prompt version", 30), ("cost", 11), ("calls", 8), ("input", 8), ("output", 8))
    FLEX = "prompt version"

    def cells(self, row: dict[str, Any]) -> list[Any]:
        return [Text(clean(row.get("prompt"), 120, one_line=True)), money(row.get("cost_usd"), row.get("unknown_calls")),
                num(row.get("calls")), Text(fmt.tokens(row.get("input_tokens")), justify="right"),
                Text(fmt.tokens(row.get("output_tokens")), justify="right")]


class CacheTable(VirtualTable):
    """Requests a cache could have answered; enter opens the first example trace."""

    KEY = "_key"
    COLUMNS = (("request", 34), ("model", 18), ("calls", 6), ("cost", 10), ("saving", 10), ("examples", 12))
    FLEX = "request"

    def cells(self, row: dict[str, Any]) -> list[Any]:
        examples = row.get("example_traces") or []
        return [
            Text(clean(row.get("example_text"), 200, one_line=True)),
            Text(clean(row.get("model") or "-", 60, one_line=True)),
            num(row.get("calls")),
            money(row.get("cost_usd")),
            Text(fmt.usd(row.get("saving_usd")), style=self.palette("status-ok"), justify="right"),
            Text(", ".join(t[:8] for t in examples[:2]), style=self.palette("muted")),
        ]


class BudgetTable(VirtualTable):
    """Where each budget and rolling rule stands now."""

    KEY = "_key"
    COLUMNS = (("rule", 22), ("subject", 18), ("spent", 11), ("limit", 11), ("used", 6), ("status", 10),
               ("details", 20))
    FLEX = "details"

    def cells(self, row: dict[str, Any]) -> list[Any]:
        c = self.palette
        value, threshold = row.get("value"), row.get("threshold")
        used = f"{value / threshold:.0%}" if value is not None and threshold else "-"
        if row["active"]:
            status = Text(f"● {row['severity']}", style=c("error" if row["severity"] == "critical" else "warning",
                                                            "bold"))
        else:
            status = Text("ok", style=c("status-ok"))
        return [Text(clean(row["rule"], 80, one_line=True)), Text(clean(row["subject"], 80, one_line=True)),
                money(value), money(threshold), Text(used, justify="right"), status,
                Text(clean(row.get("message"), 300, one_line=True), style=c("muted"))]


class AlertLogTable(VirtualTable):
    KEY = "_key"
    COLUMNS = (("time", 11), ("state", 9), ("severity", 9), ("rule", 20), ("subject", 16), ("message", 30))
    FLEX = "message"

    def cells(self, row: dict[str, Any]) -> list[Any]:
        c = self.palette
        firing = row.get("state") == "firing"
        return [
            when(row.get("time")),
            Text(row.get("state") or "-", style=c("error" if firing else "status-ok")),
            Text(clean(row.get("severity"), 20, one_line=True)),
            Text(clean(row.get("rule"), 80, one_line=True)),
            Text(clean(row.get("subject"), 80, one_line=True)),
            Text(clean(row.get("message"), 400, one_line=True)),
        ]


FLAG_TEXT = {
    "negative_value": "negative count or cost",
    "cache_exceeds_input": "cached > input",
    "total_mismatch": "total ≠ in + out",
    "reasoning_exceeds_output": "reasoning > output",
    "output_text_without_tokens": "text but 0 output tokens",
    "cost_without_tokens": "cost without tokens",
}


class FlaggedTable(VirtualTable):
    """Spans whose token numbers cannot be right; enter opens the trace."""

    KEY = "span_id"
    COLUMNS = (("time", 11), ("model", 18), ("flags", 32), ("input", 7), ("output", 7), ("cached", 7),
               ("total", 7), ("trace", 12))
    FLEX = "trace"

    def cells(self, row: dict[str, Any]) -> list[Any]:
        flags = ", ".join(FLAG_TEXT.get(f, f) for f in row.get("accounting_flags") or [])
        return [
            when(row.get("start_time")),
            Text(clean(row.get("model") or "-", 60, one_line=True)),
            Text(flags, style=self.palette("warning")),
            num(row.get("input_tokens")), num(row.get("output_tokens")), num(row.get("cache_read_tokens")),
            num(row.get("total_tokens")),
            Text(row["trace_id"], style=self.palette("muted")),
        ]
