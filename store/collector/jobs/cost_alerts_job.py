"""Budget and rolling-window cost alerts inside the collector.

Every ``[budgets] interval_s`` seconds: read recent spend with a ``StoreReader`` on
the collector's own store (readers never block the writer), evaluate the budgets and
rules (``store.alerts.budgets``) at ``now``, and hand the conditions to the shared
``AlertService``, which turns crossings into ALERTS rows (through the WAL) and
webhook posts: once per crossing, however often the job runs.

The spend read covers the longest look-back any budget or rule needs: the start of
the current month, week or day, and ``window * (baseline_windows + 1)`` for rules.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from store.alerts.budgets import evaluate_cost_alerts, period_start
from store.alerts.cost_settings import CostAlertSettings
from store.alerts.engine import Condition, utc_now
from store.pricing.config import PricingConfig
from store.pricing.pricer import Pricer
from store.query.costs import CostQueries, first_span_us, spend_frame
from store.query.reader import StoreReader

log = logging.getLogger(__name__)
FIRST_RUN_DELAY_S = 5.0  # let the collector finish starting before the first read


def lookback_start(settings: CostAlertSettings, now: datetime) -> datetime:
    """The earliest moment any budget or rule of ``settings`` looks at."""
    starts = [now]
    for budget in settings.config.budgets:
        starts.append(period_start(budget.period, now, budget.timezone))
    for rule in settings.config.rules:
        windows = rule.baseline_windows + 1 if rule.above_baseline is not None else 1
        starts.append(now - rule.window * windows)
    return min(starts) - timedelta(seconds=1)


def evaluate_spend(queries: CostQueries, settings: CostAlertSettings, now: datetime) -> list[Condition]:
    """Conditions for every budget and rule at ``now`` (blocking: run it in a thread)."""
    now = now.astimezone(UTC)
    until_us = int(now.timestamp() * 1_000_000) + 1  # budgets count spend up to and including now
    since_us = int(lookback_start(settings, now).timestamp() * 1_000_000)
    spend = spend_frame(queries, since_us, until_us)
    first = first_span_us(queries.r)
    history = datetime.fromtimestamp(first / 1e6, UTC) if first is not None else None
    return evaluate_cost_alerts(spend, settings.config, now, history_start=history)


class CostAlertsJob:
    def __init__(self, store_root: Path | str, settings: CostAlertSettings, alerts: Any, pricer: Pricer,
                 now: Callable[[], datetime] = utc_now, reader: StoreReader | None = None):
        self.settings = settings
        self.alerts = alerts  # the collector's AlertService
        self.queries = CostQueries(reader or StoreReader(Path(store_root), threads=1, memory_limit="512MB"), pricer)
        self.now = now

    async def run_once(self) -> int:
        """Evaluate now; returns how many alert rows (crossings) it produced."""
        conditions = await asyncio.to_thread(evaluate_spend, self.queries, self.settings, self.now())
        return await self.alerts.evaluate(conditions, self.settings.config.rule_names)

    async def run_forever(self, first_delay_s: float = FIRST_RUN_DELAY_S) -> None:
        await asyncio.sleep(min(first_delay_s, self.settings.interval_s))
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bad read must not end alerting; the next tick tries again
                log.exception("cost alerts: evaluation failed")
            await asyncio.sleep(self.settings.interval_s)


def start(collector: Any) -> list[asyncio.Task]:
    try:
        settings = CostAlertSettings.from_section(collector.settings.budgets)
        pricer = PricingConfig.from_dict(collector.settings.pricing).pricer()
    except ValueError as e:  # ConfigError: the costs pane shows it too, in its budgets view
        log.error("cost alerts are off: %s", e)
        return []
    if not settings.enabled:
        return []
    job = CostAlertsJob(collector.settings.store, settings, collector.alerts, pricer)
    return [asyncio.get_running_loop().create_task(job.run_forever(), name="cost-alerts")]
