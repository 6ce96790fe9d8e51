"""A hot copy of what the cost explorer reads, for the console's long ranges.

Decoding Parquet is most of the cost of a 90-day question over millions of spans: a
cost query reads a dozen columns of every span, priced or not. This keeps the
priced-kind spans' cost columns (``COLUMNS``) of *sealed* segments in a DuckDB file
of its own (native storage: light compression, no Parquet decoding), in a temporary
directory that lives as long as the console. A question then reads the sealed
segments from here and the rest (today's fresh flushes) from Parquet, in one
statement; the two sources never overlap, so the answer is exact either way.

* Sealed: a compacted segment (level >= 1), or one of a day before today (UTC): such
  files rarely change. Segment files never change once written; a segment the
  manifest drops is forgotten at once and its rows deleted a little later (a question
  already running may still read them).
* ``sync()`` loads what is missing, newest day first, in a background thread; a
  question never waits for it. Until a segment is loaded its Parquet file is read.
* Each span carries its trace's root name (``trace_name``), resolved when the segment
  is loaded from the trace parts of its day and the day before (where the explorer
  looks for roots); when those trace parts change (a late root, a compaction), the
  segment is loaded again.
* Each loaded segment also has its daily rollups (``cost_rollup.GRAINS`` but
  ``user_all``), by GPU bucket (``r_<grain>``) and by share of it (``s_<grain>``), so
  that a question over whole days reads far fewer rows than there are spans.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import weakref
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from store.query.cost_rollup import (DAY_US, GRAINS, Grain, read_parquet, rollup_columns, rollup_select, sealed,
                                     shares_columns, shares_select, with_shares)
from store.query.reader import StoreReader, TimeRange
from store.segments.manifest import Manifest, Segment

COLUMNS = ("start_time", "trace_id", "cost_usd", "cost_source", "model", "provider", "service", "user_id",
           "session_id", "tags", "prompt_id", "prompt_version", "server_address", "input_tokens", "output_tokens",
           "cache_read_tokens", "cache_write_tokens", "reasoning_tokens", "attributes")
_TYPES = ("TIMESTAMPTZ", "VARCHAR", "DOUBLE", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR",
          "VARCHAR[]", "VARCHAR", "VARCHAR", "VARCHAR", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "VARCHAR")
_ROLLUP_TYPES = {"start_time": "TIMESTAMPTZ", "tags": "VARCHAR[]", "gb": "BIGINT", "cost": "DOUBLE", "n": "BIGINT",
                 "share": "DOUBLE",
                 "unk": "BIGINT", "w": "DOUBLE", "input_tokens": "BIGINT", "output_tokens": "BIGINT",
                 "cache_read_tokens": "BIGINT", "cache_write_tokens": "BIGINT", "reasoning_tokens": "BIGINT"}
HOT_GRAINS = [g for g in GRAINS if g.hot]
DELETE_AFTER_S = 60.0  # a forgotten segment's rows stay this long for questions already running


class HotSpans:
    def __init__(self, reader: StoreReader, threads: int = 2, memory_limit: str = "512MB"):
        self.reader = reader
        self._dir = tempfile.mkdtemp(prefix="llmops-costs-")
        self._con = duckdb.connect(str(Path(self._dir) / "hot.duckdb"))
        self._con.execute(f"SET threads = {int(threads)}")
        self._con.execute(f"SET memory_limit = '{memory_limit}'")
        cols = ", ".join(f"{c} {t}" for c, t in zip(COLUMNS, _TYPES))
        # GPU-time spans apart: only they need their bucket's price joined in
        self._con.execute(f"CREATE TABLE priced (seg INTEGER, {cols}, trace_name VARCHAR)")
        self._con.execute(f"CREATE TABLE gpu_priced (seg INTEGER, {cols}, trace_name VARCHAR)")
        for g in HOT_GRAINS:
            rcols = ", ".join(f"{c} {_ROLLUP_TYPES.get(c, 'VARCHAR')}" for c in rollup_columns(g))
            self._con.execute(f"CREATE TABLE r_{g.name} (seg INTEGER, {rcols})")
            rcols = ", ".join(f"{c} {_ROLLUP_TYPES.get(c, 'VARCHAR')}" for c in shares_columns(g))
            self._con.execute(f"CREATE TABLE s_{g.name} (seg INTEGER, {rcols})")
        self._local = threading.local()
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._ids: dict[str, int] = {}  # segment path -> id, for loaded segments
        self._roots_from: dict[str, tuple[str, ...]] = {}  # segment path -> the trace parts its names came from
        self._forgotten: list[tuple[int, float]] = []  # (id, when) rows to delete
        self._next_id = 0
        self.closed = False
        # the copy is disposable: never leave it behind, even when nobody calls close()
        atexit.register(_close_if_alive, weakref.ref(self))

    # -- reading ---------------------------------------------------------------------------
    def cursor(self) -> duckdb.DuckDBPyConnection:
        cur = getattr(self._local, "cur", None)
        if cur is None:
            cur = self._local.cur = self._con.cursor()
        return cur

    def split(self, segments: list[Segment]) -> tuple[list[int], list[str]]:
        """The ids of the segments held here, and the files of the others."""
        with self._lock:
            ids = {s.path: self._ids.get(s.path) for s in segments}
        cached = sorted(i for i in ids.values() if i is not None)
        files = [str(self.reader.root / s.path) for s in segments if ids[s.path] is None]
        return cached, files

    def rollup(self, grain: Grain, ids: list[int], shares: bool = False) -> str:
        """A FROM-clause source of the rollup rows of ``grain`` of the segments ``ids``
        (``shares``: of their GPU-time spans by share of the bucket, ``shares_select``)."""
        cols = ", ".join(shares_columns(grain) if shares else rollup_columns(grain))
        table = f"{'s' if shares else 'r'}_{grain.name}"
        return f"(SELECT {cols} FROM {table} WHERE seg IN ({', '.join(map(str, ids)) or 'NULL'}))"

    def ids(self, segments: list[Segment]) -> dict[str, int]:
        """segment path -> id, for the ``segments`` held here."""
        with self._lock:
            return {s.path: self._ids[s.path] for s in segments if s.path in self._ids}

    @property
    def segments(self) -> int:
        with self._lock:
            return len(self._ids)

    # -- keeping up with the manifest --------------------------------------------------------
    def sync(self, budget_s: float | None = None, limit: int | None = None) -> int:
        """Load the sealed segments not held yet (newest first; at most ``limit`` of them,
        or ``budget_s`` seconds of loading) and forget the ones the manifest dropped.
        Returns how many it loaded."""
        if self.closed or not self._sync_lock.acquire(blocking=False):
            return 0
        try:
            return self._sync(budget_s, limit)
        finally:
            self._sync_lock.release()

    def _sync(self, budget_s: float | None, limit: int | None) -> int:
        manifest = self.reader.manifest()
        today = datetime.now(UTC).date().isoformat()
        live = {s.path: s for s in manifest.segments if sealed(s, today)}
        now = time.monotonic()
        with self._lock:
            stale = [p for p in self._ids if p in live and self._roots_from.get(p) != _root_parts(manifest, live[p])]
            for path in [p for p in self._ids if p not in live] + stale:
                self._forgotten.append((self._ids.pop(path), now))
                self._roots_from.pop(path, None)
            due = [i for i, when in self._forgotten if now - when >= DELETE_AFTER_S]
            self._forgotten = [(i, w) for i, w in self._forgotten if now - w < DELETE_AFTER_S]
            missing = sorted((s for p, s in live.items() if p not in self._ids), key=lambda s: s.day, reverse=True)
        cur = self.cursor()
        if due:
            for table in ("priced", "gpu_priced", *(f"{t}_{g.name}" for g in HOT_GRAINS for t in "rs")):
                cur.execute(f"DELETE FROM {table} WHERE seg IN ({', '.join(map(str, due))})")
        loaded, started = 0, time.monotonic()
        for segment in missing:
            if budget_s is not None and time.monotonic() - started > budget_s or limit is not None and loaded >= limit:
                break
            with self._lock:
                seg_id, self._next_id = self._next_id, self._next_id + 1
            path = str(self.reader.root / segment.path)
            parts = _root_parts(manifest, segment)
            try:
                cur.execute("BEGIN")
                self._load(cur, seg_id, path, segment, parts)
                cur.execute("COMMIT")
            except (duckdb.IOException, duckdb.BinderException):
                cur.execute("ROLLBACK")
                cur.execute("DROP TABLE IF EXISTS _load")
                cur.execute("DROP TABLE IF EXISTS _shares")
                continue  # compacted away meanwhile, or an old file without a column: Parquet it stays
            with self._lock:
                self._ids[segment.path] = seg_id
                self._roots_from[segment.path] = parts
            loaded += 1
        return loaded

    def _load(self, cur: duckdb.DuckDBPyConnection, seg_id: int, path: str, segment: Segment,
               parts: tuple[str, ...]) -> None:
        """Copy one segment's priced spans, with their trace names, and its rollups."""
        cols = ", ".join(COLUMNS)
        if parts:
            files = read_parquet([self.reader.root / p for p in parts], union_by_name=True)
            roots = (f"(SELECT trace_id, any_value(root_name) AS trace_name FROM {files} WHERE root_name IS NOT NULL "
                     f"AND start_time >= make_timestamptz({segment.min_us - DAY_US}) GROUP BY trace_id)")
        else:
            roots = "(SELECT NULL::VARCHAR AS trace_id, NULL::VARCHAR AS trace_name)"
        cur.execute(f"CREATE TEMP TABLE _load AS SELECT {seg_id} AS seg, {', '.join('s.' + c for c in COLUMNS)}, "
                    f"r.trace_name FROM {read_parquet([path], union_by_name=True)} AS s "
                    f"LEFT JOIN {roots} AS r ON r.trace_id = s.trace_id WHERE s.cost_source IS NOT NULL")
        cur.execute(f"INSERT INTO priced SELECT seg, {cols}, trace_name FROM _load WHERE cost_source <> 'gpu_time'")
        cur.execute(f"INSERT INTO gpu_priced SELECT seg, {cols}, trace_name FROM _load WHERE cost_source = 'gpu_time'")
        cur.execute(f"CREATE TEMP TABLE _shares AS {with_shares('_load')}")
        for g in HOT_GRAINS:
            cur.execute(f"INSERT INTO r_{g.name} SELECT {seg_id}, * FROM ({rollup_select(g, '_load')})")
            cur.execute(f"INSERT INTO s_{g.name} SELECT {seg_id}, * FROM ({shares_select(g, '_shares')})")
        cur.execute("DROP TABLE _load")
        cur.execute("DROP TABLE _shares")

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        with self._sync_lock:
            self._con.close()
        shutil.rmtree(self._dir, ignore_errors=True)


