"""Repricing stored spans (SPANS-shaped Arrow tables) through a Pricer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pyarrow as pa
import pytest

from store.pricing.catalog import ModelPrice
from store.pricing.gpu_time import GpuEndpoint
from store.pricing.pricer import Pricer
from store.pricing.reprice import reprice_spans
from store.schema import SPANS

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def span(**values):
    row = {name: None for name in SPANS.names}
    row.update(start_time=T0, kind="llm")
    row.update(values)
    return row


def table(rows):
    return pa.Table.from_pylist(rows, schema=SPANS)


def test_reprice_spans():
    rows = [
        # stored before a price change: 1000*2.5e-6 + 100*1e-5 = 0.0035 now
        span(model="gpt-4o", provider="openai", input_tokens=1000, output_tokens=100, cost_usd=0.001, cost_source="computed"),
        # a reported cost stays as it is
        span(model="gpt-4o", provider="openai", input_tokens=1000, output_tokens=100, cost_usd=0.009, cost_source="reported"),
        # newly overridden: 1000*1e-7 + 100*2e-7 = 1.2e-4
        span(model="hosted_vllm/my-llama-8b", input_tokens=1000, output_tokens=100, cost_source="unknown"),
        span(model="mystery", input_tokens=5, output_tokens=5, cost_source="unknown"),
        span(kind="tool", name="search"),  # not an LLM span: no cost, no source
        # LiteLLM's 0.0 for a model it could not price is not a report worth keeping
        span(model="gpt-4o", provider="openai", input_tokens=1000, output_tokens=0, cost_usd=0.0, cost_source="reported"),
    ]
    pricer = Pricer({"my-llama-*": ModelPrice(1e-7, 2e-7)})
    result = reprice_spans(table(rows), pricer)
    assert result.columns == ["cost_usd", "cost_source", "changed"]
    assert result.get_column("cost_usd").to_list() == pytest.approx([0.0035, 0.009, 1.2e-4, None, None, 0.0025])
    assert result.get_column("cost_source").to_list() == ["computed", "reported", "override", "unknown", None, "computed"]
    assert result.get_column("changed").to_list() == [True, False, True, False, False, True]


def test_reprice_is_idempotent():
    rows = [span(model="gpt-4o", provider="openai", input_tokens=10, output_tokens=10)]
    pricer = Pricer()
    first = reprice_spans(table(rows), pricer)
    rows[0].update(cost_usd=first.item(0, "cost_usd"), cost_source=first.item(0, "cost_source"))
    assert reprice_spans(pl.from_arrow(table(rows)), pricer).get_column("changed").to_list() == [False]


def test_reprice_allocates_gpu_time():
    box = GpuEndpoint("box", usd_per_gpu_hour=6.0, server="10.0.0.5:8000")  # $0.50 per 5-minute bucket
    rows = [
        span(model="llama", server_address="10.0.0.5:8000", input_tokens=30, output_tokens=10, start_time=T0),
        span(model="llama", server_address="10.0.0.5:8000", input_tokens=50, output_tokens=10, start_time=T0 + timedelta(minutes=2)),
        span(model="gpt-4o", provider="openai", input_tokens=1000, output_tokens=0, start_time=T0 + timedelta(minutes=3)),
    ]
    result = reprice_spans(table(rows), Pricer(gpu_endpoints=[box]), gpu_bucket=timedelta(minutes=5))
    assert result.get_column("cost_usd").to_list() == pytest.approx([0.2, 0.3, 0.0025])
    assert result.get_column("cost_source").to_list() == ["gpu_time", "gpu_time", "computed"]


def test_reprice_empty_table():
    assert reprice_spans(table([]), Pricer()).height == 0
