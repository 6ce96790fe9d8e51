"""Messages that name facts: a query was answered, a sample was taken.

Widgets never query the store; a screen asks a service in a worker, and the
answer comes back as one of these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl
from textual.message import Message


@dataclass
class TracesLoaded(Message):
    """A page of the traces list. ``mode`` is replace (new filter), append (next page),
    live (the newest page again, merged in place) or prefetch (the page after what is
    loaded, kept until the list reaches its end)."""

    rows: pl.DataFrame
    mode: str
    next_cursor: Any
    generation: int
    elapsed_ms: float = 0.0
    cursor: Any = None  # where the page starts (None: the newest)


@dataclass
class TraceLoaded(Message):
    trace_id: str
    summary: dict[str, Any] | None
    spans: pl.DataFrame
    events: pl.DataFrame | None = None
    elapsed_ms: float = 0.0


@dataclass
class QueryFailed(Message):
    what: str
    error: str


@dataclass
class StatusSampled(Message):
    """The status bar's facts: collector state and counters, store size, today's totals."""

    collector: str
    collector_ok: bool
    spans_per_s: float | None = None
    store_bytes: int | None = None
    cost_today: float | None = None
    guardrail_hits_today: int | None = None
    alerts_firing: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ExportFinished(Message):
    path: str
    rows: int
    fmt: str


@dataclass
class ServerStatesLoaded(Message):
    """The serving endpoint's health around each LLM span of one trace
    (span_id -> store.query.health.ServerState)."""

    trace_id: str
    states: dict[str, Any]
