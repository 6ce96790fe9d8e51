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

from store.query.reader import StoreReader
from store.segments.manifest import Segment

COLUMNS = ("start_time", "trace_id", "cost_usd", "cost_source", "model", "provider", "service", "user_id",
           "session_id", "tags", "prompt_id", "prompt_version", "server_address", "input_tokens", "output_tokens",
           "cache_read_tokens", "cache_write_tokens", "reasoning_tokens", "attributes")
_TYPES = ("TIMESTAMPTZ", "VARCHAR", "DOUBLE", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR",
          "VARCHAR[]", "VARCHAR", "VARCHAR", "VARCHAR", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "VARCHAR")
DELETE_AFTER_S = 60.0  # a forgotten segment's rows stay this long for questions already running


def sealed(segment: Segment, today: str | None = None) -> bool:
    today = today or datetime.now(UTC).date().isoformat()
    return segment.table == "spans" and (segment.level >= 1 or segment.day < today)


class HotSpans:
    def __init__(self, reader: StoreReader, threads: int = 2, memory_limit: str = "512MB"):
        self.reader = reader
        self._dir = tempfile.mkdtemp(prefix="llmops-costs-")
        self._con = duckdb.connect(str(Path(self._dir) / "hot.duckdb"))
        self._con.execute(f"SET threads = {int(threads)}")
        self._con.execute(f"SET memory_limit = '{memory_limit}'")
        cols = ", ".join(f"{c} {t}" for c, t in zip(COLUMNS, _TYPES))
        # GPU-time spans apart: only they need their bucket's price joined in
        self._con.execute(f"CREATE TABLE priced (seg INTEGER, {cols})")
        self._con.execute(f"CREATE TABLE gpu_priced (seg INTEGER, {cols})")
        self._local = threading.local()
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._ids: dict[str, int] = {}  # segment path -> id, for loaded segments
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
            for path in [p for p in self._ids if p not in live]:
                self._forgotten.append((self._ids.pop(path), now))
            due = [i for i, when in self._forgotten if now - when >= DELETE_AFTER_S]
            self._forgotten = [(i, w) for i, w in self._forgotten if now - w < DELETE_AFTER_S]
            missing = sorted((s for p, s in live.items() if p not in self._ids), key=lambda s: s.day, reverse=True)
        cur = self.cursor()
        if due:
            for table in ("priced", "gpu_priced"):
                cur.execute(f"DELETE FROM {table} WHERE seg IN ({', '.join(map(str, due))})")
        loaded, started = 0, time.monotonic()
        for segment in missing:
            if budget_s is not None and time.monotonic() - started > budget_s or limit is not None and loaded >= limit:
                break
            with self._lock:
                seg_id, self._next_id = self._next_id, self._next_id + 1
            path = str(self.reader.root / segment.path).replace("'", "''")
            try:
                cur.execute("BEGIN")
                cur.execute(f"CREATE TEMP TABLE _load AS SELECT {seg_id} AS seg, {', '.join(COLUMNS)} "
                            f"FROM read_parquet('{path}', union_by_name = true) WHERE cost_source IS NOT NULL")
                cur.execute("INSERT INTO priced SELECT * FROM _load WHERE cost_source <> 'gpu_time'")
                cur.execute("INSERT INTO gpu_priced SELECT * FROM _load WHERE cost_source = 'gpu_time'")
                cur.execute("DROP TABLE _load")
                cur.execute("COMMIT")
            except (duckdb.IOException, duckdb.BinderException):
                cur.execute("ROLLBACK")
                continue  # compacted away meanwhile, or an old file without a column: Parquet it stays
            with self._lock:
                self._ids[segment.path] = seg_id
            loaded += 1
        return loaded

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        with self._sync_lock:
            self._con.close()
        shutil.rmtree(self._dir, ignore_errors=True)


def _close_if_alive(ref: weakref.ref) -> None:
    hot = ref()
    if hot is not None:
        hot.close()


def hot_sources(hot: HotSpans, reader: StoreReader, segments: list[Segment]) -> list[tuple[str, str]]:
    """FROM-clause sources with ``COLUMNS`` for the spans of ``segments`` (priced-kind
    rows only from the hot copy), each with whether GPU-time rows may be in it:
    "none" (the hot copy's other spans), "only" (its GPU-time spans), "mixed" (Parquet
    for the segments it does not hold yet). Run them on ``hot.cursor()``."""
    cached, files = hot.split(segments)
    cols = ", ".join(COLUMNS)
    ids = ", ".join(map(str, cached)) or "NULL"
    sources = [(f"(SELECT {cols} FROM priced WHERE seg IN ({ids}))", "none"),
               (f"(SELECT {cols} FROM gpu_priced WHERE seg IN ({ids}))", "only")]
    if files:
        sources.append((f"(SELECT {cols} FROM {reader.scan('spans', files=files)})", "mixed"))
    return sources
