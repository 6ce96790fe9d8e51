"""Repricing a stored range after a price change, without re-ingesting.

``reprice_store(writer, pricer, since_us, until_us)`` goes through the UTC days the
range touches. Per day it reads every span segment, prices the whole day again
(``pricing.reprice.reprice_spans``: whole GPU buckets, reported costs kept), and
for the spans in the range whose cost or source changed it rewrites that day's span
segments and the trace parts that hold those traces' totals, in one ``replace``
(one manifest swap: a reader sees the day before or after, never half).

Trace parts are corrected by difference: the per-trace change in cost and in
unpriced calls is added to the trace's part in the same day, or in the day before
(a trace that started before midnight); a trace with no part in either gets a
correction part (no spans, only the difference), which readers add like any part
and compaction folds in. One case stays approximate: a trace whose every priced call
turns unknown ends with a summed cost of 0 rather than null.

Runs through the single writer: the collector's own ``SegmentWriter`` (via
``POST /v1/admin/reprice``) when a collector holds the store, else a writer made
under ``WriterLock``. A day that compaction rewrote meanwhile is read again.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from store.pricing.pricer import Pricer
from store.pricing.reprice import reprice_spans
from store.schema import TRACE_PARTS
from store.segments import manifest as mf
from store.segments import trace_parts
from store.segments.layout import day_of_us
from store.segments.writer import SegmentWriter

_RETRIES = 3


@dataclass
class DayChange:
    day: str
    spans: int  # priced-kind spans in the range that day
    changed: int
    cost_before: float  # over the changed spans, known costs only
    cost_after: float


@dataclass
class ModelChange:
    model: str | None
    source_before: str | None
    source_after: str | None
    spans: int
    cost_before: float | None
    cost_after: float | None


@dataclass
class RepriceReport:
    since_us: int
    until_us: int
    dry_run: bool
    days: list[DayChange] = field(default_factory=list)
    models: list[ModelChange] = field(default_factory=list)
    correction_parts: int = 0  # traces whose part was not in the day or the day before

    @property
    def changed(self) -> int:
        return sum(d.changed for d in self.days)

    @property
    def spans(self) -> int:
        return sum(d.spans for d in self.days)

    @property
    def cost_before(self) -> float:
        return sum(d.cost_before for d in self.days)

    @property
    def cost_after(self) -> float:
        return sum(d.cost_after for d in self.days)

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc.update(changed=self.changed, spans=self.spans, cost_before=self.cost_before, cost_after=self.cost_after)
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> RepriceReport:
        return cls(doc["since_us"], doc["until_us"], doc["dry_run"], [DayChange(**d) for d in doc["days"]],
                   [ModelChange(**m) for m in doc["models"]], doc.get("correction_parts", 0))


def reprice_store(writer: SegmentWriter, pricer: Pricer, since_us: int, until_us: int,
                  dry_run: bool = False) -> RepriceReport:
    report = RepriceReport(since_us, until_us, dry_run)
    first, last = date.fromisoformat(day_of_us(since_us)), date.fromisoformat(day_of_us(until_us - 1))
    models: list[pl.DataFrame] = []
    day = first
    while day <= last:
        for attempt in range(_RETRIES):
            try:
                change = _reprice_day(writer, pricer, day.isoformat(), since_us, until_us, dry_run, report)
                break
            except _Vanished:
                if attempt == _RETRIES - 1:
                    raise RuntimeError(f"{day}: segments kept changing under the rewrite; try again") from None
        if change is not None:
            report.days.append(change[0])
            if change[1].height:
                models.append(change[1])
        day += timedelta(days=1)
    if models:
        by_model = (pl.concat(models).group_by("model", "source_before", "source_after")
                    .agg(pl.col("spans").sum(), _sum_or_null("cost_before"), _sum_or_null("cost_after"))
                    .sort("spans", descending=True))
        report.models = [ModelChange(**row) for row in by_model.iter_rows(named=True)]
    return report


class _Vanished(Exception):
    pass


def _read(writer: SegmentWriter, segments: list[mf.Segment]) -> pa.Table:
    return pa.concat_tables([pq.read_table(writer.root / s.path) for s in segments], promote_options="default")


def _sum_or_null(column: str) -> pl.Expr:
    return pl.when(pl.col(column).is_not_null().any()).then(pl.col(column).sum()).alias(column)


def _reprice_day(writer: SegmentWriter, pricer: Pricer, day: str, since_us: int, until_us: int, dry_run: bool,
                 report: RepriceReport) -> tuple[DayChange, pl.DataFrame] | None:
    span_segs = [s for s in writer.manifest.segments if s.table == "spans" and s.day == day]
    if not span_segs:
        return None
    try:
        table = _read(writer, span_segs)
    except FileNotFoundError:
        raise _Vanished() from None
    spans = pl.from_arrow(table)
    assert isinstance(spans, pl.DataFrame)
    priced = reprice_spans(spans, pricer)
    start_us = spans.get_column("start_time").dt.epoch("us")
    in_range = (start_us >= since_us) & (start_us < until_us)
    changed = priced.get_column("changed") & in_range
    priced_kind = spans.get_column("cost_source").is_not_null() | priced.get_column("cost_source").is_not_null()
    n_changed = int(changed.sum())
    day_change = DayChange(day, int((priced_kind & in_range).sum()), n_changed, 0.0, 0.0)
    if not n_changed:
        return day_change, pl.DataFrame()
    diff = pl.DataFrame({
        "trace_id": spans.get_column("trace_id"), "start_time": spans.get_column("start_time"),
        "model": spans.get_column("model"),
        "cost_before": spans.get_column("cost_usd"), "cost_after": priced.get_column("cost_usd"),
        "source_before": spans.get_column("cost_source"), "source_after": priced.get_column("cost_source"),
    }).filter(changed)
    day_change.cost_before = float(diff.get_column("cost_before").fill_null(0).sum())
    day_change.cost_after = float(diff.get_column("cost_after").fill_null(0).sum())
    models = diff.group_by("model", "source_before", "source_after").agg(
        pl.len().cast(pl.Int64).alias("spans"), _sum_or_null("cost_before"), _sum_or_null("cost_after"))
    if dry_run:
        return day_change, models

    new_spans = table
    for column in ("cost_usd", "cost_source"):
        merged = priced.get_column(column).zip_with(changed, spans.get_column(column))  # new where changed
        new_spans = new_spans.set_column(table.schema.get_field_index(column), column,
                                         merged.to_arrow().cast(table.schema.field(column).type))
    deltas = diff.group_by("trace_id").agg(
        pl.col("start_time").min(),
        (pl.col("cost_after").fill_null(0).sum() - pl.col("cost_before").fill_null(0).sum()).alias("d_cost"),
        (pl.col("cost_after").is_not_null().any() | pl.col("cost_before").is_not_null().any()).alias("known"),
        ((pl.col("source_after") == "unknown").sum().cast(pl.Int64)
         - (pl.col("source_before") == "unknown").sum().cast(pl.Int64)).alias("d_unpriced"),
    )
    prev_day = (date.fromisoformat(day) - timedelta(days=1)).isoformat()
    remove = list(span_segs)
    add: list[tuple[str, str, pa.Table, int]] = [("spans", day, new_spans, max(s.level for s in span_segs))]
    for part_day in (day, prev_day):
        if deltas.height == 0:
            break
        segs = [s for s in writer.manifest.segments if s.table == "trace_parts" and s.day == part_day]
        if not segs:
            continue
        try:
            parts = pl.from_arrow(_read(writer, segs))
        except FileNotFoundError:
            raise _Vanished() from None
        assert isinstance(parts, pl.DataFrame)
        hit = deltas.join(parts.select("trace_id").unique(), on="trace_id", how="semi")
        if not hit.height:
            continue
        corrected = _apply(parts, hit)
        remove += segs
        add.append(("trace_parts", part_day, trace_parts.merge(corrected.to_arrow()), max(s.level for s in segs)))
        deltas = deltas.join(hit.select("trace_id"), on="trace_id", how="anti")
    if deltas.height:
        report.correction_parts += deltas.height
        add.append(("trace_parts", day, _correction_parts(deltas), 0))
    try:
        writer.replace(remove, add)
    except RuntimeError as e:
        if "vanished" in str(e):
            raise _Vanished() from None
        raise
    return day_change, models


def _apply(parts: pl.DataFrame, deltas: pl.DataFrame) -> pl.DataFrame:
    """Add each trace's difference to one of its parts (the first), keeping null costs
    null when nothing known was added."""
    parts = parts.with_row_index("_row")
    first = parts.group_by("trace_id").agg(pl.col("_row").min()).join(deltas, on="trace_id")
    out = parts.join(first.select("_row", "d_cost", "known", "d_unpriced"), on="_row", how="left")
    hit = pl.col("d_cost").is_not_null()
    cost = (pl.when(hit & (pl.col("cost_usd").is_not_null() | pl.col("known")))
            .then(pl.col("cost_usd").fill_null(0) + pl.col("d_cost")).otherwise(pl.col("cost_usd")))
    return out.with_columns(
        cost.alias("cost_usd"),
        (pl.col("unpriced_llm_calls") + pl.col("d_unpriced").fill_null(0)).alias("unpriced_llm_calls"),
    ).drop("_row", "d_cost", "known", "d_unpriced")


def _correction_parts(deltas: pl.DataFrame) -> pa.Table:
    n = deltas.height
    zeros = pl.Series([0] * n, dtype=pl.Int64)
    empty = pl.Series([[]] * n, dtype=pl.List(pl.String))
    frame = pl.DataFrame({
        "trace_id": deltas.get_column("trace_id"),
        "start_time": deltas.get_column("start_time"),
        "end_time": deltas.get_column("start_time"),
        "services": empty, "models": empty, "tags": empty, "prompt_ids": empty,
        "span_count": zeros, "llm_calls": zeros, "tool_calls": zeros, "error_count": zeros,
        "input_tokens": zeros, "output_tokens": zeros, "total_tokens": zeros,
        "cost_usd": deltas.select(pl.when(pl.col("known")).then(pl.col("d_cost"))).to_series(),
        "unpriced_llm_calls": deltas.get_column("d_unpriced"),
        "tool_signatures": pl.Series([[]] * n, dtype=pl.List(pl.Int64)),
    })
    table = frame.to_arrow()
    cols = [table[f.name].cast(f.type) if f.name in table.column_names else pa.nulls(n, f.type)
            for f in TRACE_PARTS]
    return pa.Table.from_arrays(cols, schema=TRACE_PARTS)
