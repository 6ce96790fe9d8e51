"""Level-based health conditions over recent snapshots, and UI colour levels.

``evaluate(history, thresholds)`` looks at recent ``HealthSnapshot``s (oldest
first, e.g. ``HealthPoller.history``) and returns one ``Condition`` per rule and
subject present in the newest snapshot, active or not. It keeps no state: the
shared alert engine turns level changes into fire-once-per-crossing alerts.

Rules (names are the ``rule`` field):

- ``kv_cache_high``: KV-cache usage >= ``kv_cache_red`` at every scrape for at
  least ``kv_cache_sustain_s`` (the run of high readings must reach back that far;
  a missing reading breaks the run).
- ``queue_growing``: within the last ``queue_window_s``, at least
  ``queue_min_points`` readings of waiting requests, the last above the first,
  a positive least-squares slope, and at least ``queue_min_waiting`` waiting now.
- ``preemptions``: preemption rate > ``preemptions_per_s`` in the newest window.
- ``endpoint_down``: the endpoint's state is ``down`` (warming and draining are not down).
- ``gpu_temperature``: temperature >= ``gpu_temp_red_c``.
- ``gpu_power_limit``: power >= ``power_limit_fraction`` x enforced limit.

Severities are ``warning`` and ``critical``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Sequence

from store.health.endpoint import EndpointState
from store.health.gpu import gpu_target
from store.health.vllm import EngineKey, EngineStats

if TYPE_CHECKING:
    from store.health.poller import HealthSnapshot

__all__ = ["Condition", "HealthThresholds", "evaluate", "WARNING", "CRITICAL"]

WARNING = "warning"
CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class Condition:
    rule: str
    subject: str
    active: bool
    severity: str
    value: float | None
    threshold: float | None
    message: str


@dataclass(frozen=True, slots=True)
class HealthThresholds:
    """Rule thresholds and the amber/red levels the UI colours by.

    Fractions are 0..1 (KV cache, memory); latencies in seconds.
    """

    kv_cache_amber: float = 0.80
    kv_cache_red: float = 0.90
    kv_cache_sustain_s: float = 60.0
    queue_window_s: float = 60.0
    queue_min_points: int = 3
    queue_min_waiting: float = 1.0
    waiting_amber: float = 1.0
    waiting_red: float = 10.0
    preemptions_per_s: float = 0.0
    gpu_temp_amber_c: float = 80.0
    gpu_temp_red_c: float = 85.0
    power_amber_fraction: float = 0.90
    power_limit_fraction: float = 0.98
    gpu_mem_amber: float = 0.90
    gpu_mem_red: float = 0.97
    ttft_p99_amber_s: float = 1.0
    ttft_p99_red_s: float = 3.0
    itl_p99_amber_s: float = 0.10
    itl_p99_red_s: float = 0.25

    def level(self, metric: str, value: float | None) -> str | None:
        """``ok``, ``amber`` or ``red`` for a value the UI shows; None when the
        value is unknown or the metric has no levels. ``metric`` is one of:
        kv_cache_usage, waiting, gpu_temperature_c, gpu_mem_fraction,
        gpu_power_fraction, preemptions_per_s, ttft_p99, itl_p99."""
        if value is None:
            return None
        bands = {
            "kv_cache_usage": (self.kv_cache_amber, self.kv_cache_red),
            "waiting": (self.waiting_amber, self.waiting_red),
            "gpu_temperature_c": (self.gpu_temp_amber_c, self.gpu_temp_red_c),
            "gpu_mem_fraction": (self.gpu_mem_amber, self.gpu_mem_red),
            "gpu_power_fraction": (self.power_amber_fraction, self.power_limit_fraction),
            "ttft_p99": (self.ttft_p99_amber_s, self.ttft_p99_red_s),
            "itl_p99": (self.itl_p99_amber_s, self.itl_p99_red_s),
        }.get(metric)
        if metric == "preemptions_per_s":
            return "red" if value > self.preemptions_per_s else "ok"
        if bands is None:
            return None
        amber, red = bands
        return "red" if value >= red else "amber" if value >= amber else "ok"


def evaluate(history: Sequence["HealthSnapshot"], thresholds: HealthThresholds = HealthThresholds()) -> list[Condition]:
    """Conditions for the newest snapshot in ``history`` (see the module doc)."""
    if not history:
        return []
    latest = history[-1]
    conditions: list[Condition] = []
    for endpoint in latest.endpoints:
        conditions.append(_endpoint_down(endpoint.target, endpoint.state, endpoint.error))
        for stats in endpoint.stats:
            series = _engine_series(history, endpoint.target, stats.key)
            subject = _engine_subject(endpoint.target, stats.key)
            conditions.append(_kv_cache_high(subject, series, thresholds))
            conditions.append(_queue_growing(subject, series, thresholds))
            conditions.append(_preemptions(subject, stats, thresholds))
    gpu = latest.gpu
    if gpu is not None and gpu.available:
        for device in gpu.devices:
            subject = gpu_target(gpu.host, device.index)
            conditions.append(_gpu_temperature(subject, device.temperature_c, thresholds))
            conditions.append(_gpu_power(subject, device.power_w, device.power_limit_w, thresholds))
    return conditions


def _engine_subject(target: str, key: EngineKey) -> str:
    return target if key.model_name is None and key.engine is None else f"{target} {key.label}"


def _engine_series(history: Sequence["HealthSnapshot"], target: str, key: EngineKey) -> list[tuple[datetime, EngineStats | None]]:
    """(time, stats) per snapshot for one engine; None where the endpoint had no
    reading of it (down, or not polled)."""
    series = []
    for snapshot in history:
        endpoint = snapshot.endpoint(target)
        found = None
        if endpoint is not None:
            found = next((s for s in endpoint.stats if s.key == key), None)
        series.append((snapshot.time, found))
    return series


def _endpoint_down(subject: str, state: EndpointState, error: str | None) -> Condition:
    down = state is EndpointState.DOWN
    message = f"{subject} is {state.value}" + (f": {error}" if error else "")
    return Condition("endpoint_down", subject, down, CRITICAL, 0.0 if down else 1.0, None, message)


def _kv_cache_high(subject: str, series: list[tuple[datetime, EngineStats | None]], t: HealthThresholds) -> Condition:
    now, latest = series[-1]
    value = latest.kv_cache_usage if latest else None
    run_start: datetime | None = None
    for at, stats in reversed(series):
        usage = stats.kv_cache_usage if stats else None
        if usage is None or usage < t.kv_cache_red:
            break
        run_start = at
    held_s = (now - run_start).total_seconds() if run_start is not None else 0.0
    active = run_start is not None and held_s >= t.kv_cache_sustain_s
    if value is None:
        message = f"{subject}: KV-cache usage unknown"
    else:
        message = f"{subject}: KV-cache usage {value:.0%}" + (
            f", at or above {t.kv_cache_red:.0%} for {held_s:.0f}s" if run_start is not None else ""
        )
    return Condition("kv_cache_high", subject, active, CRITICAL, value, t.kv_cache_red, message)


def _queue_growing(subject: str, series: list[tuple[datetime, EngineStats | None]], t: HealthThresholds) -> Condition:
    now = series[-1][0]
    points = [
        ((at - now).total_seconds(), stats.waiting)
        for at, stats in series
        if stats is not None and stats.waiting is not None and (now - at).total_seconds() <= t.queue_window_s
    ]
    value = series[-1][1].waiting if series[-1][1] is not None else None
    active = False
    slope = None
    if len(points) >= t.queue_min_points:
        slope = _slope(points)
        first, last = points[0][1], points[-1][1]
        active = last > first and slope > 0 and last >= t.queue_min_waiting
    if slope is None:
        message = f"{subject}: not enough queue readings in {t.queue_window_s:.0f}s"
    else:
        message = (
            f"{subject}: waiting requests {points[0][1]:g} -> {points[-1][1]:g} "
            f"over {-points[0][0]:.0f}s ({slope * 60:+.1f}/min)"
        )
    return Condition("queue_growing", subject, active, WARNING, value, t.queue_min_waiting, message)


def _slope(points: list[tuple[float, float]]) -> float:
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var = sum((x - mean_x) ** 2 for x, _ in points)
    if var == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / var


def _preemptions(subject: str, stats: EngineStats, t: HealthThresholds) -> Condition:
    rate = stats.preemptions_per_s
    active = rate is not None and rate > t.preemptions_per_s
    message = (
        f"{subject}: preemption rate unknown"
        if rate is None
        else f"{subject}: {rate:.2f} preemptions/s (KV cache is being evicted)"
        if active
        else f"{subject}: no preemptions"
    )
    return Condition("preemptions", subject, active, WARNING, rate, t.preemptions_per_s, message)


def _gpu_temperature(subject: str, temperature: float | None, t: HealthThresholds) -> Condition:
    active = temperature is not None and temperature >= t.gpu_temp_red_c
    message = f"{subject}: temperature unknown" if temperature is None else f"{subject}: {temperature:.0f} C (limit {t.gpu_temp_red_c:.0f} C)"
    return Condition("gpu_temperature", subject, active, CRITICAL, temperature, t.gpu_temp_red_c, message)


def _gpu_power(subject: str, power: float | None, limit: float | None, t: HealthThresholds) -> Condition:
    threshold = limit * t.power_limit_fraction if limit else None
    active = power is not None and threshold is not None and power >= threshold
    if power is None or not limit:
        message = f"{subject}: power or power limit unknown"
    else:
        message = f"{subject}: {power:.0f} W of {limit:.0f} W enforced limit ({power / limit:.0%})"
    return Condition("gpu_power_limit", subject, active, WARNING, power, threshold, message)
