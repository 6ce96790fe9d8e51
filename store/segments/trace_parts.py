"""Trace summaries derived from spans: one row per trace per flush, merged by compaction.

The traces list reads these instead of grouping millions of spans.
"""

from __future__ import annotations

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from store.schema import TRACE_PARTS

_FIRST_NON_NULL = ("session_id", "user_id")


def _sum_or_null(col: str) -> pl.Expr:
    """polars sums nothing to 0; a trace with no priced call has an unknown cost, not 0."""
    return pl.when(pl.col(col).is_not_null().any()).then(pl.col(col).sum()).otherwise(None).alias(col)


def _part_exprs() -> list[pl.Expr]:
    is_root = pl.col("parent_id").is_null()
    return [
        pl.col("start_time").min(),
        pl.col("end_time").max(),
        pl.col("name").filter(is_root).first().alias("root_name"),
        pl.col("span_id").filter(is_root).first().alias("root_span_id"),
        pl.coalesce(pl.col("service").filter(is_root).first(), pl.col("service").first()).alias("service"),
        pl.col("service").unique().sort().alias("services"),
        pl.col("model").drop_nulls().unique().sort().alias("models"),
        pl.len().cast(pl.Int64).alias("span_count"),
        (pl.col("kind") == "llm").sum().cast(pl.Int64).alias("llm_calls"),
        (pl.col("kind") == "tool").sum().cast(pl.Int64).alias("tool_calls"),
        (pl.col("status") == "error").sum().cast(pl.Int64).alias("error_count"),
        pl.col("input_tokens").sum().alias("input_tokens"),
        pl.col("output_tokens").sum().alias("output_tokens"),
        pl.coalesce(pl.col("total_tokens"), pl.col("input_tokens") + pl.col("output_tokens")).sum()
        .alias("total_tokens"),
        _sum_or_null("cost_usd"),
        # unpriced: no price for the model, or no usage reported by a call that did not fail
        ((pl.col("cost_source") == "unknown")
         | ((pl.col("cost_source") == "no_usage") & (pl.col("status") != "error"))).sum().cast(pl.Int64)
        .alias("unpriced_llm_calls"),
        *[pl.col(c).drop_nulls().first().alias(c) for c in _FIRST_NON_NULL],
        pl.col("tags").list.explode(keep_nulls=False, empty_as_null=False).drop_nulls().unique().sort().alias("tags"),
        pl.col("prompt_id").drop_nulls().unique().sort().alias("prompt_ids"),
    ]


_PART_COLUMNS = ("trace_id", "span_id", "parent_id", "name", "kind", "service", "start_time", "end_time", "status",
                 "model", "input_tokens", "output_tokens", "total_tokens", "cost_usd", "cost_source", "session_id",
                 "user_id", "tags", "prompt_id")


def from_spans(spans: pa.Table) -> pa.Table:
    # Only the columns a summary needs cross into polars: converting the message
    # text too would cost more than the aggregation itself.
    # One chunk per request batch makes the conversion slow: combine first.
    df = pl.from_arrow(spans.select(list(_PART_COLUMNS)).combine_chunks())
    assert isinstance(df, pl.DataFrame)
    narrow = spans.select(["trace_id", "name", "kind", "input_value"]).combine_chunks()
    tools = narrow.filter(pc.equal(narrow["kind"], "tool"))
    sigs = pl.from_arrow(tools)
    assert isinstance(sigs, pl.DataFrame)
    sigs = sigs.group_by("trace_id").agg(
        pl.concat_str([pl.col("name"), pl.col("input_value").fill_null("")], separator="\x00")
        .hash(seed=0x5EED).cast(pl.Int64, wrap_numerical=True).alias("tool_signatures"))
    out = df.group_by("trace_id").agg(_part_exprs()).join(sigs, on="trace_id", how="left")
    out = out.with_columns(pl.col("tool_signatures").fill_null(pl.lit([], dtype=pl.List(pl.Int64))))
    return _conform(out)


def merge(parts: pa.Table) -> pa.Table:
    """Fold several parts of each trace into one row (compaction)."""
    df = pl.from_arrow(parts)
    assert isinstance(df, pl.DataFrame)
    out = df.group_by("trace_id").agg(
        pl.col("start_time").min(),
        pl.col("end_time").max(),
        pl.col("root_name").drop_nulls().first(),
        pl.col("root_span_id").drop_nulls().first(),
        # the root's service wins once the root has arrived
        pl.coalesce(pl.col("service").filter(pl.col("root_name").is_not_null()).first(),
                    pl.col("service").first()).alias("service"),
        pl.col("services").list.explode(keep_nulls=False, empty_as_null=False).unique().sort(),
        pl.col("models").list.explode(keep_nulls=False, empty_as_null=False).drop_nulls().unique().sort(),
        *[pl.col(c).sum() for c in ("span_count", "llm_calls", "tool_calls", "error_count", "input_tokens",
                                    "output_tokens", "total_tokens", "unpriced_llm_calls")],
        _sum_or_null("cost_usd"),
        *[pl.col(c).drop_nulls().first() for c in _FIRST_NON_NULL],
        pl.col("tags").list.explode(keep_nulls=False, empty_as_null=False).drop_nulls().unique().sort(),
        pl.col("prompt_ids").list.explode(keep_nulls=False, empty_as_null=False).drop_nulls().unique().sort(),
        pl.col("tool_signatures").list.explode(keep_nulls=False, empty_as_null=False).drop_nulls(),
    )
    return _conform(out)


def _conform(df: pl.DataFrame) -> pa.Table:
    t = df.sort("start_time").to_arrow()
    return t.select(TRACE_PARTS.names).cast(TRACE_PARTS)
