"""The collector's health job end to end: a local server serving the real V0
capture, counters changed between scrapes by hand, scraped through
``HealthJob`` into a real collector's store; the stored samples must give back
the rates and quantiles computed by hand, and the rules must reach the alert log."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import polars as pl
import pytest
from health_stub import fixture_text, set_sample

from store.collector.jobs.health_job import HealthJob, alert_conditions
from store.health.config import HealthConfig
from store.health.gpu import FakeGpuSource
from store.health.rules import Condition
from store.health.samples import vllm_stats_frame
from store.query import StoreReader
from store.query.health import HealthQueries
from tests.support.collector import start_inprocess

V0 = fixture_text("metrics-v0.4.3-gpu_cache_usage-datadog.txt")
M = 'model_name="facebook/opt-125m"'
T0 = datetime(2026, 11, 24, 9, 0, 0, tzinfo=timezone.utc)


def ttft_bucket(le: str) -> str:
    return f'vllm:time_to_first_token_seconds_bucket{{le="{le}",{M}}}'


def second_scrape() -> str:
    """+1200 prompt and +500 generation tokens, 4 more requests finished by length,
    KV cache at 50% and 2 waiting; 10 more TTFT observations: 4 in (0.1, 0.25] and
    6 in (0.25, 0.5]."""
    text = V0
    text = set_sample(text, f"vllm:prompt_tokens_total{{{M}}}", 1205.0)
    text = set_sample(text, f"vllm:generation_tokens_total{{{M}}}", 507.0)
    text = set_sample(text, f'vllm:request_success_total{{finished_reason="length",{M}}}', 5.0)
    text = set_sample(text, f"vllm:gpu_cache_usage_perc{{{M}}}", 0.5)
    text = set_sample(text, f"vllm:num_requests_waiting{{{M}}}", 2.0)
    text = set_sample(text, ttft_bucket("0.25"), 4.0)
    for le in ("0.5", "0.75", "1.0", "2.5", "5.0", "7.5", "10.0", "+Inf"):
        text = set_sample(text, ttft_bucket(le), 11.0)
    text = set_sample(text, f"vllm:time_to_first_token_seconds_count{{{M}}}", 11.0)
    text = set_sample(text, f"vllm:time_to_first_token_seconds_sum{{{M}}}", 3.31326723098754883)
    return text


def third_scrape() -> str:
    """From the second: +1000 generation tokens and 3 preemptions."""
    text = second_scrape()
    text = set_sample(text, f"vllm:generation_tokens_total{{{M}}}", 1507.0)
    return set_sample(text, f"vllm:num_preemptions_total{{{M}}}", 3.0)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def wait_for(predicate, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    """``predicate()`` until it returns something other than None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value is not None:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting for the store")


def stored(queries: HealthQueries, since: datetime, scrapes: int) -> pl.DataFrame | None:
    """The stored samples once ``scrapes`` endpoint scrapes are published."""
    frame = queries.samples(since)
    return frame if frame.filter(pl.col("metric") == "up").height >= scrapes else None


@pytest.fixture
def quiet_collector(store_dir: Path):  # type: ignore[no-untyped-def]
    """A real collector whose own health job watches nothing (the tests drive one)."""
    rc = start_inprocess(store_dir, health={"gpu": "none"})
    try:
        yield rc
    finally:
        rc.stop()


async def test_stored_samples_give_the_hand_computed_rates_and_quantiles(stub_vllm, quiet_collector, store_dir):
    clock = Clock()
    config = HealthConfig.from_dict({"vllm": [stub_vllm.url], "gpu": "none", "interval": 10})
    job = HealthJob(quiet_collector.collector, config, gpu_source=FakeGpuSource(2, vary=False, clock=clock),
                    clock=clock)
    target = f"vllm:{stub_vllm.url}"
    try:
        for body in (V0, second_scrape(), third_scrape()):
            stub_vllm.set_metrics(body)
            await job.poll_once()
            clock.now += timedelta(seconds=10)
    finally:
        await job.poller.aclose()

    queries = HealthQueries(StoreReader(store_dir))
    frame = wait_for(lambda: stored(queries, T0, 3))
    stats = vllm_stats_frame(frame, target, window=10).sort("time")
    assert stats["time"].to_list() == [T0, T0 + timedelta(seconds=10), T0 + timedelta(seconds=20)]
    first, second, third = stats.to_dicts()
    assert first["prompt_tokens_per_s"] is None  # no window before the first scrape
    assert second["prompt_tokens_per_s"] == pytest.approx(120.0)  # 1200 / 10
    assert second["generation_tokens_per_s"] == pytest.approx(50.0)  # 500 / 10
    assert second["requests_per_s"] == pytest.approx(0.4)  # 4 / 10
    assert second["kv_cache_usage"] == 0.5 and second["waiting"] == 2.0  # old gpu_cache_usage_perc name
    # TTFT over the window: 4 in (0.1, 0.25], 6 in (0.25, 0.5]; linear inside a bucket
    assert second["ttft_p50"] == pytest.approx(0.25 + 0.25 * (5 - 4) / 6)
    assert second["ttft_p90"] == pytest.approx(0.25 + 0.25 * (9 - 4) / 6)
    assert second["ttft_p99"] == pytest.approx(0.25 + 0.25 * (9.9 - 4) / 6)
    assert third["generation_tokens_per_s"] == pytest.approx(100.0)  # 1000 / 10
    assert third["preemptions_per_s"] == pytest.approx(0.3)
    assert third["ttft_p50"] is None  # nothing observed in that window
    # a 20 s window from the same rows
    wide = vllm_stats_frame(frame, target, window=20).sort("time").row(2, named=True)
    assert wide["generation_tokens_per_s"] == pytest.approx((1507 - 7) / 20)
    # the chart query picks stored scrapes and derives between them: the same figures
    history = queries.endpoint_history(target, T0, T0 + timedelta(seconds=20)).sort("time")
    assert history["generation_tokens_per_s"].to_list()[1:] == pytest.approx([50.0, 100.0])
    assert history["ttft_p50"][1] == pytest.approx(second["ttft_p50"])
    # GPU rows are there too, from the fake source
    gpus = frame.filter((pl.col("kind") == "gpu") & (pl.col("metric") == "util_percent"))
    assert sorted(gpus["target"].unique().to_list()) == ["gpu:0", "gpu:1"]


