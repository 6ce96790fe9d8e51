"""The single writer: turns Arrow tables into published segments.

Used by the collector (fed from the WAL) and by anything that builds a store
offline (benchmarks, migrations). Every call publishes one new manifest.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from store.schema import TABLES, TIME_COLUMN
from store.segments import manifest as mf
from store.segments import text_index, trace_parts
from store.segments.layout import TABLES as TABLES_DIR
from store.segments.layout import fsync_dir, partition_dir, segment_path

GRACE_SECONDS = 120.0  # how long a dropped file stays for readers of an older snapshot
ROW_GROUP = 128 * 1024
# Span rows carry message text (~1.3 KB each in Arrow): their row groups are smaller, so
# a rewrite holds ~40 MB at a time and a search skips finer.
SPAN_ROW_GROUP = 32 * 1024
SEALED_LEVEL = 3  # a closed day's final segment: span segments of this level carry a text index

Chunks = Iterable[pa.Table]


# Dictionary encoding pays off on repetitive columns and only costs on free text;
# statistics are kept where they prune (time), not on megabytes of message text.
DICTIONARY_COLUMNS = frozenset(("kind", "otel_kind", "service", "status", "operation", "model", "provider",
                                "server_address", "cost_source", "finish_reason", "prompt_id", "prompt_version",
                                "session_id", "user_id", "tags", "dialect", "resource", "root_name", "services",
                                "models", "prompt_ids", "target", "metric", "labels", "detector", "category",
                                "severity", "action", "source", "direction", "rule", "state", "subject", "name"))
STATISTICS_COLUMNS = frozenset(("start_time", "end_time", "time", "received_at", "duration_ms", "cost_usd"))


def row_group_size(table: str) -> int:
    return SPAN_ROW_GROUP if table == "spans" else ROW_GROUP


def regroup(chunks: Chunks, size: int, sort_column: str | None) -> Iterator[pa.Table]:
    """Row groups of ``size`` rows from a stream of chunks. With ``sort_column``, each
    is sorted over a window of a row group and the latest chunk's worth of rows more, so
    chunks that arrive in time order, each overlapping the next by less than a chunk,
    come out in order, with bounded memory."""
    buffer: list[pa.Table] = []
    buffered = 0
    for chunk in chunks:
        if chunk.num_rows == 0:
            continue
        buffer.append(chunk)
        buffered += chunk.num_rows
        keep = chunk.num_rows if sort_column else 0  # held back to meet the next chunk
        if buffered < size + keep:
            continue
        window = pa.concat_tables(buffer)
        if sort_column:
            # take() copies only the rows of each group and of the rest, so the window's
            # chunks are freed here rather than kept alive by slices of a sorted copy
            order = pc.sort_indices(window, [(sort_column, "ascending")])
            while len(order) >= size + keep:
                yield window.take(order[:size])
                order = order[size:]
            window = window.take(order)
        else:
            while window.num_rows >= size:
                yield window.slice(0, size)
                window = window.slice(size)
        buffer, buffered = [window], window.num_rows
    if buffered:
        rest = pa.concat_tables(buffer)
        yield rest.sort_by(sort_column) if sort_column else rest


def split_by_day(table: pa.Table, time_col: str) -> dict[str, pa.Table]:
    if table.num_rows == 0:
        return {}
    lo, hi = pc.min_max(table[time_col]).values()
    if lo.is_valid and _us(lo) // 86_400_000_000 == _us(hi) // 86_400_000_000:
        return {datetime.fromtimestamp(_us(lo) / 1e6, tz=timezone.utc).date().isoformat(): table}
    days = pc.strftime(table[time_col], format="%Y-%m-%d")
    uniq = pc.unique(days).to_pylist()
    if len(uniq) == 1:
        return {uniq[0]: table}
    return {d: table.filter(pc.equal(days, d)) for d in uniq}


def conform(table: pa.Table, name: str) -> pa.Table:
    schema = TABLES[name]
    if table.schema.equals(schema):
        return table
    cols = []
    for f in schema:
        if f.name in table.column_names:
            cols.append(table[f.name].cast(f.type))
        else:
            cols.append(pa.nulls(table.num_rows, f.type))
    return pa.Table.from_arrays(cols, schema=schema)


class SegmentWriter:
    """Owns the manifest of one store. Not for concurrent use by two processes:
    the collector's lock (``store.segments.lock``) guarantees a single writer."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / TABLES_DIR).mkdir(exist_ok=True)
        self.manifest = mf.load(self.root)
        self.lock = threading.RLock()  # flushes and compaction publish from different threads

    def _segment(self, table: str, day: str, chunks: Chunks, generation: int | str, index: int,
                 level: int) -> mf.Segment | None:
        """Write one segment from a stream of chunks, a row group at a time: temp name,
        fsync, rename, so a segment file is either whole or absent. Level 0 keeps
        arrival order; every rewrite sorts by time."""
        rel = segment_path(table, day, generation, index)
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
        indexed = table == "spans" and level >= SEALED_LEVEL
        schema, time_col = TABLES[table], TIME_COLUMN[table]
        rows, lo, hi, index_groups = 0, None, None, []
        try:
            with open(tmp, "wb") as f:
                # level-0 segments live minutes, until compaction re-encodes them: fast lz4 first
                size = row_group_size(table)
                with pq.ParquetWriter(f, schema, compression="lz4" if level == 0 else "zstd",
                                      use_dictionary=[c for c in schema.names if c in DICTIONARY_COLUMNS],
                                      write_statistics=[c for c in schema.names if c in STATISTICS_COLUMNS]) as out:
                    for group in regroup((conform(c, table) for c in chunks), size, time_col if level else None):
                        out.write_table(group, row_group_size=size)
                        rows += group.num_rows
                        g_lo, g_hi = (_us(v) for v in pc.min_max(group[time_col]).values())
                        lo, hi = (g_lo if lo is None else min(lo, g_lo)), (g_hi if hi is None else max(hi, g_hi))
                        if indexed:
                            index_groups.append(text_index.group_bits(group))
                f.flush()
                os.fsync(f.fileno())
            if not rows:
                tmp.unlink()
                return None
            if indexed:  # the sidecar first: a published segment's index is always there
                text_index.write(self.root / (rel + text_index.SUFFIX), text_index.assemble(index_groups))
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        fsync_dir(path.parent)
        return mf.Segment(table=table, day=day, path=rel, rows=rows, bytes=path.stat().st_size,
                          min_us=lo or 0, max_us=hi or 0, level=level,
                          generation=generation if isinstance(generation, int) else 0, text_index=indexed)

    def append(self, tables: dict[str, pa.Table], wal_checkpoint: int | None = None) -> list[mf.Segment]:
        """Write the given tables (spans also yield trace parts) and publish them at once."""
        with self.lock:
            generation = self.manifest.generation + 1
            new: list[mf.Segment] = []
            index = 0
            work = dict(tables)
            if "spans" in work and work["spans"].num_rows:
                work["trace_parts"] = trace_parts.from_spans(work["spans"])
            for name, table in work.items():
                if table.num_rows == 0:
                    continue
                table = conform(table, name)
                for day, rows in sorted(split_by_day(table, TIME_COLUMN[name]).items()):
                    if (segment := self._segment(name, day, [rows], generation, index, 0)) is not None:
                        new.append(segment)
                    index += 1
            m = self.manifest
            m.generation = generation
            m.segments = m.segments + new
            if wal_checkpoint is not None:
                m.wal_checkpoint = max(m.wal_checkpoint, wal_checkpoint)
            self._sweep(m)
            mf.publish(self.root, m)
            return new

    def replace(self, remove: list[mf.Segment],
                add_tables: list[tuple[str, str, pa.Table | Chunks, int]]) -> list[mf.Segment]:
        """Swap segments for rewritten ones (compaction, repricing, retention with add=[]).
        Each addition is a table or a stream of chunks (a rewrite never needs its
        inputs in memory at once).

        The new files are written before the lock is taken, so a long rewrite never
        delays a flush; only the manifest swap is serialized.
        """
        stamp = time.time_ns()
        added = []
        for i, (name, day, rows, level) in enumerate(add_tables):
            chunks = [rows] if isinstance(rows, pa.Table) else rows
            if (segment := self._segment(name, day, chunks, f"r{stamp}", i, level)) is not None:
                added.append(segment)
        with self.lock:
            live = {s.path for s in self.manifest.segments}
            gone = [s for s in remove if s.path not in live]
            if gone:
                for s in added:
                    (self.root / s.path).unlink(missing_ok=True)
                raise RuntimeError(f"segments vanished under a rewrite: {[s.path for s in gone][:3]}")
            return self._swap(remove, added, self.manifest.generation + 1)

    def _swap(self, remove: list[mf.Segment], added: list[mf.Segment], generation: int) -> list[mf.Segment]:
        m = self.manifest
        drop = {s.path for s in remove}
        m.generation = generation
        m.segments = [s for s in m.segments if s.path not in drop] + added
        due = time.time() + GRACE_SECONDS
        m.graveyard = m.graveyard + [(p, due) for p in sorted(drop)]
        self._sweep(m)
        mf.publish(self.root, m)
        return added

    def _sweep(self, m: mf.Manifest) -> None:
        now = time.time()
        keep = []
        for path, due in m.graveyard:
            if due <= now:
                (self.root / path).unlink(missing_ok=True)
                (self.root / (path + text_index.SUFFIX)).unlink(missing_ok=True)
            else:
                keep.append((path, due))
        m.graveyard = keep

    def remove_orphans(self) -> int:
        """Files a crashed flush left behind, never published: delete them."""
        known = {s.path for s in self.manifest.segments} | {p for p, _ in self.manifest.graveyard}
        known |= {p + text_index.SUFFIX for p in known}
        removed = 0
        for path in (self.root / TABLES_DIR).rglob("*"):
            if path.is_file():
                rel = path.relative_to(self.root).as_posix()
                if rel not in known:
                    path.unlink()
                    removed += 1
        return removed

    def partitions(self, table: str) -> dict[str, list[mf.Segment]]:
        out: dict[str, list[mf.Segment]] = {}
        for s in self.manifest.segments:
            if s.table == table:
                out.setdefault(s.day, []).append(s)
        return out

    def partition_dir(self, table: str, day: str) -> Path:
        return self.root / partition_dir(table, day)


def _us(v: pa.Scalar) -> int:
    if not v.is_valid:
        return 0
    return int(v.cast(pa.int64()).as_py())
