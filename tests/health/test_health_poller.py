"""HealthPoller: several endpoints at once plus a GPU source, rates across polls."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest
from health_stub import fixture_text, set_sample

from store.health.endpoint import EndpointState
from store.health.gpu import FakeGpuSource, GpuReading
from store.health.poller import HealthPoller
from store.health.rules import evaluate
from store.health.samples import rows_to_table, snapshot_rows
from store.health.vllm import EngineKey

MIXED = fixture_text("metrics-datadog-mixed-v0.4.3-plus-v1-names.txt")
M = 'model_name="facebook/opt-125m"'


async def test_poll_once_scrapes_all_endpoints_and_the_gpus(stub_vllm, closed_port_url):
    stub_vllm.set_metrics(MIXED)
    async with HealthPoller([stub_vllm.url, closed_port_url], FakeGpuSource(2), interval=1.0, timeout=1.0) as poller:
        first = await poller.poll_once()
        stub_vllm.set_metrics(set_sample(MIXED, f"vllm:generation_tokens_total{{{M}}}", 507.0))  # +500
        second = await poller.poll_once()
    assert [e.state for e in first.endpoints] == [EndpointState.UP, EndpointState.DOWN]
    assert first.endpoint(stub_vllm.url) is first.endpoints[0]
    assert first.endpoint(f"vllm:{closed_port_url}").error == "connection refused"
    assert first.gpu is not None and first.gpu.available and len(first.gpu.devices) == 2
    assert first.endpoints[0].stats[0].generation_tokens_per_s is None  # no window yet
    up = second.endpoints[0]
    (stats,) = up.stats
    assert stats.key == EngineKey("facebook/opt-125m", None)
    dt = up.scrape.monotonic - first.endpoints[0].scrape.monotonic
    assert stats.generation_tokens_per_s == pytest.approx(500 / dt)
    assert second.endpoints[1].stats == ()
    assert poller.last is second and poller.history == (first, second)
    # rules and storage take the snapshots as they are
    assert [c.active for c in evaluate(poller.history) if c.rule == "endpoint_down"] == [False, True]
    assert rows_to_table(snapshot_rows(second)).num_rows > 50


async def test_rates_span_a_failed_scrape(stub_vllm):
    stub_vllm.set_metrics(MIXED)
    async with HealthPoller([stub_vllm.url], None, timeout=1.0) as poller:
        first = await poller.poll_once()
        stub_vllm.set_metrics("garbage", status=500)
        failed = await poller.poll_once()
        stub_vllm.set_metrics(set_sample(MIXED, f"vllm:prompt_tokens_total{{{M}}}", 605.0))  # +600
        third = await poller.poll_once()
    assert failed.endpoints[0].stats == () and failed.gpu is None
    dt = third.endpoints[0].scrape.monotonic - first.endpoints[0].scrape.monotonic
    assert third.endpoints[0].stats[0].prompt_tokens_per_s == pytest.approx(600 / dt)


class ExplodingSource:
    """A third-party GPU source that breaks its promise."""

    source = "exploding"

    def read(self) -> GpuReading:
        raise RuntimeError("boom")

    def close(self) -> None:
        pass


async def test_a_raising_gpu_source_becomes_unavailable():
    async with HealthPoller([], ExplodingSource()) as poller:
        snapshot = await poller.poll_once()
    assert snapshot.endpoints == ()
    assert not snapshot.gpu.available and snapshot.gpu.reason == "GPU read failed: boom"
    assert snapshot.gpu.source == "exploding"


async def test_run_yields_at_the_interval_and_history_is_bounded():
    ticks = iter(datetime(2026, 11, 24, 12, 0, s, tzinfo=timezone.utc) for s in range(60))
    poller = HealthPoller([], FakeGpuSource(1), interval=0.01, history_s=2.0, clock=lambda: next(ticks))
    got = []
    async for snapshot in poller.run():
        got.append(snapshot)
        if len(got) == 5:
            break
    await poller.aclose()
    assert [s.time.second for s in got] == [0, 1, 2, 3, 4]
    assert [s.time.second for s in poller.history] == [2, 3, 4]


async def test_poll_is_concurrent(stub_vllm):
    stub_vllm.set_metrics(MIXED)
    stub_vllm.delays = {"/metrics": 0.3}
    async with HealthPoller([stub_vllm.url] * 4, None, timeout=2.0) as poller:
        loop = asyncio.get_running_loop()
        started = loop.time()
        snapshot = await poller.poll_once()
        elapsed = loop.time() - started
    assert all(e.state is EndpointState.UP for e in snapshot.endpoints)
    assert elapsed < 1.0  # four 0.3 s scrapes side by side, not 1.2 s in a row
