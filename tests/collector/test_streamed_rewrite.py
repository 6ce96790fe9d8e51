"""Compaction and sealing stream rows through the writer a row group at a time: nothing
lost, time order restored, the text index aligned with the row groups written."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from store.schema import SPANS
from store.segments import compaction, text_index
from store.segments import writer as segment_writer
from store.segments.writer import SegmentWriter, regroup
from tests.support.stores import T0, hexid, span, write


def _chunk(values: list[int]) -> pa.Table:
    return pa.table({"t": pa.array(values, pa.int64())})


@pytest.mark.parametrize("sort", [None, "t"])
def test_regroup_keeps_every_row_in_groups_of_the_size(sort: str | None) -> None:
    rng = random.Random(7)
    values = list(range(1000))
    rng.shuffle(values)
    chunks = [_chunk(values[i:i + rng.randint(1, 90)]) for i in range(0, 1000, 45)]
    expected = sorted(v for c in chunks for v in c["t"].to_pylist())
    groups = list(regroup(iter(chunks), 100, sort))
    assert all(g.num_rows == 100 for g in groups[:-1]) and 0 < groups[-1].num_rows <= 100
    assert sorted(v for g in groups for v in g["t"].to_pylist()) == expected
    if sort:
        assert all(g["t"].to_pylist() == sorted(g["t"].to_pylist()) for g in groups)


def test_regroup_puts_rough_time_order_in_order() -> None:
    # chunks in time order that overlap their neighbours by less than a chunk
    chunks = [_chunk(sorted(range(i * 50 - 20, i * 50 + 50))) for i in range(40)]
    out = [v for g in regroup(iter(chunks), 200, "t") for v in g["t"].to_pylist()]
    assert out == sorted(out)


def _flushes(store: Path, flushes: int, per_flush: int) -> None:
    for k in range(flushes):
        rows = [span(hexid(k, i), hexid("s", k, i, n=16), None, f"call {k}",
                     T0 + timedelta(seconds=k * per_flush + (per_flush - i)), 3, kind="llm",
                     input_value=f"question {k}-{i}" + (" needle-xyz" if (k, i) == (5, 3) else ""))
                for i in range(per_flush)]
        write(store, rows)


def test_compaction_and_sealing_stream_in_row_groups(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(segment_writer, "SPAN_ROW_GROUP", 64)  # many row groups from a small store
    monkeypatch.setattr(compaction, "READ_CHUNK", 16)
    store = tmp_path / "store"
    _flushes(store, 12, 40)
    w = SegmentWriter(store)
    compaction.full_compaction(w, compaction.CompactionPolicy(fan_in=3))
    assert compaction.seal_old_days(w) == ["trace_parts/2026-01-05", "spans/2026-01-05"]
    (sealed,) = [s for s in w.manifest.segments if s.table == "spans"]
    pf = pq.ParquetFile(store / sealed.path)
    assert sealed.rows == 480 and pf.metadata.num_rows == 480
    assert all(pf.metadata.row_group(i).num_rows <= 64 for i in range(pf.num_row_groups))
    times = pf.read(columns=["start_time"])["start_time"]
    assert times.to_pylist() == sorted(times.to_pylist())
    lo, hi = pc.min_max(times).values()
    assert (sealed.min_us, sealed.max_us) == (lo.cast(pa.int64()).as_py(), hi.cast(pa.int64()).as_py())
    index = (store / (sealed.path + text_index.SUFFIX)).read_bytes()
    groups = text_index.candidate_row_groups(index, text_index.query_trigrams(["needle-xyz"]))
    assert groups is not None and len(groups) == 1
    hit = pf.read_row_group(groups[0], columns=["input_value"])["input_value"].to_pylist()
    assert any("needle-xyz" in (v or "") for v in hit)
    assert len(index) == len(text_index.assemble([])) + pf.num_row_groups * text_index.BYTES


def test_a_rewrite_that_fails_leaves_no_file_behind(tmp_path: Path) -> None:
    store = tmp_path / "store"
    _flushes(store, 2, 10)
    w = SegmentWriter(store)
    before = sorted(p.name for p in (store / "tables").rglob("*") if p.is_file())

    def broken():
        yield pa.Table.from_pylist([span(hexid(1), hexid(2, n=16), None, "x", T0, 1)], schema=SPANS)
        raise OSError("disk full")

    with pytest.raises(OSError):
        w.replace([], [("spans", "2026-01-05", broken(), 1)])
    assert sorted(p.name for p in (store / "tables").rglob("*") if p.is_file()) == before
