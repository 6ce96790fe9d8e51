"""The guardrail event log: one row per event, newest first, and the selected
event's detail. Everything in an event can come from outside (external guardrails,
an app's POST), so every string is drawn as cleaned plain text."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Group
from rich.text import Text

from console import format as fmt
from console.palette import Palette
from console.text import clean
from console.widgets.virtual_table import VirtualTable

SEVERITY_LABEL = {"low": "low", "medium": "med", "high": "high", "critical": "crit"}
SEVERITY_STYLE = {"low": ("muted",), "medium": ("level-amber",), "high": ("level-red",),
                  "critical": ("error", "bold")}
ACTION_STYLE = {"blocked": ("error", "bold"), "redacted": ("accent",), "flagged": ("warning",)}
CATEGORY_COLOUR = {"pii": "chart-1", "injection": "chart-2", "output": "chart-3", "external": "chart-4",
                   "jailbreak": "chart-5", "secret": "chart-6"}


def severity_text(severity: str | None, c: Palette) -> Text:
    s = str(severity or "")
    return Text(SEVERITY_LABEL.get(s, clean(s, 8, one_line=True)), style=c(*SEVERITY_STYLE.get(s, ("foreground",))))


def action_text(action: str | None, c: Palette) -> Text:
    a = str(action or "")
    return Text(clean(a, 10, one_line=True), style=c(*ACTION_STYLE.get(a, ("foreground",))))


def fp_text(row: dict[str, Any], c: Palette) -> Text:
    if row.get("fp_pending"):
        return Text("…", style=c("muted"))
    return Text("FP", style=c("accent", "bold")) if row.get("false_positive") else Text("")


def cells(row: dict[str, Any], c: Palette, now: Any = None) -> list[Any]:
    fp = bool(row.get("false_positive"))
    excerpt = row.get("excerpt")
    return [
        Text(fmt.when(row.get("time"), now)),
        Text("in" if row.get("direction") == "input" else "out", style=c("muted")),
        Text(clean(row.get("detector"), 120, one_line=True), style=c("muted") if fp else ""),
        Text(clean(row.get("category"), 40, one_line=True), style=c(CATEGORY_COLOUR.get(row.get("category") or "", "foreground"))),
        severity_text(row.get("severity"), c),
        action_text(row.get("action"), c),
        Text(clean(row.get("service"), 80, one_line=True) or "-"),
        Text(clean(row.get("user_id"), 80, one_line=True) or "-"),
        fp_text(row, c),
        Text(clean(excerpt, 400, one_line=True), style=c("muted") if fp else "") if excerpt
        else Text("(no excerpt)", style=c("muted", "italic")),
    ]


class GuardrailLog(VirtualTable):
    KEY = "event_id"
    COLUMNS = (("time", 11), ("dir", 3), ("detector", 20), ("category", 9), ("sev", 4), ("action", 8),
               ("service", 10), ("user", 10), ("FP", 2), ("excerpt", 20))
    FLEX = "excerpt"
    now: Any = None  # a frozen "now" for the time column (tests); None means the clock

    def cells(self, row: dict[str, Any]) -> list[Any]:
        return cells(row, self.palette, self.now)


def event_detail(row: dict[str, Any] | None, c: Palette) -> Group:
    """About the selected event: its excerpt in full (two lines at most), what found
    it, where it happened, and what to do with it."""
    if row is None:
        return Group(Text("No event selected.", style=c("muted")))
    excerpt = row.get("excerpt")
    first = (Text(clean(excerpt, 230, one_line=True), overflow="ellipsis") if excerpt
             else Text("(no excerpt)", style=c("muted", "italic")))
    what = f"{row.get('direction') or '?'} · {clean(row.get('detector'), 120, one_line=True)}"
    if row.get("detector_version"):
        what += f" v{clean(row['detector_version'], 20, one_line=True)}"
    parts = [what, f"source {clean(row.get('source'), 40, one_line=True)}"]
    details = _details(row.get("details"))
    for key in ("entity", "confidence", "role"):
        if details.get(key) not in (None, ""):
            parts.append(f"{key} {clean(details[key], 40, one_line=True)}")
    second = Text(" · ".join(parts), style=c("muted"), no_wrap=True, overflow="ellipsis")
    third = Text(no_wrap=True, overflow="ellipsis")
    third.append(f"trace {clean(row.get('trace_id'), 64, one_line=True) or '-'} · span "
                 f"{clean(row.get('span_id'), 32, one_line=True) or '-'} · ", style=c("muted"))
    if row.get("false_positive"):
        third.append("marked false positive", style=c("accent", "bold"))
        third.append(" (x unmarks)", style=c("muted"))
    else:
        third.append("x marks a false positive", style=c("muted"))
    return Group(first, second, third)


def _details(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    try:
        doc = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}
