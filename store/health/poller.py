"""Polling vLLM endpoints and a GPU source into immutable ``HealthSnapshot``s.

Sampling only: nothing here draws. The collector (or the UI, through a worker)
calls ``poll_once()`` on its own schedule, or iterates ``run()``; each snapshot
carries the derived rates of every endpoint over the window since that
endpoint's previous good scrape.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import AsyncIterator, Callable, Sequence

import httpx

from store.health.endpoint import EndpointScrape, EndpointState, ModelInfo, VllmEndpoint
from store.health.gpu import GpuReading, GpuSource
from store.health.vllm import EngineStats, VllmMetrics, derive

__all__ = ["EndpointHealth", "HealthSnapshot", "HealthPoller"]


@dataclass(frozen=True, slots=True)
class EndpointHealth:
    """One endpoint in a snapshot: the raw scrape and the per-engine stats."""

    scrape: EndpointScrape
    stats: tuple[EngineStats, ...] = ()

    @property
    def target(self) -> str:
        return self.scrape.target

    @property
    def state(self) -> EndpointState:
        return self.scrape.state

    @property
    def error(self) -> str | None:
        return self.scrape.error

    @property
    def models(self) -> tuple[ModelInfo, ...]:
        return self.scrape.models


@dataclass(frozen=True, slots=True)
class HealthSnapshot:
    """Everything one poll saw. ``gpu`` is None when the poller has no GPU source."""

    time: datetime
    endpoints: tuple[EndpointHealth, ...] = ()
    gpu: GpuReading | None = None

    def endpoint(self, target_or_url: str) -> EndpointHealth | None:
        for endpoint in self.endpoints:
            if target_or_url in (endpoint.target, endpoint.scrape.base_url):
                return endpoint
        return None


class HealthPoller:
    """Polls ``vllm_endpoints`` (base URLs) and ``gpu_source`` together.

    ``interval`` is the pause used by ``run()``. ``history_s`` bounds
    ``history`` (recent snapshots, oldest first, what ``rules.evaluate`` reads):
    keep it longer than the longest rule window.
    """

    def __init__(
        self,
        vllm_endpoints: Sequence[str],
        gpu_source: GpuSource | None = None,
        interval: float = 5.0,
        *,
        timeout: float = 2.0,
        history_s: float = 600.0,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.interval = interval
        self.gpu_source = gpu_source
        self.history_s = history_s
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._client = httpx.AsyncClient(timeout=timeout, trust_env=False)
        self.endpoints = tuple(
            VllmEndpoint(url, timeout=timeout, client=self._client, clock=self._clock) for url in vllm_endpoints
        )
        # Per endpoint: the last scrape that had vLLM metrics, to derive rates from.
        self._previous: dict[str, tuple[VllmMetrics, float]] = {}
        self._history: deque[HealthSnapshot] = deque()

    @property
    def last(self) -> HealthSnapshot | None:
        return self._history[-1] if self._history else None

    @property
    def history(self) -> tuple[HealthSnapshot, ...]:
        return tuple(self._history)

    async def poll_once(self) -> HealthSnapshot:
        """Scrape every endpoint concurrently and read the GPUs in a thread."""
        at = self._clock()
        gpu_task = asyncio.to_thread(self._read_gpu) if self.gpu_source is not None else _none()
        *scrapes, gpu = await asyncio.gather(*(endpoint.scrape() for endpoint in self.endpoints), gpu_task)
        snapshot = HealthSnapshot(at, tuple(self._with_stats(scrape) for scrape in scrapes), gpu)
        self._remember(snapshot)
        return snapshot

    async def run(self) -> AsyncIterator[HealthSnapshot]:
        """Yield a snapshot every ``interval`` seconds (measured start to start)."""
        while True:
            started = time.monotonic()
            yield await self.poll_once()
            await asyncio.sleep(max(0.0, self.interval - (time.monotonic() - started)))

    async def aclose(self) -> None:
        await self._client.aclose()
        if self.gpu_source is not None:
            await asyncio.to_thread(self.gpu_source.close)

    async def __aenter__(self) -> "HealthPoller":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _with_stats(self, scrape: EndpointScrape) -> EndpointHealth:
        if scrape.vllm is None or scrape.vllm.empty or scrape.monotonic is None:
            return EndpointHealth(scrape)
        previous = self._previous.get(scrape.target)
        if previous is None:
            stats = derive(None, scrape.vllm, None)
        else:
            stats = derive(previous[0], scrape.vllm, scrape.monotonic - previous[1])
        self._previous[scrape.target] = (scrape.vllm, scrape.monotonic)
        return EndpointHealth(scrape, stats)

    def _read_gpu(self) -> GpuReading:
        assert self.gpu_source is not None
        try:
            return self.gpu_source.read()
        except Exception as exc:  # noqa: BLE001 - sources promise not to raise; a third-party one might
            source = getattr(self.gpu_source, "source", type(self.gpu_source).__name__)
            return GpuReading(str(source), self._clock(), False, reason=f"GPU read failed: {exc}")

    def _remember(self, snapshot: HealthSnapshot) -> None:
        self._history.append(snapshot)
        while len(self._history) > 1 and (snapshot.time - self._history[0].time).total_seconds() > self.history_s:
            self._history.popleft()


async def _none() -> None:
    return None
