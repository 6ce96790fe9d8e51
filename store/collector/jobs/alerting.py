"""The one alert log: evaluators hand in level conditions, the engine turns
crossings into ALERTS rows (written through the WAL like everything else) and
webhook deliveries. Cost budgets and health rules share it."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, Iterable

from store.alerts.engine import AlertEngine, Condition, alerts_table
from store.alerts.webhook import WebhookTarget, deliver_async
from store.segments.layout import STATE_DIR

log = logging.getLogger(__name__)


class AlertService:
    def __init__(self, store_root: Path, alerts_config: dict[str, Any], submit: Any):
        state = Path(store_root) / STATE_DIR / "alerts.json"
        state.parent.mkdir(parents=True, exist_ok=True)
        self.engine = AlertEngine(state)
        self.targets = [WebhookTarget.from_dict(w, f"alerts.webhooks[{i}]")
                        for i, w in enumerate((alerts_config or {}).get("webhooks", []))]
        self._submit = submit  # (table name, arrow table) -> None, durable via the WAL
        self._lock = asyncio.Lock()

    async def evaluate(self, conditions: Iterable[Condition], rules: Iterable[str]) -> int:
        async with self._lock:  # one evaluator at a time: the engine's state is not shared-safe
            alerts = self.engine.evaluate(list(conditions), complete_rules=list(rules))
        if not alerts:
            return 0
        self._submit("alerts", alerts_table(alerts))
        if self.targets:
            results = await deliver_async(alerts, self.targets)
            for r in results:
                if not getattr(r, "ok", True):
                    log.warning("alert webhook delivery failed: %s", r)
        return len(alerts)

    @property
    def firing(self) -> int:
        return len(self.engine.firing())
