"""Health rules over synthetic snapshot series."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from store.health.endpoint import EndpointScrape, EndpointState
from store.health.gpu import GpuDevice, GpuReading
from store.health.poller import EndpointHealth, HealthSnapshot
from store.health.rules import CRITICAL, WARNING, HealthThresholds, evaluate
from store.health.vllm import EngineKey, EngineStats

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
TARGET = "vllm:http://127.0.0.1:8000"
KEY = EngineKey("llama", "0")
SUBJECT = f"{TARGET} llama engine=0"


def snapshot(
    second: float,
    *,
    state: EndpointState = EndpointState.UP,
    error: str | None = None,
    gpus: tuple[GpuDevice, ...] = (),
    **stats: float | None,
) -> HealthSnapshot:
    at = T0 + timedelta(seconds=second)
    scrape = EndpointScrape(TARGET, "http://127.0.0.1:8000", at, state, error)
    engines = (EngineStats(KEY, **stats),) if state is EndpointState.UP else ()
    reading = GpuReading("fake", at, True, gpus) if gpus else None
    return HealthSnapshot(at, (EndpointHealth(scrape, engines),), reading)


def series(field: str, values: list[float | None], step: float = 10.0) -> list[HealthSnapshot]:
    return [snapshot(i * step, **{field: value}) for i, value in enumerate(values)]


def condition(history, rule: str, thresholds: HealthThresholds = HealthThresholds()):
    found = [c for c in evaluate(history, thresholds) if c.rule == rule]
    assert len(found) == 1, found
    return found[0]


def test_kv_cache_must_stay_high_for_a_minute():
    values = [0.5, 0.92, 0.95, 0.93, 0.97, 0.96, 0.95, 0.94]  # every 10 s; high from t=10
    at_60 = condition(series("kv_cache_usage", values[:7]), "kv_cache_high")
    assert not at_60.active and "for 50s" in at_60.message
    at_70 = condition(series("kv_cache_usage", values), "kv_cache_high")
    assert at_70.active and at_70.severity == CRITICAL
    assert (at_70.subject, at_70.value, at_70.threshold) == (SUBJECT, 0.94, 0.90)
    assert at_70.message == f"{SUBJECT}: KV-cache usage 94%, at or above 90% for 60s"


def test_kv_cache_run_is_broken_by_a_dip_or_a_gap():
    dipped = [0.95, 0.95, 0.95, 0.95, 0.85, 0.95, 0.95, 0.95]
    assert not condition(series("kv_cache_usage", dipped), "kv_cache_high").active
    gap = [0.95, 0.95, 0.95, 0.95, None, 0.95, 0.95, 0.95]
    assert not condition(series("kv_cache_usage", gap), "kv_cache_high").active
    quick = HealthThresholds(kv_cache_red=0.8, kv_cache_sustain_s=0)
    assert condition(series("kv_cache_usage", [0.81]), "kv_cache_high", quick).active


def test_growing_queue():
    growing = condition(series("waiting", [0, 1, 3, 5, 8], step=15), "queue_growing")
    assert growing.active and growing.severity == WARNING and growing.value == 8
    assert "0 -> 8 over 60s" in growing.message
    assert not condition(series("waiting", [5, 5, 5, 5]), "queue_growing").active
    assert not condition(series("waiting", [9, 7, 4, 2]), "queue_growing").active
    # a spike that came down is not growth, even though the last is above the first
    assert not condition(series("waiting", [1, 20, 2, 2, 2]), "queue_growing").active
    too_few = condition(series("waiting", [1, 5]), "queue_growing")
    assert not too_few.active and "not enough" in too_few.message
    # readings older than the window are not looked at
    old_growth = series("waiting", [0, 5, 10, 10, 10, 10, 10, 10, 10, 10], step=10)
    assert not condition(old_growth, "queue_growing").active


def test_preemptions():
    assert condition([snapshot(0, preemptions_per_s=0.2)], "preemptions").active
    assert not condition([snapshot(0, preemptions_per_s=0.0)], "preemptions").active
    unknown = condition([snapshot(0)], "preemptions")
    assert not unknown.active and unknown.value is None


@pytest.mark.parametrize(
    ("state", "active"),
    [(EndpointState.DOWN, True), (EndpointState.UP, False), (EndpointState.WARMING, False), (EndpointState.DRAINING, False)],
)
def test_endpoint_down(state, active):
    down = condition([snapshot(0, state=state, error="connection refused")], "endpoint_down")
    assert down.active is active and down.subject == TARGET and down.severity == CRITICAL
    assert down.message.startswith(f"{TARGET} is {state.value}")


def test_gpu_temperature_and_power_limit():
    gpus = (
        GpuDevice(0, temperature_c=85.0, power_w=690.0, power_limit_w=700.0),
        GpuDevice(1, temperature_c=84.9, power_w=600.0, power_limit_w=700.0),
        GpuDevice(2, temperature_c=None, power_w=600.0, power_limit_w=None),
    )
    conditions = {(c.rule, c.subject): c for c in evaluate([snapshot(0, gpus=gpus)])}
    assert conditions[("gpu_temperature", "gpu:0")].active
    assert not conditions[("gpu_temperature", "gpu:1")].active
    assert not conditions[("gpu_temperature", "gpu:2")].active
    power = conditions[("gpu_power_limit", "gpu:0")]
    assert power.active and power.threshold == pytest.approx(686.0)
    assert power.message == "gpu:0: 690 W of 700 W enforced limit (99%)"
    assert not conditions[("gpu_power_limit", "gpu:1")].active
    assert not conditions[("gpu_power_limit", "gpu:2")].active
    cooler = HealthThresholds(gpu_temp_red_c=80.0)
    assert condition([snapshot(0, gpus=gpus[1:2])], "gpu_temperature", cooler).active


def test_every_subject_gets_a_condition_and_nothing_from_nothing():
    assert evaluate([]) == []
    rules = sorted(c.rule for c in evaluate([snapshot(0, kv_cache_usage=0.1, waiting=0)]))
    assert rules == ["endpoint_down", "kv_cache_high", "preemptions", "queue_growing"]
    no_engine = EndpointScrape("vllm:http://127.0.0.1:1", "http://127.0.0.1:1", T0, EndpointState.UP)
    subjects = [c.subject for c in evaluate([HealthSnapshot(T0, (EndpointHealth(no_engine, (EngineStats(EngineKey(None, None)),)),))])]
    assert set(subjects) == {"vllm:http://127.0.0.1:1"}


def test_colour_levels():
    t = HealthThresholds()
    assert [t.level("kv_cache_usage", v) for v in (0.5, 0.85, 0.95)] == ["ok", "amber", "red"]
    assert t.level("gpu_temperature_c", 85.0) == "red"
    assert t.level("gpu_power_fraction", 0.95) == "amber"
    assert t.level("ttft_p99", 0.2) == "ok"
    assert t.level("preemptions_per_s", 0.01) == "red"
    assert t.level("kv_cache_usage", None) is None
    assert t.level("no_such_metric", 1.0) is None
