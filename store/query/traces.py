"""Traces: the paged list, one trace with all its spans, and text search."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

import polars as pl

from store.query.filters import TraceFilter, text_predicate, trace_predicates
from store.query.reader import StoreReader, TimeRange, time_bounds
from store.query.text_search import TextSearch
from store.segments import trace_parts
from store.segments.manifest import Segment

DAY_US = 86_400_000_000
TEXT_SLICE_US = 3 * 3_600_000_000  # free text reads a day in slices of this, newest first
REPEATED_TOOL_CALLS = 3  # identical (tool, args) calls in one trace that count as a loop

# The per-trace aggregate over trace parts; every list query selects from it.
_TRACE_AGG = """
    trace_id,
    min(start_time) AS start_time,
    max(end_time) AS end_time,
    any_value(root_name) AS root_name,
    any_value(root_span_id) AS root_span_id,
    coalesce(any_value(service) FILTER (WHERE root_name IS NOT NULL), any_value(service)) AS service,
    list_sort(list_distinct(flatten(list(services)))) AS services,
    list_sort(list_distinct(flatten(list(models)))) AS models,
    sum(span_count)::BIGINT AS span_count,
    sum(llm_calls)::BIGINT AS llm_calls,
    sum(tool_calls)::BIGINT AS tool_calls,
    sum(error_count)::BIGINT AS error_count,
    sum(input_tokens)::BIGINT AS input_tokens,
    sum(output_tokens)::BIGINT AS output_tokens,
    sum(total_tokens)::BIGINT AS total_tokens,
    sum(cost_usd) AS cost_usd,
    sum(unpriced_llm_calls)::BIGINT AS unpriced_llm_calls,
    any_value(session_id) AS session_id,
    any_value(user_id) AS user_id,
    list_sort(list_distinct(flatten(list(tags)))) AS tags,
    list_sort(list_distinct(flatten(list(prompt_ids)))) AS prompt_ids,
    (len(flatten(list(tool_signatures))) - len(list_distinct(flatten(list(tool_signatures)))))::BIGINT
        AS repeated_tool_calls
