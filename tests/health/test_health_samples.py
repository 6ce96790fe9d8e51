"""Snapshots -> HEALTH_SAMPLES rows -> Parquet -> history with rates and quantiles."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import orjson
import polars as pl
import pyarrow.parquet as pq
import pytest
from health_stub import fixture_text, set_sample

from store.health.endpoint import VllmEndpoint
from store.health.gpu import FakeGpuSource, GpuReading, parse_smi_gpus
from store.health.poller import EndpointHealth, HealthSnapshot
from store.health.samples import (
    GPU_METRICS,
    endpoint_state_frame,
    gpu_frame,
    gpu_rows,
    rows_to_table,
    snapshot_rows,
    vllm_metrics_history,
    vllm_rows,
    vllm_stats_frame,
    vllm_stats_history,
)
from store.health.vllm import EngineKey, derive
from store.schema import HEALTH_SAMPLES

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
MIXED = fixture_text("metrics-datadog-mixed-v0.4.3-plus-v1-names.txt")
M = 'model_name="facebook/opt-125m"'
OPT = EngineKey("facebook/opt-125m", None)


def ticking_clock(step_s: float = 10.0):
    times = iter(T0 + timedelta(seconds=step_s * i) for i in range(1000))
    return lambda: next(times)


def with_traffic(prompt: float, e2e_le1: float) -> str:
    """The mixed fixture with a given prompt-token total and e2e histogram
    (e2e_le1 requests under 1 s, one more already counted in every bucket)."""
    text = set_sample(MIXED, f"vllm:prompt_tokens_total{{{M}}}", prompt)
    text = set_sample(text, f'vllm:e2e_request_latency_seconds_bucket{{le="1.0",{M}}}', e2e_le1)
    for le in ("2.5", "5.0", "10.0", "15.0", "20.0", "30.0", "40.0", "50.0", "60.0", "+Inf"):
        text = set_sample(text, f'vllm:e2e_request_latency_seconds_bucket{{le="{le}",{M}}}', e2e_le1 + 1)
    return set_sample(text, f"vllm:e2e_request_latency_seconds_count{{{M}}}", e2e_le1 + 1)


async def scrape_series(stub, bodies: list[str]):
    scrapes = []
    async with VllmEndpoint(stub.url, clock=ticking_clock()) as endpoint:
        for body in bodies:
            stub.set_metrics(body)
            scrapes.append(await endpoint.scrape())
    return scrapes


async def test_vllm_rows_store_raw_samples_compactly(stub_vllm):
    (scrape,) = await scrape_series(stub_vllm, [MIXED])
    rows = vllm_rows(scrape)
    metrics = {row.metric for row in rows}
    assert {"up", "scrape_duration_seconds", "kv_cache_usage_perc", "prompt_tokens_total"} <= metrics
    assert "inter_token_latency_seconds_bucket" in metrics
    assert not any(m.startswith(("python_", "process_", "gpu_cache", "time_per_output")) for m in metrics)
    assert all(row.target == f"vllm:{stub_vllm.url}" and row.kind == "vllm" and row.time == T0 for row in rows)
    up = rows[0]
    assert (up.metric, up.labels, up.value) == ("up", '{"state":"up"}', 1.0)
    bucket = next(r for r in rows if r.metric == "time_to_first_token_seconds_bucket")
    assert bucket.labels == '{"le":"0.001","model_name":"facebook/opt-125m"}'  # sorted keys
    # 2 endpoint rows + the canonical samples, far fewer than the body's samples
    assert len(rows) == 2 + len(scrape.vllm.samples) < len(list(scrape.metrics.samples()))


async def test_down_scrape_stores_only_its_state(closed_port_url):
    async with VllmEndpoint(closed_port_url, clock=ticking_clock()) as endpoint:
        scrape = await endpoint.scrape()
    rows = vllm_rows(scrape)
    assert [(r.metric, r.labels, r.value) for r in rows] == [
        ("up", '{"state":"down"}', 0.0),
        ("scrape_duration_seconds", "{}", scrape.duration_s),
    ]


def test_gpu_rows_skip_unknown_fields():
    reading = GpuReading("nvidia-smi", T0, True, parse_smi_gpus(fixture_text("gpu-nvidia-smi-query-gpu.csv")), host="node1")
    rows = gpu_rows(reading)
    assert rows[0].target == "gpu:node1:all" and rows[0].metric == "available" and rows[0].value == 1.0
    a10g = {r.metric for r in rows if r.target == "gpu:node1:2"}
    assert a10g == set(GPU_METRICS) - {"temperature_c", "power_w", "power_limit_w"}
    labels = orjson.loads(next(r.labels for r in rows if r.target == "gpu:node1:0"))
    assert labels == {"name": "NVIDIA H100 80GB HBM3", "uuid": "GPU-5f4b1c2e-8d3a-4e61-9b7f-2a1c3d4e5f60"}
    off = gpu_rows(FakeGpuSource(available=False, clock=lambda: T0).read())
    assert [(r.target, r.value) for r in off] == [("gpu:all", 0.0)]
    assert orjson.loads(off[0].labels)["reason"]


async def test_parquet_round_trip_gives_back_rates_and_quantiles(stub_vllm, tmp_path):
    bodies = [with_traffic(5, 0), with_traffic(1005, 10), with_traffic(3005, 30)]
    scrapes = await scrape_series(stub_vllm, bodies)
    gpu = FakeGpuSource(2, clock=lambda: T0)
    rows = []
    for scrape in scrapes:
        rows += snapshot_rows(HealthSnapshot(scrape.time, (EndpointHealth(scrape),), gpu.read()))
    table = rows_to_table(rows)
    assert table.schema.equals(HEALTH_SAMPLES)
    path = tmp_path / "health.parquet"
    pq.write_table(table, path)
    frame = pl.read_parquet(path)
    target = scrapes[0].target

    history = vllm_metrics_history(frame, target)
    assert [at for at, _, _ in history] == [T0, T0 + timedelta(seconds=10), T0 + timedelta(seconds=20)]
    assert all(state.value == "up" for _, state, _ in history)
    assert history[1][2].engines[OPT] == scrapes[1].vllm.engines[OPT]  # nothing lost on the way

    # consecutive windows of 10 s: prompt tokens 1000 then 2000 -> 100/s then 200/s
    stats = vllm_stats_history(frame, target)
    assert stats[0][1][0].prompt_tokens_per_s is None
    assert stats[1][1][0].prompt_tokens_per_s == 100.0
    assert stats[2][1][0].prompt_tokens_per_s == 200.0
    # e2e in the second window: 20 more requests, all in [0, 1] -> p50 = 0 + 1 * 10/20
    assert stats[2][1][0].latency["e2e"].p50 == pytest.approx(0.5)
    assert stats[2][1] == derive(scrapes[1].vllm, scrapes[2].vllm, 10.0)

    # a 20 s window at the last point starts at the first scrape: 3000 tokens / 20 s
    wide = vllm_stats_history(frame, target, window=timedelta(seconds=20))
    assert wide[2][1][0].prompt_tokens_per_s == 150.0 and wide[2][1][0].window_s == 20.0
    assert wide[1][1][0].prompt_tokens_per_s is None  # no scrape 20 s before the second

    chart = vllm_stats_frame(frame, target, window=10.0)
    assert chart.columns[:3] == ["time", "model_name", "engine"]
    assert chart["prompt_tokens_per_s"].to_list() == [None, 100.0, 200.0]
    assert chart["e2e_p50"].to_list()[2] == pytest.approx(0.5)
    assert chart.schema["time"] == pl.Datetime("us", "UTC")

    states = endpoint_state_frame(frame, target)
    assert states["state"].to_list() == ["up", "up", "up"] and states["up"].all()

    gpus = gpu_frame(frame)
    assert gpus.columns == ["time", "target", *GPU_METRICS]
    assert sorted(set(gpus["target"].to_list())) == ["gpu:0", "gpu:1"]


def test_empty_inputs():
    assert rows_to_table([]).num_rows == 0
    empty = pl.from_arrow(rows_to_table([]))
    assert vllm_stats_history(empty, "vllm:http://x") == []
    assert vllm_stats_frame(empty, "vllm:http://x").is_empty()
    assert gpu_frame(empty).is_empty()
