"""The health pane's sampler: a fast ``HealthPoller`` turned into immutable views.

``LiveHealth.sample()`` polls every endpoint and the GPUs once and returns a
``LiveView``: per endpoint the engines' own stats and the endpoint total
(``aggregate.merge_engines``), both with rates over ``rate_window``, the total
with p50/p90/p99 over ``quantile_window``; the last error seen, the rule
conditions (evaluated on these stats), and the recent series the sparklines draw.

Windows are measured on the snapshots' clock (``HealthPoller(clock=...)``), as
stored history is, not on the poller's monotonic scrape times; so a test with a
frozen clock gets exact figures.

Memory stays flat however long the pane is open: the poller keeps one
snapshot, this keeps a thinned copy of each endpoint's metrics for the windows
(one every ``keep_every`` seconds), slim snapshots (no raw metrics) for the
rules, and ``spark_s`` seconds of each sparkline.
"""

from __future__ import annotations

import asyncio
import bisect
import dataclasses
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Callable, Mapping, Sequence

from store.health.aggregate import merge_engines
from store.health.config import HealthConfig
from store.health.endpoint import EndpointScrape, EndpointState, ModelInfo
from store.health.gpu import GpuReading, GpuSource, gpu_target
from store.health.poller import EndpointHealth, HealthPoller, HealthSnapshot
from store.health.rules import Condition, evaluate
from store.health.vllm import EngineStats, VllmMetrics, derive

__all__ = ["EndpointView", "LiveView", "LiveHealth", "SamplerThread", "series_key", "endpoint_total"]

_NO_SERIES: Mapping[str, tuple[float, ...]] = MappingProxyType({})


def series_key(target: str, metric: str) -> str:
    """Key of a sparkline series: ``vllm:http://h:8000|kv_cache_usage``, ``gpu:0|util_percent``."""
    return f"{target}|{metric}"


# What the sparklines follow: endpoint totals and GPU gauges.
ENDPOINT_SERIES = ("kv_cache_usage", "generation_tokens_per_s", "waiting")
GPU_SERIES = ("util_percent", "mem_fraction")


@dataclass(frozen=True, slots=True)
class EndpointView:
    target: str
    base_url: str
    time: datetime
    state: EndpointState
    error: str | None
    models: tuple[ModelInfo, ...] = ()
    total: EngineStats | None = None  # the endpoint as a whole (see the module doc)
    engines: tuple[EngineStats, ...] = ()  # per model/engine, rates over the rate window
    last_error: str | None = None  # the newest error seen, even if the endpoint is fine now
    last_error_time: datetime | None = None
    deprecated_names: tuple[str, ...] = ()
    latency_window_s: float | None = None  # what total.latency covers (shorter than asked until it has history)


@dataclass(frozen=True, slots=True)
class LiveView:
    time: datetime
    endpoints: tuple[EndpointView, ...] = ()
    gpu: GpuReading | None = None
    conditions: tuple[Condition, ...] = ()  # every rule and subject, active or not
    series: Mapping[str, tuple[float, ...]] = field(default_factory=lambda: _NO_SERIES)
    polls: int = 0

    @property
    def active(self) -> tuple[Condition, ...]:
        return tuple(c for c in self.conditions if c.active)


def _start_of(times: Sequence[datetime], now: datetime, window: float) -> int:
    """Index of the newest time at least ``window`` seconds before ``now`` (else 0)."""
    return max(bisect.bisect_right(times, now - timedelta(seconds=window)) - 1, 0)


def endpoint_total(
    history: Sequence[tuple[datetime, VllmMetrics]], now: datetime, current: VllmMetrics,
    rate_window: float, quantile_window: float,
) -> tuple[EngineStats | None, float | None]:
    """Endpoint-total stats of ``current`` (already merged) against ``history``
    (merged, oldest first, not including current): rates from the newest entry at
    least ``rate_window`` old (else the oldest), latency from the one at least
    ``quantile_window`` old (else the oldest). Also returns the seconds the
    latency covers (None without history)."""
    if current.empty:
        return None, None
    gauges_only = derive(None, current, None)
    gauges = gauges_only[0] if gauges_only else None
    if not history:
        return gauges, None
    times = [at for at, _ in history]

    def stats_since(window: float) -> tuple[EngineStats | None, float]:
        start, before = history[_start_of(times, now, window)]
        dt = (now - start).total_seconds()
        out = derive(before, current, dt)
        return (out[0] if out else None), dt

    rates, _ = stats_since(rate_window)
    quantiles, latency_s = stats_since(quantile_window)
    if rates is None or quantiles is None:
        return gauges, None
    reset = rates.counter_reset or quantiles.counter_reset
    return dataclasses.replace(rates, latency=quantiles.latency, counter_reset=reset), latency_s


