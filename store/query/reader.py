"""The query layer's core: which files to read, and a DuckDB connection per thread."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import duckdb
import polars as pl
import pyarrow as pa

from store.schema import SCHEMA_VERSION, TABLES
from store.segments.manifest import Manifest, ManifestCache, StoreError

_MISSING_FILE_RETRIES = 3


def time_bounds(expr: str, since_us: int | None, until_us: int | None) -> tuple[list[str], list[int]]:
    """SQL conditions ``expr`` in [since, until) for the bounds that are set, and their
    parameters (microseconds)."""
    sql: list[str] = []
    params: list[int] = []
    if since_us is not None:
        sql.append(f"{expr} >= make_timestamp(?)")
        params.append(since_us)
    if until_us is not None:
        sql.append(f"{expr} < make_timestamp(?)")
        params.append(until_us)
    return sql, params


@dataclass(frozen=True)
class TimeRange:
    since_us: int | None = None
    until_us: int | None = None

    @classmethod
    def last(cls, seconds: float, now: float | None = None) -> "TimeRange":
        now = time.time() if now is None else now
        return cls(int((now - seconds) * 1e6), None)

    def overlaps(self, lo: int, hi: int) -> bool:
        if self.since_us is not None and hi < self.since_us:
            return False
        if self.until_us is not None and lo >= self.until_us:
            return False
        return True


ALL_TIME = TimeRange()


class StoreReader:
    """One per process (or per console). Thread-safe: each thread gets its own cursor."""

    def __init__(self, root: Path | str, threads: int | None = None, memory_limit: str = "1GB"):
        self.root = Path(root).expanduser().resolve()
        self._manifests = ManifestCache(self.root)
        self._con = duckdb.connect(":memory:")
        if threads:
            self._con.execute(f"SET threads = {int(threads)}")
        self._con.execute(f"SET memory_limit = '{memory_limit}'")
        self._con.execute("SET parquet_metadata_cache = true")
        # Times are stored in UTC and bound as UTC microseconds: comparisons must not
        # shift by the local zone.
        self._con.execute("SET GLOBAL TimeZone = 'UTC'")  # global: every thread's cursor too
        for name, schema in TABLES.items():
            # typed empty tables stand in when no segment exists yet (real tables, so
            # that every thread's cursor sees them)
            empty = pa.Table.from_batches([], schema=schema)  # noqa: F841 (read by the SQL below)
            self._con.execute(f"CREATE TABLE _empty_{name} AS SELECT * FROM empty")
        self._local = threading.local()

    # -- manifest and files ----------------------------------------------------------------
    def manifest(self) -> Manifest:
        m = self._manifests.get()
        if m.schema_version > SCHEMA_VERSION:
            raise StoreError(
                f"store {self.root} has schema version {m.schema_version}, newer than this "
                f"llmops-console understands ({SCHEMA_VERSION}); upgrade llmops-console"
            )
        return m

    def files(self, table: str, tr: TimeRange = ALL_TIME, manifest: Manifest | None = None) -> list[str]:
        m = manifest or self.manifest()
        return [str(self.root / s.path) for s in m.segments if s.table == table and tr.overlaps(s.min_us, s.max_us)]

    def scan(self, table: str, tr: TimeRange = ALL_TIME, files: Sequence[str] | None = None) -> str:
        """A FROM-clause source for ``table`` limited to the segments that can match."""
        files = self.files(table, tr) if files is None else list(files)
        if not files:
            return f"_empty_{table}"
        quoted = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
        return f"read_parquet([{quoted}], union_by_name = true)"

    def store_bytes(self) -> int:
        return sum(s.bytes for s in self.manifest().segments)

    # -- execution -------------------------------------------------------------------------
    def cursor(self) -> duckdb.DuckDBPyConnection:
        cur = getattr(self._local, "cur", None)
        if cur is None:
            cur = self._local.cur = self._con.cursor()
        return cur

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> pl.DataFrame:
        """Run SQL and return a polars frame. A file that compaction removed after we
        read the manifest is retried against the newer manifest by the callers that
        build SQL from ``scan``; here we only retry the raw statement."""
        last: Exception | None = None
        for _ in range(_MISSING_FILE_RETRIES):
            try:
                return self.cursor().sql(sql, params=params or None).pl()
            except duckdb.IOException as e:
                last = e
                if "No files found" not in str(e) and "No such file" not in str(e):
                    raise
                time.sleep(0.05)
        assert last is not None
        raise last

    def query_fresh(self, build: Any, *args: Any, **kwargs: Any) -> pl.DataFrame:
        """``build(*args)`` makes SQL and params from the current manifest; rebuilt if a
        file vanished (a snapshot older than the compaction grace period)."""
        last: Exception | None = None
        for _ in range(_MISSING_FILE_RETRIES):
            sql, params = build(*args, **kwargs)
            try:
                return self.cursor().sql(sql, params=params or None).pl()
            except duckdb.IOException as e:
                last = e
                if "No files found" not in str(e) and "No such file" not in str(e) and "not exist" not in str(e):
                    raise
                time.sleep(0.05)
        assert last is not None
        raise last
