"""Printing results for people (tables) and for scripts (JSON lines)."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from typing import Any, Iterable

import polars as pl


def _default(o: Any) -> Any:
    if isinstance(o, (datetime, date)):
        return o.isoformat()
    return str(o)


def print_json(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, default=_default, ensure_ascii=False) + "\n")


def rows_of(df: pl.DataFrame) -> list[dict[str, Any]]:
    return df.to_dicts()


def print_table(df: pl.DataFrame, columns: Iterable[str], headers: Iterable[str] | None = None) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    cols = list(columns)
    t = Table(*(headers or cols), box=None, pad_edge=False)
    for row in df.select(cols).iter_rows():
        # Text() so that trace content is never interpreted as markup
        t.add_row(*(Text(_cell(v)) for v in row))
    Console().print(t)


def _cell(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, list):
        return ",".join(map(str, v))
    return str(v)