async def test_rules_reach_the_alert_log(stub_vllm, quiet_collector, store_dir):
    clock = Clock()
    config = HealthConfig.from_dict({"vllm": [stub_vllm.url], "gpu": "none"})
    job = HealthJob(quiet_collector.collector, config, gpu_source=None, clock=clock)
    target = f"vllm:{stub_vllm.url}"
    try:
        for body in (V0, third_scrape()):  # preemptions: 0 -> 3
            stub_vllm.set_metrics(body)
            await job.poll_once()
            clock.now += timedelta(seconds=10)
        stub_vllm.close()  # connection refused from now on
        await job.poll_once()
    finally:
        await job.poller.aclose()
    reader = StoreReader(store_dir)

    def alerts() -> pl.DataFrame | None:
        rows = reader.query(f"SELECT * FROM {reader.scan('alerts')} ORDER BY time, rule")
        return rows if rows.height >= 3 else None

    rows = wait_for(alerts)
    by_state = {(r["rule"], r["subject"], r["state"]): r for r in rows.to_dicts()}
    engine = f"{target} facebook/opt-125m"  # rules about an engine name it
    assert by_state[("health:preemptions", engine, "firing")]["kind"] == "health"
    # once the endpoint is down its engine is no longer reported: the preemption alert resolves
    assert ("health:preemptions", engine, "resolved") in by_state
    firing = {(r["rule"], r["subject"]): r for r in rows.to_dicts() if r["state"] == "firing"}
    down = firing[("health:endpoint_down", target)]
    assert down["severity"] == "critical" and "connection refused" in down["message"]
    assert quiet_collector.collector.alerts.firing >= 1
    # the down scrape is stored as such
    states = HealthQueries(reader).endpoint_states(T0)
    assert states["state"].to_list()[-1] == "down"


def test_health_conditions_become_alert_conditions():
    (alert,) = alert_conditions([Condition("kv_cache_high", "vllm:http://h:8000", True, "critical", 0.95, 0.9, "m")])
    assert (alert.rule, alert.kind, alert.severity, alert.active) == ("health:kv_cache_high", "health", "critical", True)
    assert alert.details == {"rule": "kv_cache_high"}


def test_the_collector_scrapes_on_its_own_while_no_console_is_open(stub_vllm, store_dir):
    stub_vllm.set_metrics(V0)
    rc = start_inprocess(store_dir, health={"vllm": [stub_vllm.url], "interval": 0.2, "gpu": "fake", "fake_gpus": 1})
    try:
        reader = StoreReader(store_dir)
        queries = HealthQueries(reader)
        since = datetime.now(timezone.utc) - timedelta(minutes=1)
        frame = wait_for(lambda: stored(queries, since, 3))
        assert set(frame["kind"].unique().to_list()) == {"vllm", "gpu"}
        stats = httpx.get(rc.url + "/v1/stats", timeout=5).json()
        assert stats["alerts_firing"] == 0
    finally:
        rc.stop()


def test_no_endpoints_and_no_gpu_write_nothing(store_dir, closed_port_url):
    """A laptop without a driver: the GPU source is unavailable at every poll."""
    rc = start_inprocess(store_dir, health={"gpu": f"dcgm:{closed_port_url}/metrics", "interval": 0.1})
    try:
        time.sleep(0.5)
    finally:
        rc.stop()
    reader = StoreReader(store_dir)
    assert reader.query(f"SELECT count(*) AS n FROM {reader.scan('health_samples')}").item() == 0
