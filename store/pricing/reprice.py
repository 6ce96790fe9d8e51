"""New costs for stored spans, after the cost map or the user's prices changed.

``reprice_spans(spans, pricer)`` takes SPANS-shaped rows (Arrow table or polars
frame) and returns, row for row, ``cost_usd``, ``cost_source`` and ``changed``; the
caller (``llmops-console costs reprice``) rewrites the segments whose rows changed.

* Only spans of the priced kinds (``PRICED_KINDS``) get a cost; the rest keep a
  null cost and source, as SPANS requires.
* A cost the app reported stays: rows whose ``cost_source`` is ``reported`` pass
  their ``cost_usd`` back to the pricer as the report (a ``reported_cost_usd`` column,
  if the table grows one, is used instead). Repricing is therefore idempotent and
  never loses a reported figure.
* Spans on GPU-hour endpoints are allocated by ``gpu_time.allocate_gpu_cost`` over
  the rows given, so pass whole buckets (a window cut mid-bucket charges that
  bucket's full cost to the spans inside it, unless ``gpu_window`` says where the
  window really starts and ends).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pyarrow as pa

from store.pricing.gpu_time import allocate_gpu_cost
from store.pricing.pricer import Pricer, TokenUsage

PRICED_KINDS = frozenset({"llm", "embedding"})
DEFAULT_GPU_BUCKET = timedelta(minutes=5)

_NEEDED = {
    "kind": pl.String,
    "model": pl.String,
    "provider": pl.String,
    "server_address": pl.String,
    "start_time": pl.Datetime("us", "UTC"),
    "input_tokens": pl.Int64,
    "output_tokens": pl.Int64,
    "cache_read_tokens": pl.Int64,
    "cache_write_tokens": pl.Int64,
    "reasoning_tokens": pl.Int64,
    "cost_usd": pl.Float64,
    "cost_source": pl.String,
}


def reprice_spans(
    spans: pa.Table | pl.DataFrame,
    pricer: Pricer,
    *,
    gpu_bucket: timedelta = DEFAULT_GPU_BUCKET,
    gpu_window: tuple[datetime, datetime] | None = None,
) -> pl.DataFrame:
    """``cost_usd``, ``cost_source`` and ``changed`` for each row of ``spans``, in order."""
    frame = spans if isinstance(spans, pl.DataFrame) else pl.from_arrow(spans)
    assert isinstance(frame, pl.DataFrame)
    frame = frame.with_columns(
        pl.lit(None, dtype).alias(name) for name, dtype in _NEEDED.items() if name not in frame.columns
    )
    if "reported_cost_usd" in frame.columns:
        reported = frame.get_column("reported_cost_usd").cast(pl.Float64)
    else:
        reported = frame.select(
            pl.when(pl.col("cost_source") == "reported").then(pl.col("cost_usd")).cast(pl.Float64)
        ).to_series()

    costs: list[float | None] = []
    sources: list[str | None] = []
    endpoints: list[str | None] = []
    price = pricer.price
    rows = zip(
        frame.get_column("kind").to_list(),
        frame.get_column("model").to_list(),
        frame.get_column("provider").to_list(),
        frame.get_column("server_address").to_list(),
        frame.get_column("input_tokens").to_list(),
        frame.get_column("output_tokens").to_list(),
        frame.get_column("cache_read_tokens").to_list(),
        frame.get_column("cache_write_tokens").to_list(),
        frame.get_column("reasoning_tokens").to_list(),
        reported.to_list(),
    )
    for kind, model, provider, server, inp, out, read, write, reasoning, report in rows:
        if kind not in PRICED_KINDS:
            costs.append(None)
            sources.append(None)
            endpoints.append(None)
            continue
        # SPANS stores inclusive counts, which are TokenUsage's defaults
        priced = price(model, provider, TokenUsage(inp, out, read, write, reasoning), report, server_address=server)
        costs.append(priced.cost_usd)
        sources.append(priced.source)
        endpoints.append(priced.price_key if priced.source == "gpu_time" else None)

    result = pl.DataFrame(
        {"cost_usd": costs, "cost_source": sources, "_endpoint": endpoints},
        schema={"cost_usd": pl.Float64, "cost_source": pl.String, "_endpoint": pl.String},
    )
    if result.get_column("_endpoint").is_not_null().any():
        result = _fill_gpu_costs(result, frame, pricer, gpu_bucket, gpu_window)
    old_cost, old_source = frame.get_column("cost_usd"), frame.get_column("cost_source")
    return result.drop("_endpoint").with_columns(
        changed=pl.col("cost_usd").ne_missing(old_cost).fill_null(True) | pl.col("cost_source").ne_missing(old_source)
    )


def _fill_gpu_costs(
    result: pl.DataFrame,
    frame: pl.DataFrame,
    pricer: Pricer,
    bucket: timedelta,
    window: tuple[datetime, datetime] | None,
) -> pl.DataFrame:
    gpu_spans = pl.DataFrame(
        {
            "time": frame.get_column("start_time"),
            "endpoint": result.get_column("_endpoint"),
            "tokens": frame.get_column("input_tokens").fill_null(0) + frame.get_column("output_tokens").fill_null(0),
        }
    )
    start, end = window if window is not None else (None, None)
    allocation = allocate_gpu_cost(gpu_spans, pricer.gpu_endpoints, bucket, start=start, end=end)
    allocated = allocation.spans.get_column("cost_usd")
    return result.with_columns(
        pl.when(pl.col("_endpoint").is_not_null()).then(allocated).otherwise(pl.col("cost_usd")).alias("cost_usd")
    )
