"""The daily rollups (``store.query.cost_rollup``) give the span-level answer: whole
days from the hot copy's rollups, partial days, hour buckets, segments not loaded yet
and late spans from spans, GPU-hour prices and unknown costs included."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from store.pricing.config import PricingConfig
from store.query import StoreReader
from store.query.cost_cache import HotSpans
from store.query.cost_rollup import GRAINS, RollupFiles
from store.query.costs import MEASURES, CostQueries, CostQuery
from tests.costs.cost_stores import PRICING, T0, US, cost_rows, llm_row, us, write_store
from tests.support.stores import hexid, span

DAY = 86_400 * US
HOUR = 3_600 * US
EXACT = [m for m in MEASURES if not m.endswith("_usd")]


def same_report(a, b) -> None:
    """Equal reports: counts exactly, costs to rounding."""
    key = ["bucket_start", *a.columns]
    left, right = a.rows.sort(key, nulls_last=True), b.rows.sort(key, nulls_last=True)
    assert left.select(key, *EXACT).equals(right.select(key, *EXACT))
    for m in MEASURES:
        if m.endswith("_usd"):
            x, y = left.get_column(m).to_list(), right.get_column(m).to_list()
            assert [v is None for v in x] == [v is None for v in y], m
            assert [v for v in y if v is not None] == pytest.approx([v for v in x if v is not None], rel=1e-9), m
    for m in ("cost_usd", "calls", "unknown_calls", "prev_cost_usd", "prev_calls", "gpu_time_usd"):
        x, y = a.totals[m], b.totals[m]
        assert (x is None) == (y is None) and (x is None or y == pytest.approx(x, rel=1e-9)), m
    dims = a.columns
    g1, g2 = a.groups.sort(dims, nulls_last=True), b.groups.sort(dims, nulls_last=True)
    assert g1.select(*dims, "calls").equals(g2.select(*dims, "calls"))
    p1, p2 = g1.get_column("prev_cost_usd").to_list(), g2.get_column("prev_cost_usd").to_list()
    assert [v is None for v in p1] == [v is None for v in p2]
    assert a.idle.equals(b.idle)


@pytest.fixture
def stores(tmp_path):
    rows = cost_rows(days=6)
    store = write_store(tmp_path / "store", rows[: len(rows) // 2])
    write_store(store, rows[len(rows) // 2:])  # two segments for some days
    pricer = PricingConfig.from_dict(PRICING).pricer()
    hot = HotSpans(StoreReader(store))
    grains: list[str] = []
    rollup = hot.rollup
    def spy(grain, ids, shares=False):  # type: ignore[no-untyped-def]
        grains.append(grain.name + (" shares" if shares else ""))
        return rollup(grain, ids, shares)

    hot.rollup = spy  # type: ignore[method-assign]
    try:
        yield store, CostQueries(StoreReader(store), pricer), CostQueries(hot.reader, pricer, hot), hot, grains
    finally:
        hot.close()


QUESTIONS = [
    # (since, until, bucket, by, where)
    (us(T0) + 3 * DAY, us(T0) + 6 * DAY, "day", ("model",), ()),  # whole days, previous period whole too
    (us(T0) + 2 * DAY + 5 * HOUR, us(T0) + 5 * DAY + 7 * HOUR, "day", ("model",), ()),  # partial first and last
    (us(T0) + 2 * DAY + 5 * HOUR, us(T0) + 5 * DAY + 7 * HOUR, "week", ("user",), ()),
    (us(T0) + 3 * DAY + 90 * US, us(T0) + 6 * DAY, "day", ("source",), ()),
    (us(T0) + 3 * DAY, us(T0) + 6 * DAY, "hour", ("service",), ()),  # hour buckets: spans
    (us(T0) + 3 * DAY, us(T0) + 6 * DAY, "day", ("model", "user"), ()),
    (us(T0) + 3 * DAY, us(T0) + 6 * DAY, "day", ("tag",), ()),
    (us(T0) + 3 * DAY, us(T0) + 6 * DAY, "day", ("prompt", "provider"), (("tag", "beta"),)),
    (us(T0) + 3 * DAY, us(T0) + 6 * DAY, "day", ("user",), (("tag", None),)),
    (us(T0) + 3 * DAY, us(T0) + 6 * DAY, "day", ("session",), ()),
    (us(T0) + 3 * DAY + HOUR, us(T0) + 6 * DAY, "day", ("trace",), ()),
    (us(T0) + 3 * DAY, us(T0) + 6 * DAY, "day", ("attr:app.team",), (("source", "gpu_time"),)),
    (us(T0) + 3 * DAY, us(T0) + 6 * DAY, "day", ("session", "user"), ()),  # no grain has both: spans
    (us(T0) + 3 * DAY, us(T0) + 6 * DAY, "day", (), ()),
]


def test_rollups_give_the_span_level_answer(stores):
    store, cold, warm, hot, grains = stores
    hot.sync()
    assert hot.split(hot.reader.manifest().tables("spans"))[1] == []
    for since, until, bucket, by, where in QUESTIONS:
        q = CostQuery(since, until, bucket, by, where)
        same_report(cold.explore(q), warm.explore(q))
    assert {g.split()[0] for g in grains} == {"base", "user", "session", "trace", "attr", "model_user"}


def test_gpu_time_and_unknown_costs_from_the_rollups(stores):
    store, cold, warm, hot, grains = stores
    hot.sync()
    q = CostQuery(us(T0) + 3 * DAY, us(T0) + 6 * DAY, "day", ("model",))
    a, b = cold.explore(q), warm.explore(q)
    same_report(a, b)
    assert set(grains) == {"base", "base shares"}  # each llama call is alone in its bucket: priced by share
    models = {r["model"]: r for r in b.groups.iter_rows(named=True)}
    assert models["llama-3-70b"]["gpu_time_usd"] == pytest.approx(0.10 * models["llama-3-70b"]["calls"])
    assert models["acme-ft"]["cost_usd"] is None and models["acme-ft"]["unknown_calls"] == models["acme-ft"]["calls"]
    # with no GPU endpoint configured, GPU time is unknown in the rollups too
    plain = PricingConfig.from_dict({"overrides": PRICING["overrides"]}).pricer()
    c2, w2 = CostQueries(cold.r, plain), CostQueries(hot.reader, plain, hot)
    same_report(c2.explore(q), w2.explore(q))
    llama = w2.explore(q).groups.filter(pl.col("model") == "llama-3-70b").row(0, named=True)
    assert llama["cost_usd"] is None and llama["unknown_calls"] == llama["calls"]


def test_segments_not_loaded_and_late_spans_are_read_from_parquet(stores):
    store, cold, warm, hot, grains = stores
    hot.sync(limit=3)  # the rest from Parquet
    q = CostQuery(us(T0) + 3 * DAY, us(T0) + 6 * DAY, "day", ("user",))
    same_report(cold.explore(q), warm.explore(q))
    hot.sync()
    late = [llm_row(hexid("late", i), hexid("late-s", i, n=16), None, T0 + timedelta(days=4, hours=i), "gpt-4o",
                    "openai", "dave", 1000, 100) for i in range(3)]
    llama = [r for r in cost_rows(days=6) if r["model"] == "llama-3-70b" and r["start_time"] >= T0 + timedelta(days=4)]
    late.append(llm_row(hexid("late-gpu"), hexid("late-gpu-s", n=16), None, llama[0]["start_time"] + timedelta(
        seconds=1), "llama-3-70b", "vllm", "dave", 300, 30))  # shares a GPU bucket with a loaded segment
    write_store(store, late)  # a late segment of a day already in the rollups: Parquet until loaded
    fresh = CostQueries(StoreReader(store), cold.pricer)
    warm = CostQueries(hot.reader, cold.pricer, hot)
    grains.clear()
    report = warm.explore(q)
    same_report(fresh.explore(q), report)
    assert "dave" in report.groups.get_column("user").to_list()
    # the day with the shared bucket priced by bucket, the others by share
    assert grains.count("user") == 2 and "user shares" in grains
    hot.sync()
    same_report(fresh.explore(q), warm.explore(q))


def test_a_late_root_renames_the_trace_in_the_hot_copy(stores):
    store, cold, warm, hot, grains = stores
    day = T0 + timedelta(days=4)
    tid = hexid("orphan")
    write_store(store, [llm_row(tid, hexid("orphan-child", n=16), hexid("orphan-root", n=16),
                                day + timedelta(hours=3), "gpt-4o", "openai", "erin", 500, 50)])
    hot.sync()
    q = CostQuery(us(T0) + 3 * DAY, us(T0) + 6 * DAY, "day", ("trace",))
    names = set(warm.explore(q).groups.get_column("trace_name").to_list())
    assert "late root" not in names and None in names
    write_store(store, [span(tid, hexid("orphan-root", n=16), None, "late root", day + timedelta(hours=2), 5000,
                             kind="agent")])
    hot.sync()  # the trace parts of that day changed: its segments are loaded again
    fresh = CostQueries(StoreReader(store), cold.pricer)
    report = warm.explore(q)
    same_report(fresh.explore(q), report)
    assert "late root" in report.groups.get_column("trace_name").to_list()


def test_one_shot_questions_read_rollup_files_outside_the_store(stores, tmp_path):
    from store.segments.compaction import CompactionPolicy, compact_once
    from store.segments.writer import SegmentWriter

    store, cold, warm, hot, grains = stores
    before = sorted(p.relative_to(store) for p in store.rglob("*"))
    files = RollupFiles(cold.r, tmp_path / "cache")
    shot = CostQueries(cold.r, cold.pricer, rollup_files=files)
    for since, until, bucket, by, where in QUESTIONS:
        q = CostQuery(since, until, bucket, by, where)
        same_report(cold.explore(q), shot.explore(q))
    assert sorted(p.relative_to(store) for p in store.rglob("*")) == before  # nothing written in the store
    written = {p.parent.name for p in files.dir.rglob("*.parquet")}
    assert written == {"base", "user", "session", "attr", "model_user", "user_all", "gpu"}  # trace: hot copy only
    stamps = {p: p.stat().st_mtime_ns for p in files.dir.rglob("*.parquet")}
    q = CostQuery(us(T0) + 2 * DAY + 5 * HOUR, us(T0) + 5 * DAY + 7 * HOUR, "day", ("model", "user"))
    same_report(cold.explore(q), shot.explore(q))
    assert {p: p.stat().st_mtime_ns for p in files.dir.rglob("*.parquet")} == stamps  # read, not written again
    compact_once(SegmentWriter(store), CompactionPolicy(fan_in=2))  # new segments: new files, the old ones go
    fresh = CostQueries(StoreReader(store), cold.pricer)
    same_report(fresh.explore(q), shot.explore(q))
    live = {files.path(g.name, s).name for s in fresh.r.manifest().tables("spans") for g in GRAINS}
    assert {p.name for p in (files.dir / "model_user").iterdir()} <= live
    again = CostQueries(StoreReader(store), cold.pricer, rollup_files=files)  # GPU summaries from the files
    same_report(fresh.explore(q), again.explore(q))


def test_an_unwritable_cache_falls_back_to_spans(stores, tmp_path):
    store, cold, warm, hot, grains = stores
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    shot = CostQueries(cold.r, cold.pricer, rollup_files=RollupFiles(cold.r, blocker))
    q = CostQuery(us(T0) + 3 * DAY, us(T0) + 6 * DAY, "day", ("model", "user"))
    same_report(cold.explore(q), shot.explore(q))