def _root_parts(manifest: Manifest, segment: Segment) -> tuple[str, ...]:
    """The trace-part files a span segment's trace names come from: those of its days
    and the day before (a root starts at most a day before the spans asked about)."""
    window = TimeRange(segment.min_us - DAY_US, segment.max_us + 1)
    return tuple(sorted(s.path for s in manifest.segments
                        if s.table == "trace_parts" and window.overlaps(s.min_us, s.max_us)))


def _close_if_alive(ref: weakref.ref) -> None:
    hot = ref()
    if hot is not None:
        hot.close()


def hot_sources(hot: HotSpans, reader: StoreReader, segments: list[Segment],
                ids: dict[str, int] | None = None) -> tuple[list[tuple[str, str]], list[int]]:
    """FROM-clause sources with ``COLUMNS`` for the spans of ``segments`` (priced-kind
    rows only from the hot copy), each with whether GPU-time rows may be in it:
    "none" (the hot copy's other spans), "only" (its GPU-time spans), "mixed" (Parquet
    for the segments it does not hold yet). Run them on ``hot.cursor()``. Also the ids
    of the segments held (for ``rollup``). ``ids``: ``hot.ids(segments)`` taken before."""
    ids = hot.ids(segments) if ids is None else ids
    cached = sorted(ids.values())
    files = [str(reader.root / s.path) for s in segments if s.path not in ids]
    cols = ", ".join(COLUMNS)
    held = ", ".join(map(str, cached)) or "NULL"
    sources = [(f"(SELECT {cols}, trace_name FROM priced WHERE seg IN ({held}))", "none")]
    if cached:
        sources.append((f"(SELECT {cols}, trace_name FROM gpu_priced WHERE seg IN ({held}))", "only"))
    if files:
        sources.append((f"(SELECT {cols} FROM {reader.scan('spans', files=files)})", "mixed"))
    return sources, cached