def engine_stats(
    history: Sequence[tuple[datetime, VllmMetrics]], now: datetime, current: VllmMetrics, rate_window: float
) -> tuple[EngineStats, ...]:
    """Per model/engine stats of ``current`` over ``rate_window`` (see ``endpoint_total``)."""
    if not history:
        return derive(None, current, None)
    start, before = history[_start_of([at for at, _ in history], now, rate_window)]
    return derive(before, current, (now - start).total_seconds())


class LiveHealth:
    """See the module doc. ``gpu_source`` overrides the one the config names."""

    def __init__(
        self,
        config: HealthConfig,
        *,
        gpu_source: GpuSource | None | str = "config",
        clock: Callable[[], datetime] | None = None,
        interval: float | None = None,
        spark_s: float = 300.0,
        keep_every: float = 5.0,
    ) -> None:
        self.config = config
        source = config.gpu_source(clock) if gpu_source == "config" else gpu_source
        self.poller = HealthPoller(
            config.vllm, source, interval if interval is not None else config.pane_interval,  # type: ignore[arg-type]
            timeout=config.timeout, history_s=0.0, clock=clock,
        )
        self.spark_s = spark_s
        self.keep_every = keep_every
        thresholds = config.thresholds
        self.rules_s = max(thresholds.kv_cache_sustain_s, thresholds.queue_window_s) + 30.0
        self.window_s = max(config.rate_window, config.quantile_window) + keep_every
        self._totals: dict[str, deque[tuple[datetime, VllmMetrics, VllmMetrics]]] = {}  # (time, merged, raw)
        self._rules_history: deque[HealthSnapshot] = deque()
        self._series: dict[str, deque[tuple[datetime, float]]] = {}
        self._errors: dict[str, tuple[str, datetime]] = {}
        self._lock = threading.Lock()  # seed() may come from another thread than sample()
        self.polls = 0

    async def sample(self) -> LiveView:
        snapshot = await self.poller.poll_once()
        with self._lock:
            return self._view(snapshot)

    async def aclose(self) -> None:
        await self.poller.aclose()

    def seed(self, points: Mapping[str, Sequence[tuple[datetime, float]]]) -> None:
        """Older points for the sparklines (from stored samples), kept before the live ones."""
        with self._lock:
            for key, values in points.items():
                series = self._series.setdefault(key, deque())
                first = series[0][0] if series else None
                older = [(at, v) for at, v in values if first is None or at < first]
                series.extendleft(reversed(older))

    # -- internals -----------------------------------------------------------------------
    def _view(self, snapshot: HealthSnapshot) -> LiveView:
        self.polls += 1
        now = snapshot.time
        endpoints = tuple(self._endpoint_view(endpoint.scrape, now) for endpoint in snapshot.endpoints)
        self._remember_for_rules(snapshot, endpoints)
        conditions = tuple(evaluate(tuple(self._rules_history), self.config.thresholds))
        for view in endpoints:
            total = view.total
            if total is not None:
                for metric in ENDPOINT_SERIES:
                    self._add(series_key(view.target, metric), now, getattr(total, metric))
        gpu = snapshot.gpu
        if gpu is not None and gpu.available:
            for device in gpu.devices:
                target = gpu_target(gpu.host, device.index)
                self._add(series_key(target, "util_percent"), now, device.util_percent)
                self._add(series_key(target, "mem_fraction"), now, device.mem_fraction)
        self._trim(now)
        series = MappingProxyType({key: tuple(v for _, v in values) for key, values in self._series.items()})
        return LiveView(now, endpoints, gpu, conditions, series, self.polls)

    def _endpoint_view(self, scrape: EndpointScrape, now: datetime) -> EndpointView:
        if scrape.error:
            self._errors[scrape.target] = (scrape.error, scrape.time)
        total = latency_s = None
        engines: tuple[EngineStats, ...] = ()
        raw = scrape.vllm
        if raw is not None and not raw.empty:
            merged = merge_engines(raw)
            history = self._totals.setdefault(scrape.target, deque())
            rq = self.config.rate_window, self.config.quantile_window
            total, latency_s = endpoint_total([(at, m) for at, m, _ in history], now, merged, *rq)
            engines = engine_stats([(at, r) for at, _, r in history], now, raw, self.config.rate_window)
            if not history or (now - history[-1][0]).total_seconds() >= self.keep_every:
                history.append((now, merged, raw))  # thinned: windows need reach, not every poll
            while len(history) > 2 and (now - history[1][0]).total_seconds() >= self.window_s:
                history.popleft()
        last = self._errors.get(scrape.target)
        return EndpointView(
            scrape.target, scrape.base_url, scrape.time, scrape.state, scrape.error, scrape.models, total,
            engines, last[0] if last else None, last[1] if last else None,
            raw.deprecated_names if raw is not None else (), latency_s,
        )

    def _remember_for_rules(self, snapshot: HealthSnapshot, views: Sequence[EndpointView]) -> None:
        """A slim copy (no raw metrics) with this sampler's engine stats, for ``evaluate``."""
        slim = HealthSnapshot(
            snapshot.time,
            tuple(
                EndpointHealth(dataclasses.replace(e.scrape, metrics=None, vllm=None), view.engines)
                for e, view in zip(snapshot.endpoints, views)
            ),
            snapshot.gpu,
        )
        history = self._rules_history
        history.append(slim)
        while len(history) > 1 and (snapshot.time - history[0].time).total_seconds() > self.rules_s:
            history.popleft()

    def _add(self, key: str, at: datetime, value: float | None) -> None:
        if value is None:
            return
        series = self._series.setdefault(key, deque())
        if series and series[-1][0] >= at:
            return  # a seeded point at the same time
        series.append((at, float(value)))

    def _trim(self, now: datetime) -> None:
        cutoff = now - timedelta(seconds=self.spark_s)
        for series in self._series.values():
            while series and series[0][0] < cutoff:
                series.popleft()