"""

LIST_COLUMNS = ("trace_id", "start_time", "end_time", "latency_ms", "root_name", "root_span_id", "service",
                "services", "models", "span_count", "llm_calls", "tool_calls", "error_count", "input_tokens",
                "output_tokens", "total_tokens", "cost_usd", "unpriced_llm_calls", "session_id", "user_id",
                "tags", "prompt_ids", "repeated_tool_calls", "runaway")


@dataclass(frozen=True)
class Cursor:
    """Keyset paging: the last row seen (newest first)."""

    start_us: int
    trace_id: str


@dataclass
class TracePage:
    rows: pl.DataFrame
    next_cursor: Cursor | None
    scanned_days: int


def _days_desc(segments: list[Segment], tr: TimeRange) -> list[tuple[str, list[Segment]]]:
    by_day: dict[str, list[Segment]] = {}
    for s in segments:
        if s.table == "trace_parts" and tr.overlaps(s.min_us, s.max_us):
            by_day.setdefault(s.day, []).append(s)
    return sorted(by_day.items(), reverse=True)


class TraceQueries:
    def __init__(self, reader: StoreReader, runaway_llm_calls: int = 25):
        self.r = reader
        self.runaway_llm_calls = runaway_llm_calls
        self.text = TextSearch(reader)

    def _runaway_sql(self) -> str:
        return f"(llm_calls > {int(self.runaway_llm_calls)} OR repeated_tool_calls >= {REPEATED_TOOL_CALLS})"

    def _ids_sql(self, parts_files: list[str], f: TraceFilter, limit: int, cursor: Cursor | None,
                 text_ids: list[str] | None, day: tuple[int, int] | None) -> tuple[str, list[Any]]:
        """Phase 1: which traces (newest first) match. Only the aggregates the filter
        needs are computed; the lists that make a row are left for phase 2."""
        tr = f.time_range
        where, params = ["TRUE"], []
        if text_ids is not None:
            where.append("trace_id IN (SELECT unnest(?::VARCHAR[]))")
            params.append(text_ids)
        having, hp = trace_predicates(f, self.runaway_llm_calls)
        if not having:
            # Only min(start_time) is aggregated, and a trace's earliest part starts before
            # an upper bound exactly when some part does: so parts after the bound can be
            # left unread (a lower bound cannot move: it would hide a trace's earlier parts).
            upper = min(b for b in (tr.until_us, day[1] if day else None,
                                    cursor.start_us + 1 if cursor else None, 2**62) if b is not None)
            if upper < 2**62:
                where.append("start_time < make_timestamp(?)")
                params.append(upper)
        for lo, hi in ((tr.since_us, tr.until_us), day or (None, None)):
            bounds, bound_params = time_bounds("min(start_time)", lo, hi)
            having += bounds
            hp += bound_params
        if cursor is not None:
            having.append("(min(start_time) < make_timestamp(?) OR (min(start_time) = make_timestamp(?) "
                          "AND trace_id < ?))")
            hp.extend([cursor.start_us, cursor.start_us, cursor.trace_id])
        sql = f"""
            SELECT trace_id, min(start_time) AS start_time
            FROM {self.r.scan('trace_parts', files=parts_files)}
            WHERE {' AND '.join(where)}
            GROUP BY trace_id
            HAVING {' AND '.join(having) or 'TRUE'}
            ORDER BY start_time DESC, trace_id DESC
            LIMIT {int(limit)}
        """
        return sql, params + hp

    def _rows_sql(self, parts_files: list[str], ids: list[str],
                  since: datetime | None = None) -> tuple[str, list[Any]]:
        """Phase 2: the full rows of a page's traces. ``since``, the earliest start among
        them, skips every part that starts before it: a trace's parts all start at or
        after the trace does."""
        params: list[Any] = [ids]
        earliest = ""
        if since is not None:
            earliest = "AND start_time >= make_timestamp(?)"
            params.append(_us(since))
        sql = f"""
            WITH t AS (
                SELECT {_TRACE_AGG}
                FROM {self.r.scan('trace_parts', files=parts_files)}
                WHERE trace_id IN (SELECT unnest(?::VARCHAR[])) {earliest}
                GROUP BY trace_id
            )
            SELECT *, (epoch_us(end_time) - epoch_us(start_time)) / 1000.0 AS latency_ms,
                   {self._runaway_sql()} AS runaway
            FROM t
            ORDER BY start_time DESC, trace_id DESC
        """
        return sql, params

    def list(self, f: TraceFilter | None = None, limit: int = 100, cursor: Cursor | None = None) -> TracePage:
        """Newest first. Reads one day at a time, newest day first, and stops as soon as
        the page is full, so the first page never touches old data. A day's traces are
        aggregated over the parts of the day before and after it too: a trace that
        crosses midnight arrives in two partitions and is listed once, whole, on the
        day it started."""
        f = f or TraceFilter()
        m = self.r.manifest()
        tr = f.time_range
        if cursor is not None:
            tr = TimeRange(tr.since_us, min(tr.until_us or 2**62, cursor.start_us + 1))
        parts_by_day = dict(_days_desc(m.segments, TimeRange()))
        spans_by_day: dict[str, list[Segment]] = {}
        for s in m.segments:
            if s.table == "spans":
                spans_by_day.setdefault(s.day, []).append(s)
        frames: list[pl.DataFrame] = []
        need, scanned = limit, 0
        for day, _ in _days_desc(m.segments, tr):
            lo = int(datetime.fromisoformat(day).replace(tzinfo=timezone.utc).timestamp() * 1e6)
            near = [d for d in (_shift(day, -1), day, _shift(day, 1)) if d in parts_by_day]
            parts_files = [str(self.r.root / s.path) for d in near for s in parts_by_day[d]]
            scanned += 1
            if f.text:
                ids = self._text_day(parts_files, spans_by_day.get(day, []), f, need, cursor, lo, tr)
                if not ids.height:
                    continue
                sql, params = self._rows_sql(parts_files, ids["trace_id"].to_list(), since=ids["start_time"].min())
                page = self.r.query(sql, params)
            else:
                ids_sql, ids_params = self._ids_sql(parts_files, f, need, cursor, None, (lo, lo + DAY_US))
                ids = self.r.query(ids_sql, ids_params)
                if not ids.height:
                    continue
                sql, params = self._rows_sql(parts_files, ids["trace_id"].to_list(), since=ids["start_time"].min())
                page = self.r.query(sql, params)
            if page.height:
                frames.append(page)
                need -= page.height
            if need <= 0:
                break
        rows = pl.concat(frames, how="vertical_relaxed") if frames else self._empty()
        rows = rows.unique("trace_id", keep="first", maintain_order=True).select(LIST_COLUMNS)
        nxt = None
        if rows.height >= limit:
            last = rows.row(rows.height - 1, named=True)
            nxt = Cursor(_us(last["start_time"]), last["trace_id"])
        return TracePage(rows, nxt, scanned)

    def _text_day(self, parts_files: list[str], spans: list[Segment], f: TraceFilter, need: int,
                  cursor: Cursor | None, day_lo: int, tr: TimeRange) -> pl.DataFrame:
        """One day's text matches, newest slice first: a trace that started at or after a
        slice's start has all its spans there or later, so once the slices read so far
        hold a page of matching traces that started in them, older slices cannot add to
        it. A common term reads only the newest hours; a rare one reads the day (and
        the trigram index skips most of a sealed day)."""
        day_hi = day_lo + DAY_US
        hi = min(tr.until_us or day_hi, day_hi)
        if cursor is not None:
            hi = min(hi, cursor.start_us + 1)
        floor = max(tr.since_us or day_lo, day_lo)
        found: set[str] = set()
        s_hi = hi
        ids = pl.DataFrame({"trace_id": [], "start_time": []})
        while s_hi > floor:
            s_lo = max(floor, s_hi - TEXT_SLICE_US)
            segs = [s for s in spans if s.min_us < s_hi and s.max_us >= s_lo]
            found.update(self.text.trace_ids(segs, f.text, s_lo, s_hi))
            if found:
                sql, params = self._ids_sql(parts_files, f, need, cursor, sorted(found), (s_lo, day_hi))
                ids = self.r.query(sql, params)
                if ids.height >= need:
                    break
            s_hi = s_lo
        if ids.height < need and found:  # the whole day was read: every match of the day counts
            sql, params = self._ids_sql(parts_files, f, need, cursor, sorted(found), (day_lo, day_hi))
            ids = self.r.query(sql, params)
        return ids

    def _empty(self) -> pl.DataFrame:
        sql, params = self._rows_sql([], [])  # no files: the typed empty result
        return self.r.query(sql, params)

    def summary(self, trace_id: str, around_us: int | None = None) -> dict[str, Any] | None:
        """One trace's row. ``around_us`` (its start, when known) limits the read to the
        partitions next to it instead of all of them."""
        tr = TimeRange(around_us - DAY_US, around_us + DAY_US) if around_us is not None else TimeRange()
        sql = f"""
            WITH t AS (SELECT {_TRACE_AGG} FROM {self.r.scan('trace_parts', tr)} WHERE trace_id = ?
                       GROUP BY trace_id)
            SELECT *, (epoch_us(end_time) - epoch_us(start_time)) / 1000.0 AS latency_ms,
                   {self._runaway_sql()} AS runaway FROM t
        """
        df = self.r.query(sql, [trace_id])
        return df.row(0, named=True) if df.height else None

    def summary_of(self, spans: pl.DataFrame) -> dict[str, Any] | None:
        """The row ``summary`` gives, derived from the trace's spans already read, the way
        the collector derives trace parts: opening a trace from the list then reads its
        spans and nothing else."""
        if not spans.height:
            return None
        part = pl.from_arrow(trace_parts.from_spans(spans.to_arrow()))
        assert isinstance(part, pl.DataFrame)
        row = part.row(0, named=True)
        sigs = row.pop("tool_signatures") or []
        row["repeated_tool_calls"] = len(sigs) - len(set(sigs))
        row["latency_ms"] = (_us(row["end_time"]) - _us(row["start_time"])) / 1000.0
        row["runaway"] = (row["llm_calls"] or 0) > self.runaway_llm_calls \
            or row["repeated_tool_calls"] >= REPEATED_TOOL_CALLS
        return row

    def spans(self, trace_id: str, start_us: int | None = None, end_us: int | None = None) -> pl.DataFrame:
        """Every span of one trace, in start order. With the trace's time range (from
        the list row) only the segments of that time are read."""
        if start_us is None or end_us is None:
            s = self.summary(trace_id)
            if s is None:
                return self.r.query(f"SELECT * FROM {self.r.scan('spans', files=[])} LIMIT 0")
            start_us, end_us = _us(s["start_time"]), _us(s["end_time"])
        # spans can start a little before or after what the trace's parts say (clock skew)
        tr = TimeRange(start_us - 60_000_000, end_us + 60_000_000)
        sql = (f"SELECT * FROM {self.r.scan('spans', tr)} WHERE trace_id = ? "
               f"AND start_time >= make_timestamp(?) AND start_time < make_timestamp(?) "
               f"ORDER BY start_time, span_id")
        return self.r.query(sql, [trace_id, tr.since_us, tr.until_us])

    def search_spans(self, text: str, tr: TimeRange, limit: int = 100) -> pl.DataFrame:
        words = [w for w in text.split() if w]
        pred, params = text_predicate(words or [text])
        bounds, bound_params = time_bounds("start_time", tr.since_us, tr.until_us)
        where = [pred, *bounds]
        params += bound_params
        sql = (f"SELECT trace_id, span_id, name, kind, start_time, model FROM {self.r.scan('spans', tr)} "
               f"WHERE {' AND '.join(where)} ORDER BY start_time DESC LIMIT {int(limit)}")
        return self.r.query(sql, params)

    def session_neighbours(self, session_id: str, start_us: int,
                           window_days: int = 7) -> tuple[str | None, str | None]:
        """The previous and next trace of the same session, by start time (a session
        is looked for within a week of this trace)."""
        tr = TimeRange(start_us - window_days * DAY_US, start_us + window_days * DAY_US)
        sql = f"""
            WITH t AS (SELECT trace_id, min(start_time) AS start_time FROM {self.r.scan('trace_parts', tr)}
                       WHERE session_id = ? GROUP BY trace_id)
            SELECT
              (SELECT trace_id FROM t WHERE start_time < make_timestamp(?) ORDER BY start_time DESC LIMIT 1),
              (SELECT trace_id FROM t WHERE start_time > make_timestamp(?) ORDER BY start_time LIMIT 1)
        """
        df = self.r.query(sql, [session_id, start_us, start_us])
        return (df.item(0, 0), df.item(0, 1)) if df.height else (None, None)


def _shift(day: str, days: int) -> str:
    return (date.fromisoformat(day) + timedelta(days=days)).isoformat()


def _us(v: Any) -> int:
    if isinstance(v, int):
        return v
    return int(v.timestamp() * 1_000_000)
