"""Compaction and retention: fewer, larger, time-sorted segments; old days dropped whole.

Size-tiered per (table, day): when a partition holds ``fan_in`` segments of one
level, they are merged into one segment of the next level. Trace parts are also
folded so that each trace is one row per merged segment.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterator
from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pyarrow.parquet as pq

from store.segments import manifest as mf
from store.segments import trace_parts
from store.segments.batches import READ_BUFFER, batches
from store.segments.writer import SEALED_LEVEL, SegmentWriter

MAX_LEVEL = 2  # size-tiered merges stop here; SEALED_LEVEL (3) is a closed day's final form
# Spans stream through a rewrite a few thousand rows at a time; trace parts (narrow, one
# row per trace) are folded in memory, so a day with more than this many stays in pieces.
SEAL_MAX_PARTS = 2_000_000
READ_CHUNK = 8192


@dataclass
class CompactionPolicy:
    fan_in: int = 8  # segments of one level merged at once
    max_rows: int = 4_000_000  # segments at least this big are left alone


def _read(writer: SegmentWriter, segs: list[mf.Segment]) -> pa.Table:
    tables = [pq.read_table(writer.root / s.path, pre_buffer=False, buffer_size=READ_BUFFER, use_threads=False)
              for s in segs]
    return pa.concat_tables(tables, promote_options="default")


def _stream(writer: SegmentWriter, segs: list[mf.Segment]) -> Iterator[pa.Table]:
    """The segments' rows in chunks, oldest segment first (the writer sorts a window
    at a time, so rough time order in gives time order out)."""
    for s in sorted(segs, key=lambda s: (s.min_us, s.path)):
        for batch in batches(writer.root / s.path, READ_CHUNK):
            yield pa.Table.from_batches([batch])


def _rewritten(writer: SegmentWriter, table: str, segs: list[mf.Segment]) -> pa.Table | Iterator[pa.Table]:
    if table == "trace_parts":
        return trace_parts.merge(_read(writer, segs))
    return _stream(writer, segs)


def plan(writer: SegmentWriter, policy: CompactionPolicy,
         keep: Callable[[mf.Segment], bool] | None = None) -> list[list[mf.Segment]]:
    """``keep`` names segments that must stay as they are for now (not yet scanned by
    the guardrail detectors)."""
    groups: list[list[mf.Segment]] = []
    by_key: dict[tuple[str, str, int], list[mf.Segment]] = {}
    for s in writer.manifest.segments:
        if keep is not None and keep(s):
            continue
        if s.rows < policy.max_rows and s.level < MAX_LEVEL:
            by_key.setdefault((s.table, s.day, s.level), []).append(s)
    for (_, _, _), segs in sorted(by_key.items()):
        if len(segs) >= policy.fan_in:
            segs.sort(key=lambda s: s.path)
            groups.append(segs[: policy.fan_in * 4])  # bounded work per step
    return groups


def compact_once(writer: SegmentWriter, policy: CompactionPolicy | None = None,
                 keep: Callable[[mf.Segment], bool] | None = None) -> int:
    """Run every merge the policy asks for now; returns how many segments were merged away."""
    policy = policy or CompactionPolicy()
    merged = 0
    for segs in plan(writer, policy, keep):
        table, day = segs[0].table, segs[0].day
        level = min(MAX_LEVEL, max(s.level for s in segs) + 1)
        writer.replace(segs, [(table, day, _rewritten(writer, table, segs), level)])
        merged += len(segs)
    return merged


def seal_old_days(writer: SegmentWriter, now: datetime | None = None,
                  keep: Callable[[mf.Segment], bool] | None = None, max_days: int = 1) -> list[str]:
    """A day that is over becomes one sealed segment per table: time-sorted spans with
    a text index (so searching old data reads only what may match), and trace parts
    folded to one row per trace. ``max_days`` bounds the work of one call."""
    today = (now or datetime.now(timezone.utc)).date().isoformat()
    sealed = []
    by_day: dict[tuple[str, str], list[mf.Segment]] = {}
    for s in writer.manifest.segments:
        if s.day < today and s.table in ("spans", "trace_parts"):
            by_day.setdefault((s.day, s.table), []).append(s)
    for (day, table), segs in sorted(by_day.items(), reverse=True):
        if len(sealed) >= max_days * 2:
            break
        if len(segs) == 1 and segs[0].level == SEALED_LEVEL:
            continue
        if keep is not None and any(keep(s) for s in segs):
            continue  # not yet scanned by the guardrail detectors
        if table == "trace_parts" and sum(s.rows for s in segs) > SEAL_MAX_PARTS:
            continue  # so many traces stay in their compacted pieces rather than in memory whole
        writer.replace(segs, [(table, day, _rewritten(writer, table, segs), SEALED_LEVEL)])
        sealed.append(f"{table}/{day}")
    return sealed


def drop_older_than(writer: SegmentWriter, days: int, now: datetime | None = None) -> list[str]:
    """Retention: whole day partitions older than ``days`` leave the manifest."""
    now = now or datetime.now(timezone.utc)
    cutoff = (now - timedelta(days=days)).date().isoformat()
    old = [s for s in writer.manifest.segments if s.day < cutoff]
    if not old:
        return []
    writer.replace(old, [])
    return sorted({s.day for s in old})


def full_compaction(writer: SegmentWriter, policy: CompactionPolicy | None = None,
                    time_budget_s: float = 1e9) -> int:
    """Compact until nothing is left to do (or the budget runs out)."""
    t0, total = time.monotonic(), 0
    while time.monotonic() - t0 < time_budget_s:
        n = compact_once(writer, policy)
        if not n:
            break
        total += n
    return total
