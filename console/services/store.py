"""Store queries on behalf of the screens (always called from a worker thread)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import polars as pl

from store.config import Settings
from store.query import StoreReader
from store.query.filters import TraceFilter
from store.query.reader import TimeRange
from store.query.traces import Cursor, TraceQueries, TracePage


@dataclass
class TodayTotals:
    cost_usd: float
    guardrail_hits: int
    store_bytes: int


class StoreService:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.reader = StoreReader(Path(settings.store), threads=2)
        self.traces = TraceQueries(self.reader, runaway_llm_calls=settings.runaway_llm_calls)
        self._pricer = None

    @property
    def pricer(self):  # type: ignore[no-untyped-def]
        if self._pricer is None:
            from store.pricing.config import PricingConfig

            self._pricer = PricingConfig.from_dict(self.settings.pricing).pricer()
        return self._pricer

    def trace_page(self, f: TraceFilter, limit: int, cursor: Cursor | None = None) -> TracePage:
        page = self.traces.list(f, limit=limit, cursor=cursor)
        if page.rows.height:
            page.rows = self._with_flags(page.rows)
        return page

    def _with_flags(self, rows: pl.DataFrame) -> pl.DataFrame:
        """Guardrail hits and budget flags for one page: one query per page, never per row."""
        ids = rows["trace_id"].to_list()
        lo = rows["start_time"].min()
        tr = TimeRange(int(lo.timestamp() * 1e6) - 3_600_000_000, None) if lo is not None else TimeRange()
        hits = self.reader.query(
            f"SELECT trace_id, count(DISTINCT event_id)::BIGINT AS guardrail_hits "
            f"FROM {self.reader.scan('guardrail_events', tr)} "
            f"WHERE trace_id IN (SELECT unnest(?)) GROUP BY trace_id", [ids])
        out = rows.join(hits, on="trace_id", how="left").with_columns(pl.col("guardrail_hits").fill_null(0))
        budget = self.settings.trace_budget_usd
        return out.with_columns(
            (pl.col("cost_usd").fill_null(0) > budget).alias("over_budget") if budget else pl.lit(False)
            .alias("over_budget"))

    def trace(self, trace_id: str, start_us: int | None, end_us: int | None) -> tuple[dict | None, pl.DataFrame, pl.DataFrame]:
        """One trace: its summary row, its spans (with their cost detail) and its guardrail
        events. Given its time range (the list knows it), the summary is derived from the
        spans rather than read again."""
        summary = None
        if start_us is None or end_us is None:
            summary = self.traces.summary(trace_id, start_us)
            if summary is not None:
                start_us = int(summary["start_time"].timestamp() * 1e6)
                end_us = int(summary["end_time"].timestamp() * 1e6)
        raw = self.traces.spans(trace_id, start_us, end_us)
        if summary is None:
            summary = self.traces.summary_of(raw)
        spans = with_cost_detail(raw, self.pricer)
        tr = TimeRange((start_us or 0) - 3_600_000_000, None)
        events = self.reader.query(
            f"SELECT * FROM {self.reader.scan('guardrail_events', tr)} WHERE trace_id = ? ORDER BY time", [trace_id])
        return summary, spans, events

    def neighbours(self, session_id: str, start_us: int) -> tuple[str | None, str | None]:
        return self.traces.session_neighbours(session_id, start_us)

    def today(self) -> TodayTotals:
        midnight = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        tr = TimeRange(int(midnight.timestamp() * 1e6), None)
        cost = self.reader.query(
            f"SELECT coalesce(sum(cost_usd), 0) AS c FROM {self.reader.scan('trace_parts', tr)} "
            f"WHERE start_time >= make_timestamp(?)", [tr.since_us]).item()
        hits = self.reader.query(
            f"SELECT count(DISTINCT event_id) AS n FROM {self.reader.scan('guardrail_events', tr)} "
            f"WHERE time >= make_timestamp(?)", [tr.since_us]).item()
        return TodayTotals(float(cost or 0), int(hits or 0), self.reader.store_bytes())

    def export_traces(self, f: TraceFilter, trace_ids: list[str] | None, path: Path, fmt: str,
                      max_traces: int = 100_000) -> int:
        """The selected traces, or the whole filtered view, with all their spans."""
        from console.export import write_rows

        if trace_ids is None:
            ids: list[str] = []
            cursor = None
            while len(ids) < max_traces:
                page = self.traces.list(f, limit=min(5000, max_traces - len(ids)), cursor=cursor)
                ids.extend(page.rows["trace_id"].to_list())
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
            trace_ids = ids
        if not trace_ids:
            return write_rows(pl.DataFrame(), path, fmt)
        spans = self.reader.query(
            f"SELECT * FROM {self.reader.scan('spans', f.time_range)} WHERE trace_id IN (SELECT unnest(?)) "
            f"ORDER BY trace_id, start_time", [trace_ids])
        return write_rows(spans, path, fmt)


def now_us() -> int:
    return int(time.time() * 1e6)


def as_us(v: Any) -> int | None:
    if v is None:
        return None
    return int(v.timestamp() * 1e6)


def with_cost_detail(spans: pl.DataFrame, pricer: Any) -> pl.DataFrame:
    """The trace view's token and cost breakdown, and the token-accounting check, per span."""
    import orjson

    from store.pricing.accounting import check_span
    from store.pricing.pricer import TokenUsage

    if not spans.height:
        return spans.with_columns(pl.lit(None, pl.String).alias("cost_breakdown"),
                                  pl.lit(None, pl.List(pl.String)).alias("accounting_flags"))
    breakdowns, flags = [], []
    for row in spans.iter_rows(named=True):
        b = None
        if row.get("cost_source") is not None:
            usage = TokenUsage(row.get("input_tokens"), row.get("output_tokens"), row.get("cache_read_tokens"),
                               row.get("cache_write_tokens"), row.get("reasoning_tokens"))
            priced = pricer.price(row.get("model"), row.get("provider"), usage,
                                  server_address=row.get("server_address"))
            if priced.breakdown is not None:
                b = orjson.dumps({**priced.breakdown._asdict(), "price_key": priced.price_key}).decode()
        breakdowns.append(b)
        flags.append(check_span(row) if row.get("kind") in ("llm", "embedding") else [])
    return spans.with_columns(pl.Series("cost_breakdown", breakdowns, dtype=pl.String),
                              pl.Series("accounting_flags", flags, dtype=pl.List(pl.String)))
