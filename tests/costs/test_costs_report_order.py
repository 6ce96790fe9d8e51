"""The report orders its rows and groups only when asked, and its shortcuts (the top
groups, the chart's series) agree with doing it in full."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from console.widgets.cost_chart import TOP, ChartData
from store.query.costs import MEASURES, CostQuery, CostReport

US = 1_000_000
DAY = 86_400 * US
SINCE = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp()) * US


def report(groups: int, seed: int, null_share: float = 0.2) -> CostReport:
    """Sessions over three days with many tied and unknown costs (small integers)."""
    rnd = random.Random(seed)
    rows = []
    for g in range(groups):
        session = None if g == 0 else f"s{rnd.randrange(10**6):06d}-{g}"
        for day in rnd.sample(range(3), rnd.randint(1, 3)):
            cost = None if rnd.random() < null_share else float(rnd.randint(0, 4))
            rows.append({"bucket_start": datetime.fromtimestamp((SINCE + day * DAY) / US, UTC), "session": session,
                         **{m: 0 for m in MEASURES}, "cost_usd": cost, "calls": rnd.randint(1, 3)})
    frame = pl.DataFrame(rows, schema_overrides={m: pl.Float64 for m in MEASURES if m.endswith("_usd")})
    frame = frame.with_columns(pl.col("bucket_start").dt.replace_time_zone("UTC"))
    groups = frame.group_by("session").agg(
        pl.when(pl.col("cost_usd").is_not_null().any()).then(pl.col("cost_usd").sum()).alias("cost_usd"),
        pl.col("calls").sum())
    return CostReport(CostQuery(SINCE, SINCE + 3 * DAY, "day", ("session",)), frame.sample(fraction=1.0, seed=seed,
                      shuffle=True), groups, {"unknown_calls": 0}, pl.DataFrame())


@settings(max_examples=40, deadline=None)
@given(groups=st.integers(1, 400), n=st.integers(1, 30), seed=st.integers(0, 10**6))
def test_top_groups_are_the_head_of_the_sorted_groups(groups: int, n: int, seed: int) -> None:
    r = report(groups, seed)
    expected = r.group_frame.sort(["cost_usd", "calls", "session"], descending=[True, True, False], nulls_last=True)
    assert r.top_groups(n).equals(expected.head(n))
    assert r.groups.equals(expected)
    assert r.top_groups(n).equals(expected.head(n))  # from the sorted groups, once they exist


def test_rows_are_sorted_for_export_only() -> None:
    r = report(300, 7)
    exported = r.export_frame()
    assert exported.equals(r.rows.sort(["bucket_start", "session"], nulls_last=True).select(exported.columns))
    assert exported["bucket_start"].is_sorted()


def test_chart_series_sum_what_walking_the_rows_sums() -> None:
    r = report(500, 3)
    chart = ChartData.of(r)
    top = [tuple(t) for t in r.groups.select("session").head(TOP).iter_rows()]
    assert chart.keys == [*top, None]
    expected = {k: [0.0] * 3 for k in chart.keys}
    for row in r.rows.iter_rows(named=True):
        day = (int(row["bucket_start"].timestamp()) * US - SINCE) // DAY
        key = (row["session"],)
        expected[key if key in expected else None][day] += row["cost_usd"] or 0.0
    assert chart.values == [expected[k] for k in chart.keys]
    assert chart.totals == [sum(v[i] for v in expected.values()) for i in range(3)]
