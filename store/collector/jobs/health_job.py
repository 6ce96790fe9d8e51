"""Health scraping inside the collector, so history exists while no console is open.

Every ``[health] interval`` seconds (default 10) a ``HealthPoller`` scrapes the
configured vLLM endpoints and reads the configured GPU source; the poll's rows
go to ``health_samples`` through the WAL (``collector._submit_table``) and the
health rules go to the shared ``AlertService`` as ``health:<rule>`` conditions
of kind ``health`` (so they share the alert log and webhooks with cost alerts).

A poll that has nothing to say (no endpoints, and no GPU now or at the previous
poll) writes nothing: a laptop without a driver does not fill its store with
"no GPU" rows, yet the moment a GPU is lost is recorded.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from typing import Any, Callable, Iterable

from store.alerts.engine import Condition as AlertCondition
from store.health.config import HealthConfig, HealthConfigError
from store.health.gpu import GpuSource
from store.health.poller import HealthPoller, HealthSnapshot
from store.health.rules import Condition, evaluate
from store.health.samples import rows_to_table, snapshot_rows

log = logging.getLogger(__name__)

RULES = ("endpoint_down", "kv_cache_high", "queue_growing", "preemptions", "gpu_temperature", "gpu_power_limit")
RULE_PREFIX = "health:"
ALERT_RULES = tuple(RULE_PREFIX + rule for rule in RULES)


def alert_conditions(conditions: Iterable[Condition]) -> list[AlertCondition]:
    """Health rule conditions as the alert engine's conditions."""
    return [
        AlertCondition(
            RULE_PREFIX + c.rule, c.subject, c.active, c.severity, c.value, c.threshold, c.message, "health",
            {"rule": c.rule},
        )
        for c in conditions
    ]


class HealthJob:
    """One collector's health scraping. ``poll_once`` is the unit (tests drive it);
    ``run`` repeats it every ``interval``."""

    def __init__(
        self,
        collector: Any,
        config: HealthConfig,
        *,
        gpu_source: GpuSource | None | str = "config",
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.collector = collector
        self.config = config
        source = config.gpu_source(clock) if gpu_source == "config" else gpu_source
        thresholds = config.thresholds
        history_s = max(thresholds.kv_cache_sustain_s, thresholds.queue_window_s) + 3 * config.interval
        self.poller = HealthPoller(
            config.vllm, source, config.interval, timeout=config.timeout, history_s=history_s, clock=clock  # type: ignore[arg-type]
        )
        self._gpu_was_available = False
        self.polls = 0
        self.rows_written = 0

    async def poll_once(self) -> HealthSnapshot:
        snapshot = await self.poller.poll_once()
        rows = snapshot_rows(snapshot) if self._worth_storing(snapshot) else []
        if rows:
            self.collector._submit_table("health_samples", rows_to_table(rows))
            self.rows_written += len(rows)
        conditions = evaluate(self.poller.history, self.config.thresholds)
        await self.collector.alerts.evaluate(alert_conditions(conditions), ALERT_RULES)
        self.polls += 1
        return snapshot

    def _worth_storing(self, snapshot: HealthSnapshot) -> bool:
        available = snapshot.gpu is not None and snapshot.gpu.available
        worth = bool(snapshot.endpoints) or available or self._gpu_was_available
        self._gpu_was_available = available
        return worth

    async def run(self) -> None:
        try:
            while True:
                started = time.monotonic()
                try:
                    await self.poll_once()
                except asyncio.CancelledError:
                    raise
                except Exception:  # one bad poll must not end the history
                    log.exception("health poll failed; next one in %.0fs", self.config.interval)
                await asyncio.sleep(max(0.0, self.config.interval - (time.monotonic() - started)))
        finally:
            await self.poller.aclose()


def start(collector: Any) -> list[asyncio.Task]:
    try:
        config = HealthConfig.from_dict(collector.settings.health)
    except HealthConfigError as e:
        log.error("health scraping is off: %s", e)
        return []
    if not config.watches_anything:
        return []
    job = HealthJob(collector, config)
    collector.health_job = job
    return [asyncio.get_running_loop().create_task(job.run(), name="llmops-health-job")]
