"""GPU-hour allocation: bucket costs spread over the bucket's tokens; idle buckets on their own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from store.pricing.gpu_time import GpuEndpoint, allocate_gpu_cost, endpoint_for
from store.pricing.validation import ConfigError

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
BOX = GpuEndpoint("box", usd_per_gpu_hour=3.0, gpu_count=2, server="10.0.0.5:8000")  # $6/h -> $1 per 10 min
TEN_MIN = timedelta(minutes=10)


def spans(rows):
    return pl.DataFrame(rows, schema={"time": pl.Datetime("us", "UTC"), "endpoint": pl.String, "tokens": pl.Int64}, orient="row")


def test_bucket_cost_follows_tokens_and_idle_buckets_stand_apart():
    frame = spans(
        [
            (T0 + timedelta(minutes=1), "box", 300),  # bucket 12:00: 300 of 400 tokens -> $0.75
            (T0 + timedelta(minutes=9), "box", 100),  # -> $0.25
            (T0 + timedelta(minutes=21), "box", None),  # bucket 12:20, no token counts: split evenly
            (T0 + timedelta(minutes=25), "box", 0),
            (T0 + timedelta(minutes=5), "other", 50),  # not a configured endpoint
        ]
    )
    result = allocate_gpu_cost(frame, [BOX], TEN_MIN, start=T0, end=T0 + timedelta(minutes=30))
    assert result.spans.get_column("cost_usd").to_list() == pytest.approx([0.75, 0.25, 0.5, 0.5, None])
    assert result.spans.columns[:3] == ["time", "endpoint", "tokens"]
    assert result.idle.rows() == [("box", T0 + TEN_MIN, T0 + 2 * TEN_MIN, pytest.approx(1.0))]
    total = result.spans.get_column("cost_usd").sum() + result.idle.get_column("cost_usd").sum()
    assert total == pytest.approx(3.0)  # 30 minutes at $6/h, all accounted for


def test_window_edges_charge_only_the_covered_part():
    frame = spans([(T0 + timedelta(minutes=21), "box", 10), (T0 + timedelta(minutes=22), "box", 30)])
    # window ends at 12:25: the 12:20 bucket is half covered -> $0.50 over 40 tokens
    result = allocate_gpu_cost(frame, [BOX], TEN_MIN, start=T0 + timedelta(minutes=10), end=T0 + timedelta(minutes=25))
    assert result.spans.get_column("cost_usd").to_list() == pytest.approx([0.125, 0.375])
    assert result.idle.get_column("cost_usd").to_list() == pytest.approx([1.0])  # 12:10-12:20


def test_default_window_is_the_whole_buckets_the_spans_cover():
    frame = spans([(T0 + timedelta(minutes=3), "box", 10), (T0 + timedelta(minutes=34), "box", 10)])
    result = allocate_gpu_cost(frame, [BOX], TEN_MIN)
    assert result.spans.get_column("cost_usd").to_list() == pytest.approx([1.0, 1.0])
    assert result.idle.get_column("bucket_start").to_list() == [T0 + TEN_MIN, T0 + 2 * TEN_MIN]


def test_spans_outside_the_window_are_not_charged():
    frame = spans([(T0 - timedelta(minutes=1), "box", 10), (T0 + timedelta(minutes=1), "box", 10)])
    result = allocate_gpu_cost(frame, [BOX], TEN_MIN, start=T0, end=T0 + TEN_MIN)
    assert result.spans.get_column("cost_usd").to_list() == pytest.approx([None, 1.0])


def test_empty_frame():
    result = allocate_gpu_cost(spans([]), [BOX], TEN_MIN)
    assert result.spans.height == 0 and result.idle.height == 0


def test_endpoint_matching_by_server_or_model_glob():
    by_model = GpuEndpoint("llama", 2.0, model="my-llama-*")
    assert endpoint_for([BOX, by_model], "10.0.0.5:8000", "anything") is BOX
    assert endpoint_for([BOX, by_model], "10.0.0.9:8000", "My-Llama-8b") is by_model
    assert endpoint_for([BOX, by_model], None, "gpt-4o") is None
    assert GpuEndpoint("fleet", 1.0, server="10.0.0.*:8000").matches("10.0.0.7:8000", None)


def test_endpoint_from_dict_validates():
    endpoint = GpuEndpoint.from_dict({"name": "box", "usd_per_gpu_hour": 2.5, "gpu_count": 4, "server": "h:8000"}, "e")
    assert endpoint.usd_per_hour == 10.0
    with pytest.raises(ConfigError, match=r"e: give a server"):
        GpuEndpoint.from_dict({"name": "box", "usd_per_gpu_hour": 2.5}, "e")
    with pytest.raises(ConfigError, match=r"e.gpu_count: expected a whole number"):
        GpuEndpoint.from_dict({"name": "b", "usd_per_gpu_hour": 1, "gpu_count": 1.5, "model": "x"}, "e")
    with pytest.raises(ConfigError, match=r"e.usd_per_gpu_hour: required"):
        GpuEndpoint.from_dict({"name": "b", "model": "x"}, "e")
