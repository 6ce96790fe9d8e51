"""The explorer's query layer on its own: buckets, groups, deltas, filters, and totals
that agree between the report, its CSV export and a direct DuckDB query."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from console.export import write_rows
from store.pricing.config import PricingConfig
from store.query import StoreReader
from store.query.costs import CostQueries, CostQuery, CostQueryError, dimension, floor_bucket, spend_frame
from tests.costs.cost_stores import PRICING, T0, US, cost_store, us

DAY = 86_400 * US


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return cost_store(tmp_path_factory.mktemp("costs") / "store")


@pytest.fixture(scope="module")
def queries(store) -> CostQueries:
    return CostQueries(StoreReader(store), PricingConfig.from_dict(PRICING).pricer())


def three_days(by=("model",), **kw) -> CostQuery:
    return CostQuery(us(T0), us(T0) + 3 * DAY, kw.pop("bucket", "day"), by, **kw)


def direct_total(store: Path, lo: int, hi: int) -> float:
    """What a person would type into DuckDB (no GPU endpoint, so stored costs are final)."""
    con = duckdb.connect()
    return con.sql(
        f"SELECT sum(cost_usd) FROM read_parquet('{store}/tables/spans/*/*.parquet') "
        f"WHERE cost_source IS NOT NULL AND start_time >= make_timestamptz({lo}) "
        f"AND start_time < make_timestamptz({hi})").fetchall()[0][0]


def test_totals_agree_between_report_csv_and_duckdb(store, tmp_path):
    queries = CostQueries(StoreReader(store), PricingConfig.from_dict({"overrides": PRICING["overrides"]}).pricer())
    q = three_days(("model", "user"))
    report = queries.explore(q)
    out = tmp_path / "costs.csv"
    write_rows(report.export_frame(), out, "csv")
    csv_total = pl.read_csv(out).get_column("cost_usd").sum()
    direct = direct_total(store, q.since_us, q.until_us)
    assert report.totals["cost_usd"] == pytest.approx(direct, rel=1e-12)
    assert csv_total == pytest.approx(direct, rel=1e-12)
    assert report.groups.get_column("cost_usd").sum() == pytest.approx(direct, rel=1e-12)
    assert report.rows.get_column("calls").sum() == report.totals["calls"]


def test_every_group_by_gives_the_same_total(queries):
    totals = {by: queries.explore(three_days((by,))).totals["cost_usd"]
              for by in ("model", "provider", "service", "user", "session", "prompt", "trace", "source",
                         "attr:app.team", "tag")}
    first = totals["model"]
    assert all(t == pytest.approx(first, rel=1e-12) for t in totals.values()), totals


def test_tags_count_a_span_under_each_tag_but_the_total_once(queries):
    report = queries.explore(three_days(("tag",)))
    groups = {r["tag"]: r["cost_usd"] for r in report.groups.iter_rows(named=True)}
    assert set(groups) == {"prod", "staging", "beta"}
    assert groups["staging"] == pytest.approx(groups["beta"])  # always together
    assert groups["prod"] + groups["staging"] == pytest.approx(report.totals["cost_usd"])
    assert report.notes


def test_unknown_cost_stays_unknown(queries):
    groups = {r["model"]: r for r in queries.explore(three_days()).groups.iter_rows(named=True)}
    assert groups["acme-ft"]["cost_usd"] is None
    assert groups["acme-ft"]["unknown_calls"] == groups["acme-ft"]["calls"] == 12
    assert groups["gpt-4o"]["override_usd"] == pytest.approx(groups["gpt-4o"]["cost_usd"])


def test_buckets_rows_and_the_previous_period(queries):
    q = CostQuery(us(T0) + DAY, us(T0) + 2 * DAY, "hour", ("user",))
    report = queries.explore(q)
    assert report.rows.get_column("bucket_start").min().hour == 0
    assert report.rows.get_column("bucket_start").n_unique() == 24
    previous = queries.explore(CostQuery(us(T0), us(T0) + DAY, "hour", ("user",)))
    assert report.totals["prev_cost_usd"] == pytest.approx(previous.totals["cost_usd"])
    for row in report.groups.iter_rows(named=True):
        before = previous.groups.filter(pl.col("user") == row["user"]).get_column("cost_usd").item()
        assert row["prev_cost_usd"] == pytest.approx(before)
        assert row["delta_usd"] == pytest.approx(row["cost_usd"] - before)
    first = queries.explore(CostQuery(us(T0), us(T0) + DAY, "hour", ("user",)))
    assert first.totals["prev_cost_usd"] is None and first.totals["delta_pct"] is None  # no history before


def test_weeks_start_on_monday_utc():
    assert floor_bucket(us(T0 + timedelta(days=3, hours=5)), "week") == us(T0)
    assert floor_bucket(us(T0 - timedelta(seconds=1)), "week") == us(T0 - timedelta(days=7))


def test_where_keeps_one_value(queries):
    alice = queries.explore(three_days(("model",), where=(("user", "alice"),)))
    by_user = {r["user"]: r["cost_usd"] for r in queries.explore(three_days(("user",))).groups.iter_rows(named=True)}
    assert alice.totals["cost_usd"] == pytest.approx(by_user["alice"])
    beta = queries.explore(three_days(("user",), where=(("tag", "beta"),)))
    by_tag = {r["tag"]: r["cost_usd"] for r in queries.explore(three_days(("tag",))).groups.iter_rows(named=True)}
    assert beta.totals["cost_usd"] == pytest.approx(by_tag["beta"])


def test_trace_names_prompts_and_raw_attributes(queries):
    names = {r["trace_name"] for r in queries.explore(three_days(("trace",))).groups.iter_rows(named=True)}
    assert names == {"answer faq", "answer refund"}
    prompts = {r["prompt"] for r in queries.explore(three_days(("prompt",))).groups.iter_rows(named=True)}
    assert prompts == {"support@1", "support@2", None}
    teams = queries.explore(three_days(("attr:app.team",))).groups
    assert set(teams.get_column("attr.app.team").to_list()) == {"care", "growth"}


def test_gpu_time_is_priced_per_bucket(queries):
    report = queries.explore(three_days(("model",)))
    llama = report.groups.filter(pl.col("model") == "llama-3-70b").row(0, named=True)
    # $1.20 per GPU-hour -> $0.10 per 5-minute bucket; each llama call is alone in its bucket
    assert llama["cost_usd"] == pytest.approx(0.10 * llama["calls"])
    assert report.idle.height == 1 and report.idle.item(0, "cost_usd") > 0


def test_bad_questions_explain_themselves():
    with pytest.raises(CostQueryError, match="cannot group by 'colour'"):
        dimension("colour")
    with pytest.raises(CostQueryError, match="bucket"):
        CostQuery(0, 10, "month")
    with pytest.raises(CostQueryError, match="end after"):
        CostQuery(10, 10)


def test_spend_frame_feeds_the_budgets(queries):
    frame = spend_frame(queries, us(T0), us(T0) + DAY)
    assert set(frame.columns) == {"time", "user_id", "model", "service", "tags", "cost_usd"}
    day = queries.explore(CostQuery(us(T0), us(T0) + DAY, "day", ()))
    assert frame.get_column("cost_usd").sum() == pytest.approx(day.totals["cost_usd"])


def test_the_hot_copy_gives_the_same_answers(tmp_path):
    from store.query.cost_cache import HotSpans
    from store.segments.compaction import CompactionPolicy, compact_once
    from store.segments.writer import SegmentWriter
    from tests.costs.cost_stores import cost_rows, write_store

    rows = cost_rows()
    store = write_store(tmp_path / "store", rows[: len(rows) // 2])
    write_store(store, rows[len(rows) // 2:])  # two level-0 segments for some days
    pricer = PricingConfig.from_dict(PRICING).pricer()
    cold = CostQueries(StoreReader(store), pricer)
    hot = HotSpans(StoreReader(store))
    warm = CostQueries(hot.reader, pricer, hot)
    try:
        def same() -> None:
            for by in (("model",), ("user",), ("tag",), ("trace",), ("attr:app.team",), ("source",)):
                a, b = cold.explore(three_days(by)), warm.explore(three_days(by))
                assert b.totals["cost_usd"] == pytest.approx(a.totals["cost_usd"], rel=1e-12), by
                key = ["bucket_start", *a.columns]
                left, right = a.rows.sort(key, nulls_last=True), b.rows.sort(key, nulls_last=True)
                assert left.select(key, "calls", "unknown_calls").equals(right.select(key, "calls", "unknown_calls"))
                assert right.get_column("cost_usd").to_list() == pytest.approx(left.get_column("cost_usd").to_list())

        same()  # nothing held yet: all Parquet
        assert hot.sync(limit=2) == 2
        same()  # half and half
        hot.sync()
        assert hot.split(hot.reader.manifest().tables("spans"))[1] == []
        same()  # all hot
        compact_once(SegmentWriter(store), CompactionPolicy(fan_in=2))  # days with two segments become one
        cached, files = hot.split(hot.reader.manifest().tables("spans"))
        assert files  # the new segments are read from Parquet until loaded
        same()
        hot.sync()
        same()
    finally:
        hot.close()


@pytest.mark.parametrize("by", [("model", "user"), ("tag",), ("session",), ()])
def test_an_ordered_report_exports_what_sorting_afterwards_exports(queries: CostQueries, by) -> None:
    q = three_days(by)
    ordered = queries.explore(q, ordered=True)
    assert ordered.export_frame().equals(queries.explore(q).export_frame())
    assert ordered.rows_sorted == ("tag" not in by)