class SamplerThread:
    """Runs a ``LiveHealth`` on its own thread and event loop, every ``interval``
    seconds (start to start), handing each view to ``on_view`` (called on that
    thread: post a message from it). Sampling apart from drawing: a slow
    endpoint never stalls the UI. ``pause``/``resume`` follow the pane's
    visibility; ``wake`` samples now; ``seed`` passes stored points on."""

    def __init__(
        self,
        make_live: Callable[[], LiveHealth],
        on_view: Callable[[LiveView], None],
        interval: float,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self._make_live = make_live
        self._on_view = on_view
        self._on_error = on_error
        self.interval = interval
        self.live: LiveHealth | None = None
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._pending_seeds: list[Mapping[str, Sequence[tuple[datetime, float]]]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="llmops-health-sampler", daemon=True)

    def start(self) -> "SamplerThread":
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self.wake()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def pause(self) -> None:
        self._paused.set()

    def resume(self) -> None:
        if self._paused.is_set():
            self._paused.clear()
            self.wake()

    @property
    def paused(self) -> bool:
        return self._paused.is_set()

    def wake(self) -> None:
        loop, event = self._loop, self._wake
        if loop is not None and event is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # the loop closed in between
                pass

    def seed(self, points: Mapping[str, Sequence[tuple[datetime, float]]]) -> None:
        live = self.live
        if live is None:
            self._pending_seeds.append(points)
        else:
            live.seed(points)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        live = self._make_live()
        for points in self._pending_seeds:
            live.seed(points)
        self._pending_seeds.clear()
        self.live = live
        try:
            while not self._stop.is_set():
                started = time.monotonic()
                self._wake.clear()
                if not self._paused.is_set():
                    try:
                        view = await live.sample()
                    except Exception as exc:  # noqa: BLE001 - keep sampling; say why once per failure
                        if self._on_error is not None:
                            self._on_error(exc)
                    else:
                        if not self._stop.is_set():
                            self._on_view(view)
                wait = self.interval - (time.monotonic() - started)
                if wait > 0 and not self._stop.is_set():
                    try:
                        await asyncio.wait_for(self._wake.wait(), wait)
                    except TimeoutError:
                        pass
        finally:
            await live.aclose()
