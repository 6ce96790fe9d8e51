"""One health check, as a JSON-ready document and an exit code, for scripts and CI
(``llmops-console health --once --json``).

``check(config, rates_s)`` scrapes every configured endpoint and reads the GPUs
once; with ``rates_s`` > 0 it scrapes a second time that many seconds later, so
rates and p50/p90/p99 over that window are filled (otherwise they are null).
Rules that need a longer history (KV cache high for a minute, a growing queue)
cannot fire from one check; endpoint down, preemptions (with ``rates_s``), GPU
temperature and power can.

Exit codes (``verdict``):

- 0 ``healthy``: no endpoint down and no rule active. A machine without a GPU is healthy.
- 1 ``unhealthy``: an endpoint is down, or a rule is active.
- 3 ``not_ready``: nothing down and no rule active, but an endpoint is warming
  up or draining (a CI job waiting for a server can loop on 3).
- (2 is the command line's own: a usage or configuration error.)
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from datetime import datetime
from typing import Any, Callable, Mapping

from store.health.aggregate import merge_engines
from store.health.config import HealthConfig
from store.health.gpu import GpuReading, GpuSource
from store.health.poller import HealthPoller, HealthSnapshot
from store.health.rules import evaluate
from store.health.vllm import EngineStats, derive

__all__ = ["check", "verdict", "EXIT_HEALTHY", "EXIT_UNHEALTHY", "EXIT_NOT_READY"]

EXIT_HEALTHY, EXIT_UNHEALTHY, EXIT_NOT_READY = 0, 1, 3


async def check(
    config: HealthConfig,
    rates_s: float = 0.0,
    *,
    gpu_source: GpuSource | None | str = "config",
    clock: Callable[[], datetime] | None = None,
) -> dict[str, Any]:
    source = config.gpu_source(clock) if gpu_source == "config" else gpu_source
    async with HealthPoller(config.vllm, source, timeout=config.timeout, history_s=3600.0, clock=clock) as poller:  # type: ignore[arg-type]
        first = await poller.poll_once()
        last = first
        if rates_s > 0:
            await asyncio.sleep(rates_s)
            last = await poller.poll_once()
        conditions = evaluate(poller.history, config.thresholds)
    doc: dict[str, Any] = {
        "time": last.time.isoformat(),
        "window_s": (last.time - first.time).total_seconds() if rates_s > 0 else None,
        "endpoints": [_endpoint(first, last, e.target) for e in last.endpoints],
        "gpu": _gpu(last.gpu),
        "conditions": [asdict(c) for c in conditions],
    }
    status, code = verdict(doc)
    doc["status"], doc["exit_code"] = status, code
    return doc


def verdict(doc: Mapping[str, Any]) -> tuple[str, int]:
    """(status, exit code) of a check document (see the module doc)."""
    states = [e["state"] for e in doc.get("endpoints", [])]
    if "down" in states or any(c["active"] for c in doc.get("conditions", [])):
        return "unhealthy", EXIT_UNHEALTHY
    if any(s in ("warming", "draining") for s in states):
        return "not_ready", EXIT_NOT_READY
    return "healthy", EXIT_HEALTHY


def _endpoint(first: HealthSnapshot, last: HealthSnapshot, target: str) -> dict[str, Any]:
    endpoint = last.endpoint(target)
    assert endpoint is not None
    scrape = endpoint.scrape
    total = None
    if scrape.vllm is not None and not scrape.vllm.empty:
        before = first.endpoint(target)
        merged_before = None
        if before is not None and before is not endpoint and before.scrape.vllm is not None:
            merged_before = merge_engines(before.scrape.vllm)
        dt = (last.time - first.time).total_seconds() if merged_before is not None else None
        stats = derive(merged_before, merge_engines(scrape.vllm), dt)
        total = _stats(stats[0]) if stats else None
    return {
        "url": scrape.base_url,
        "target": target,
        "state": scrape.state.value,
        "error": scrape.error,
        "http_health_status": scrape.health_status,
        "scrape_ms": None if scrape.duration_s is None else round(scrape.duration_s * 1000, 1),
        "models": [{"id": m.id, "max_model_len": m.max_model_len} for m in scrape.models],
        "deprecated_metric_names": list(scrape.vllm.deprecated_names) if scrape.vllm else [],
        "total": total,
        "engines": [_stats(s) | {"model_name": s.key.model_name, "engine": s.key.engine} for s in endpoint.stats],
    }


def _stats(s: EngineStats) -> dict[str, Any]:
    return {
        "running": s.running,
        "waiting": s.waiting,
        "kv_cache_usage": s.kv_cache_usage,
        "prompt_tokens_per_s": s.prompt_tokens_per_s,
        "generation_tokens_per_s": s.generation_tokens_per_s,
        "requests_per_s": s.requests_per_s,
        "request_success_per_s": dict(s.request_success_per_s),
        "preemptions_per_s": s.preemptions_per_s,
        "prefix_cache_hit_rate": s.prefix_cache_hit_rate,
        "latency_s": {name: asdict(summary) for name, summary in s.latency.items()},
        "counter_reset": s.counter_reset,
    }


def _gpu(reading: GpuReading | None) -> dict[str, Any] | None:
    if reading is None:
        return None
    return {
        "source": reading.source,
        "host": reading.host,
        "available": reading.available,
        "reason": reading.reason,
        "driver_version": reading.driver_version,
        "devices": [
            asdict(d) | {"mem_fraction": d.mem_fraction, "power_fraction": d.power_fraction} for d in reading.devices
        ],
    }

