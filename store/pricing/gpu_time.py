"""Self-hosted models priced by GPU time.

A GPU endpoint costs ``usd_per_gpu_hour * gpu_count`` per hour whether it serves one
request or a thousand, and a batching server (vLLM) runs many requests at once,
so a request's own duration says nothing about its share. We therefore cut time
into buckets and, per endpoint and bucket:

* a bucket with traffic charges its **whole** GPU cost, idle minutes included, to
  the spans that started in it, in proportion to their tokens (input + output);
  the GPUs are paid for either way, and the people who used them that bucket are
  the ones who kept them up. When a bucket's spans carry no token counts at all,
  its cost is split evenly between them;
* a bucket with no traffic is an **idle** line (endpoint, bucket, cost): the price
  of capacity nobody used, shown on its own rather than smeared over other buckets.

Buckets are aligned to the epoch (``dt.truncate``) and clipped to the
``[start, end)`` window, so a half-covered first or last bucket costs half. Spans
outside the window, or whose endpoint is not configured, get a null cost.
Token weighting treats a prompt token like a generated one; prefill is cheaper
than decode per token, so long-prompt workloads are charged a little high.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import polars as pl

from store.pricing.endpoints import GpuEndpoint, endpoint_for  # noqa: F401 (re-exported)

_US = 1_000_000


class GpuAllocation(NamedTuple):
    # the input rows, in order, plus bucket_start and cost_usd (null when not allocated)
    spans: pl.DataFrame
    # endpoint, bucket_start, bucket_end, cost_usd: buckets with no traffic
    idle: pl.DataFrame


def allocate_gpu_cost(
    spans: pl.DataFrame,
    endpoints: Iterable[GpuEndpoint],
    bucket: timedelta,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    time_col: str = "time",
    endpoint_col: str = "endpoint",
    tokens_col: str = "tokens",
) -> GpuAllocation:
    """Spread each endpoint's GPU cost over its spans, bucket by bucket (see module doc).

    ``spans`` has a UTC datetime ``time``, the ``endpoint`` name and ``tokens``.
    ``start``/``end`` default to the whole buckets the spans cover.
    """
    if bucket <= timedelta(0):
        raise ValueError("bucket must be longer than zero")
    by_name: Mapping[str, GpuEndpoint] = {e.name: e for e in endpoints}
    rates = pl.DataFrame(
        {"_endpoint": list(by_name), "_usd_per_us": [e.usd_per_hour / (3600 * _US) for e in by_name.values()]},
        schema={"_endpoint": pl.String, "_usd_per_us": pl.Float64},
    )
    bucket_us = int(bucket.total_seconds() * _US)
    frame = spans.with_columns(
        pl.col(time_col).dt.cast_time_unit("us").alias("_time"),
        pl.col(endpoint_col).cast(pl.String).alias("_endpoint"),
        pl.col(tokens_col).cast(pl.Float64).fill_null(0.0).clip(lower_bound=0.0).alias("_weight"),
    ).with_columns(pl.col("_time").dt.truncate(bucket).alias("bucket_start"))

    times = frame.get_column("_time").drop_nulls()
    if start is None:
        start = _floor(times.min(), bucket) if len(times) else None
    if end is None:
        end = _floor(times.max(), bucket) + bucket if len(times) else None
    if start is None or end is None:
        empty = frame.with_columns(pl.lit(None, pl.Float64).alias("cost_usd")).drop("_time", "_endpoint", "_weight")
        return GpuAllocation(empty, _empty_idle())

    start_lit, end_lit = pl.lit(start).dt.cast_time_unit("us"), pl.lit(end).dt.cast_time_unit("us")
    bucket_end = pl.min_horizontal(pl.col("bucket_start") + pl.duration(microseconds=bucket_us), end_lit)
    covered_us = (bucket_end - pl.max_horizontal(pl.col("bucket_start"), start_lit)).dt.total_microseconds()

    group = ["_endpoint", "bucket_start"]
    in_window = (pl.col("_time") >= start_lit) & (pl.col("_time") < end_lit) & pl.col("_usd_per_us").is_not_null()
    weight_sum = pl.when(in_window).then(pl.col("_weight")).otherwise(0.0).sum().over(group)
    span_count = in_window.sum().over(group)
    share = pl.when(weight_sum > 0).then(pl.col("_weight") / weight_sum).otherwise(1.0 / span_count)
    allocated = (
        frame.join(rates, on="_endpoint", how="left", maintain_order="left")
        .with_columns(pl.when(in_window).then(pl.col("_usd_per_us") * covered_us * share).alias("cost_usd"))
        .drop("_time", "_endpoint", "_weight", "_usd_per_us")
    )

    busy = frame.filter((pl.col("_time") >= start_lit) & (pl.col("_time") < end_lit)).select(group).unique()
    all_buckets = pl.datetime_range(_floor(start, bucket), end, bucket, closed="left", eager=True, time_unit="us")
    grid = rates.join(pl.DataFrame({"bucket_start": all_buckets}), how="cross")
    idle = (
        grid.join(busy, on=group, how="anti")
        .with_columns((pl.col("_usd_per_us") * covered_us).alias("cost_usd"))
        .select(
            pl.col("_endpoint").alias("endpoint"),
            "bucket_start",
            bucket_end.alias("bucket_end"),
            "cost_usd",
        )
        .filter(pl.col("cost_usd") > 0)
        .sort("endpoint", "bucket_start")
    )
    return GpuAllocation(allocated, idle)


def _floor(moment: datetime, bucket: timedelta) -> datetime:
    return pl.Series([moment]).dt.cast_time_unit("us").dt.truncate(bucket).item()


def _empty_idle() -> pl.DataFrame:
    ts = pl.Datetime("us", "UTC")
    return pl.DataFrame(schema={"endpoint": pl.String, "bucket_start": ts, "bucket_end": ts, "cost_usd": pl.Float64})
