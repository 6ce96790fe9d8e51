"""The [health] section and the pane's sampler (without the UI): windows on the
snapshot clock, endpoint totals, last errors, rules, bounded memory."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from health_stub import fixture_text, set_sample

from store.health.config import HealthConfig, HealthConfigError
from store.health.endpoint import EndpointState
from store.health.gpu import DcgmExporterSource, FakeGpuSource, NvidiaSmiSource, NvmlSource
from store.health.live import LiveHealth, SamplerThread, series_key
from tests.support.fake_vllm import FakeVllm

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def seconds(self) -> float:
        return (self.now - T0).total_seconds()


def test_defaults_and_a_full_section():
    default = HealthConfig.from_dict({})
    assert (default.vllm, default.interval, default.pane_interval, default.gpu) == ((), 10.0, 1.0, "nvml")
    config = HealthConfig.from_dict({
        "vllm": ["127.0.0.1:8000/", "http://127.0.0.1:8000", "https://gpu:8443"], "interval": 5, "gpu": "fake",
        "fake_gpus": 8, "thresholds": {"kv_cache_red": 0.95, "queue_min_points": 4},
    })
    assert config.vllm == ("http://127.0.0.1:8000", "https://gpu:8443")  # normalised, repeats dropped
    assert config.thresholds.kv_cache_red == 0.95 and config.thresholds.queue_min_points == 4
    assert isinstance(config.gpu_source(), FakeGpuSource) and config.gpu_source().count == 8
    assert isinstance(HealthConfig.from_dict({"gpu": "nvml"}).gpu_source(), NvmlSource)
    assert HealthConfig.from_dict({"gpu": "none"}).gpu_source() is None
    smi = HealthConfig.from_dict({"gpu": "nvidia-smi", "gpu_command": "ssh box nvidia-smi", "gpu_host": "box"})
    source = smi.gpu_source()
    assert isinstance(source, NvidiaSmiSource) and source.command == ("ssh", "box", "nvidia-smi") and source.host == "box"
    dcgm = HealthConfig.from_dict({"gpu": "dcgm:http://gpu-box:9400/metrics"}).gpu_source()
    assert isinstance(dcgm, DcgmExporterSource) and dcgm.host == "gpu-box"
    assert HealthConfig.from_dict({"gpu": "dcgm:127.0.0.1:9400/metrics"}).gpu_source().host is None


@pytest.mark.parametrize("section, words", [
    ({"vllm": "x", "gpus": "nvml"}, "unknown key health.gpus"),
    ({"vllm": [1]}, "health.vllm must be a list"),
    ({"interval": 0}, "more than 0"),
    ({"interval": "soon"}, "number of seconds"),
    ({"gpu": "cuda"}, "health.gpu must be one of"),
    ({"fake_gpus": -1}, "fake_gpus"),
    ({"thresholds": {"kv_cache_pink": 1}}, "unknown key health.thresholds.kv_cache_pink"),
    ({"thresholds": {"kv_cache_red": "high"}}, "must be a number"),
    ({"gpu_command": []}, "gpu_command"),
])
def test_bad_values_name_their_key(section, words):
    with pytest.raises(HealthConfigError, match=words):
        HealthConfig.from_dict(section)


async def test_totals_rates_quantiles_and_engines_on_the_snapshot_clock():
    clock = Clock()
    server = FakeVllm(clock=clock.seconds, engines=2)
    config = HealthConfig.from_dict({"vllm": [server.url], "gpu": "none", "rate_window": 10, "quantile_window": 60})
    live = LiveHealth(config, clock=clock)
    try:
        views = []
        for _ in range(8):  # every 10 s on the frozen clock, however long the HTTP takes
            views.append(await live.sample())
            clock.now += timedelta(seconds=10)
    finally:
        await live.aclose()
        server.close()
    first, last = views[0].endpoints[0], views[-1].endpoints[0]
    assert first.total.generation_tokens_per_s is None and first.latency_window_s is None
    assert last.total.generation_tokens_per_s == pytest.approx(900.0)
    assert last.total.window_s == pytest.approx(10.0) and last.latency_window_s == pytest.approx(60.0)
    assert last.total.latency["ttft"].count == pytest.approx(180.0, abs=2)  # 3 requests/s over 60 s
    assert [e.generation_tokens_per_s for e in last.engines] == pytest.approx([450.0, 450.0])
    assert last.total.running == sum(e.running for e in last.engines)
    assert last.total.kv_cache_usage == max(e.kv_cache_usage for e in last.engines)
    assert len(views[-1].series[series_key(last.target, "kv_cache_usage")]) == 8
    # the fake preempts after 40 s: the rule sees this sampler's engine stats
    active = {c.rule for c in views[-1].active}
    assert "preemptions" in active


async def test_errors_are_remembered_after_recovery():
    clock = Clock()
    server = FakeVllm(clock=clock.seconds)
    live = LiveHealth(HealthConfig.from_dict({"vllm": [server.url], "gpu": "none", "timeout": 0.5}), clock=clock)
    try:
        await live.sample()
        server.mode = "down"
        clock.now += timedelta(seconds=5)
        down = (await live.sample()).endpoints[0]
        server.mode = "up"
        clock.now += timedelta(seconds=5)
        back = (await live.sample()).endpoints[0]
    finally:
        await live.aclose()
        server.close()
    assert down.state is EndpointState.DOWN and down.error == "HTTP 503: engine dead"
    assert down.total is not None  # its /metrics still answered: the figures are shown with the state
    assert back.state is EndpointState.UP and back.error is None
    assert back.last_error == "HTTP 503: engine dead" and back.last_error_time == T0 + timedelta(seconds=5)
    assert back.total.generation_tokens_per_s == pytest.approx(900.0)  # over the 10 s across the outage


async def test_memory_stays_bounded():
    clock = Clock()
    server = FakeVllm(clock=clock.seconds)
    live = LiveHealth(HealthConfig.from_dict({"vllm": [server.url], "gpu": "fake", "fake_gpus": 1,
                                              "quantile_window": 60}), clock=clock, spark_s=30, keep_every=5)
    try:
        for _ in range(200):
            await live.sample()
            clock.now += timedelta(seconds=1)
    finally:
        await live.aclose()
        server.close()
    assert len(live._totals[f"vllm:{server.url}"]) <= (60 + 5) // 5 + 2
    assert all(len(s) <= 31 for s in live._series.values())
    assert len(live._rules_history) <= live.rules_s + 2
    assert len(live.poller.history) == 1


def test_seeded_points_come_before_live_ones():
    live = LiveHealth(HealthConfig.from_dict({"gpu": "none"}), clock=Clock())
    key = series_key("gpu:0", "util_percent")
    live._add(key, T0, 50.0)
    live.seed({key: [(T0 - timedelta(seconds=20), 10.0), (T0 - timedelta(seconds=10), 20.0), (T0, 99.0)]})
    assert [v for _, v in live._series[key]] == [10.0, 20.0, 50.0]


def test_sampler_thread_samples_pauses_wakes_and_stops():
    views, seen = [], threading.Event()
    server = FakeVllm()

    def deliver(view):  # type: ignore[no-untyped-def]
        views.append(view)
        seen.set()

    config = HealthConfig.from_dict({"vllm": [server.url], "gpu": "none"})
    sampler = SamplerThread(lambda: LiveHealth(config), deliver, interval=3600).start()
    try:
        assert seen.wait(10) and len(views) == 1  # at once, then not for an hour
        seen.clear()
        sampler.wake()
        assert seen.wait(10) and len(views) == 2
        sampler.pause()
        seen.clear()
        sampler.wake()
        assert not seen.wait(0.5)
        sampler.resume()
        assert seen.wait(10) and len(views) == 3
    finally:
        sampler.stop()
        server.close()
    assert not sampler._thread.is_alive()


def test_old_names_read_through_the_sampler(stub_vllm):
    """The V0 capture (gpu_cache_usage_perc) through the live path."""
    body = set_sample(fixture_text("metrics-v0.4.3-gpu_cache_usage-datadog.txt"),
                      'vllm:gpu_cache_usage_perc{model_name="facebook/opt-125m"}', 0.42)
    stub_vllm.set_metrics(body)
    import asyncio

    async def one():  # type: ignore[no-untyped-def]
        live = LiveHealth(HealthConfig.from_dict({"vllm": [stub_vllm.url], "gpu": "none"}))
        try:
            return await live.sample()
        finally:
            await live.aclose()

    view = asyncio.run(one()).endpoints[0]
    assert view.total.kv_cache_usage == 0.42 and "vllm:gpu_cache_usage_perc" in view.deprecated_names
