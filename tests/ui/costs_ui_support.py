"""Driving the costs pane in tests: a store with three days of traffic (tests/costs),
budgets and a few alert rows, a frozen clock, and an app opened on the pane."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa

from console.app import ConsoleApp
from store.alerts.engine import Alert, alerts_table
from store.segments.writer import SegmentWriter
from tests.costs.cost_stores import PRICING, T0, cost_store
from tests.ui.conftest import make_app, settle

NOW = T0 + timedelta(days=2, hours=23)  # 2026-01-07 23:00 UTC, the third day almost over
SIZE = (120, 40)
BUDGETS = {
    "budgets": [{"name": "daily-total", "period": "daily", "amount_usd": 0.05},
                {"name": "per-user-weekly", "period": "weekly", "scope": "user", "amount_usd": 1.0}],
    "rules": [{"name": "user-hourly", "window": "1h", "scope": "user", "above_usd": 0.002}],
}


def alert_rows() -> pa.Table:
    def alert(i: int, when: datetime, state: str, rule: str, subject: str, message: str) -> Alert:
        return Alert(f"a{i}", when, rule, "cost", "warning", state, subject, message, 0.06, 0.05, {})

    return alerts_table([
        alert(1, T0 + timedelta(days=1, hours=20), "firing", "budget:daily-total", "global",
              "budget 'daily-total' (global): $0.04 of $0.05 today (80%)"),
        alert(1, T0 + timedelta(days=2), "resolved", "budget:daily-total", "global",
              "budget 'daily-total' (global): $0.00 of $0.05 today (0%)"),
        alert(2, T0 + timedelta(days=2, hours=22), "firing", "spend:user-hourly", "user:bob",
              "'user-hourly' (user:bob): $0.01 in the last 1h (limit $0.00)"),
    ])


def costs_store(root: Path) -> Path:
    cost_store(root)
    SegmentWriter(root).append({"alerts": alert_rows()})
    return root


def costs_app(store: Path, theme: str = "llmops-dark", budgets: dict | None = None) -> ConsoleApp:
    return make_app(store, theme, pricing=PRICING, budgets=BUDGETS if budgets is None else budgets)


async def open_costs(pilot) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("3")
    await settle(pilot, pilot.app)
    await settle(pilot, pilot.app)
