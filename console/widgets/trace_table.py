"""The traces list: a DataTable fed page by page, merged in place when live rows arrive."""

from __future__ import annotations

from typing import Any

import polars as pl
from rich.text import Text

from console import format as fmt
from console.palette import Palette
from console.text import clean
from console.widgets.virtual_table import VirtualTable

RIGHT = frozenset(("spans", "tokens", "cost", "latency"))
COLUMNS = (("time", 11), ("trace", 24), ("service", 14), ("models", 16), ("spans", 5), ("tokens", 6),
           ("cost", 9), ("latency", 7), ("status", 6), ("flags", 5))


def _models(models: list[str] | None) -> str:
    if not models:
        return "-"
    first = clean(models[0], 40, one_line=True)
    return first if len(models) == 1 else f"{first} +{len(models) - 1}"


def flags_of(row: dict[str, Any], c: Palette, marked: bool = False) -> Text:
    """● marked · E error · G guardrail hit · L runaway loop · $ over budget · D demo data."""
    t = Text()
    if marked:
        t.append("●", style=c("accent", "bold"))
    if row.get("error_count"):
        t.append("E", style=c("error", "bold"))
    if row.get("guardrail_hits"):
        t.append("G", style=c("warning", "bold"))
    if row.get("runaway"):
        t.append("L", style=c("error", "bold"))
    if row.get("over_budget"):
        t.append("$", style=c("warning", "bold"))
    if "demo" in (row.get("tags") or []):
        t.append("D", style=c("muted"))
    return t


def cells(row: dict[str, Any], c: Palette, marked: bool = False) -> list[Any]:
    name = row.get("root_name")
    errors = row.get("error_count") or 0
    return [
        fmt.when(row.get("start_time")),
        Text(clean(name, 200, one_line=True)) if name else Text("(root pending)", style=c("muted", "italic")),
        Text(clean(row.get("service"), 80, one_line=True)),
        Text(_models(row.get("models"))),
        str(row.get("span_count") or 0),
        fmt.tokens(row.get("total_tokens")),
        fmt.usd(row.get("cost_usd"), bool(row.get("unpriced_llm_calls"))),
        fmt.duration_ms(row.get("latency_ms")),
        Text(f"✗ {errors}", style=c("status-error")) if errors else Text("✓ ok", style=c("status-ok")),
        flags_of(row, c, marked),
    ]


class TraceTable(VirtualTable):
    """The traces list; rows are keyed by trace id."""

    KEY = "trace_id"
    COLUMNS = tuple((label, width, "right" if label in RIGHT else "left") for label, width in COLUMNS)
    FLEX = "trace"

    def cells(self, row: dict[str, Any]) -> list[Text | str]:
        return cells(row, self.palette, row["trace_id"] in self.marked)

    # frames arrive from the query layer; the base class takes row dicts
    def replace(self, df: pl.DataFrame) -> None:  # type: ignore[override]
        super().replace(df.to_dicts())

    def append(self, df: pl.DataFrame) -> None:  # type: ignore[override]
        super().append(df.to_dicts())

    def merge_newest(self, df: pl.DataFrame) -> int:  # type: ignore[override]
        return super().merge_newest(df.to_dicts())
