"""Budget and rolling-window alerts in the collector: a frozen clock, a real collector,
real ALERTS rows through its WAL, and a webhook receiver on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from store.alerts.cost_settings import CostAlertSettings
from store.alerts.engine import AlertEngine
from store.collector.jobs.cost_alerts_job import CostAlertsJob, evaluate_spend, lookback_start
from store.pricing.config import PricingConfig
from store.query import StoreReader
from store.query.costs import CostQueries
from store.segments.layout import STATE_DIR
from tests.costs.cost_stores import T0, write_store
from tests.support.collector import start_inprocess
from tests.support.stores import hexid, span

DAY2 = T0 + timedelta(days=2)  # Wednesday 2026-01-07
BUDGETS = {
    "interval_s": 3600,
    "budgets": [{"name": "daily", "period": "daily", "amount_usd": 5.0}],
    "rules": [{"name": "user-hourly", "window": "1h", "scope": "user", "above_usd": 2.0}],
}


class Receiver:
    """Records the JSON bodies POSTed to it."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                outer.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def spend(user: str, at: datetime, usd: float, n: int) -> dict:
    return span(hexid("a", n), hexid("s", n, n=16), None, "chat", at, 500, kind="llm", model="gpt-4o",
                provider="openai", user_id=user, input_tokens=10, output_tokens=10, cost_usd=usd,
                cost_source="reported")


def alert_store(store: Path) -> Path:
    rows = [spend("alice", DAY2 + timedelta(hours=9, minutes=20 + i), 1.0, i) for i in range(3)]  # $3 by 09:22
    rows.append(spend("bob", DAY2 + timedelta(hours=9, minutes=40), 0.5, 10))
    rows += [spend("carol", DAY2 + timedelta(hours=11, minutes=m), 1.0, 20 + m) for m in (10, 20)]
    return write_store(store, rows)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_lookback_covers_every_rule_and_budget():
    settings = CostAlertSettings.from_section({
        "budgets": [{"name": "m", "period": "monthly", "amount_usd": 1}],
        "rules": [{"name": "wk", "window": "7d", "above_baseline": 1.2, "baseline_windows": 4}]})
    now = DAY2 + timedelta(hours=10)
    assert lookback_start(settings, now) <= now - timedelta(days=35)


def test_conditions_at_a_frozen_time(tmp_path):
    store = alert_store(tmp_path / "store")
    settings = CostAlertSettings.from_section(BUDGETS)
    queries = CostQueries(StoreReader(store), PricingConfig.from_dict({}).pricer())
    conditions = {(c.rule, c.subject): c for c in evaluate_spend(queries, settings, DAY2 + timedelta(hours=10))}
    assert conditions[("spend:user-hourly", "user:alice")].active
    assert conditions[("spend:user-hourly", "user:alice")].value == pytest.approx(3.0)
    assert not conditions[("spend:user-hourly", "user:bob")].active
    daily = conditions[("budget:daily", "global")]
    assert daily.value == pytest.approx(3.5) and not daily.active


async def test_alerts_fire_once_per_crossing_and_reach_the_webhook(tmp_path, receiver):
    store = alert_store(tmp_path / "store")
    rc = start_inprocess(store, alerts={"webhooks": [{"url": receiver.url, "retries": 0}]})
    try:
        clock = Clock(DAY2 + timedelta(hours=10))
        service = rc.collector.alerts
        service.engine = AlertEngine(Path(store) / STATE_DIR / "alerts.json", now=clock)  # same state, frozen clock
        settings = CostAlertSettings.from_section(BUDGETS)
        job = CostAlertsJob(store, settings, service, PricingConfig.from_dict({}).pricer(), now=clock)

        assert await job.run_once() == 1  # alice: $3 in the last hour, above $2
        clock.now += timedelta(minutes=1)
        assert await job.run_once() == 0  # still above: no second alert
        assert rc.stats()["alerts_firing"] == 1
        clock.now = DAY2 + timedelta(hours=11)
        assert await job.run_once() == 1  # alice's hour is over: resolved
        clock.now = DAY2 + timedelta(hours=11, minutes=30)
        assert await job.run_once() == 1  # carol's $2 takes the day to $5.50 of $5: critical
        assert await job.run_once() == 0

        sent = [(b["rule"], b["subject"], b["state"], b["severity"]) for b in receiver.bodies]
        assert sent == [("spend:user-hourly", "user:alice", "firing", "warning"),
                        ("spend:user-hourly", "user:alice", "resolved", "warning"),
                        ("budget:daily", "global", "firing", "critical")]
        assert receiver.bodies[0]["text"].startswith("[WARNING] spend:user-hourly user:alice")

        reader = StoreReader(store)
        deadline = time.monotonic() + 10
        while True:
            rows = reader.query(f"SELECT time, rule, state FROM {reader.scan('alerts')} ORDER BY time, state")
            if rows.height >= 3 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert [(r[1], r[2]) for r in rows.rows()] == [("spend:user-hourly", "firing"),
                                                       ("spend:user-hourly", "resolved"), ("budget:daily", "firing")]
        assert rows.item(0, "time") == DAY2 + timedelta(hours=10)
        assert rc.stats()["alerts_firing"] == 1
    finally:
        rc.stop()


def test_the_collector_runs_the_job_on_its_own(tmp_path, receiver):
    now = datetime.now(T0.tzinfo)
    store = write_store(tmp_path / "store", [spend("dave", now - timedelta(minutes=5), 3.0, 1)])
    budgets = {"interval_s": 0.2, "rules": [{"name": "hot", "window": "1h", "scope": "user", "above_usd": 1.0}]}
    rc = start_inprocess(store, budgets=budgets, alerts={"webhooks": [{"url": receiver.url, "retries": 0}]})
    try:
        deadline = time.monotonic() + 15
        while rc.stats()["alerts_firing"] < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert rc.stats()["alerts_firing"] == 1
        time.sleep(0.6)  # a few more ticks: still one alert
        assert [b["subject"] for b in receiver.bodies] == ["user:dave"]
    finally:
        rc.stop()


def test_a_bad_budgets_section_turns_alerts_off_loudly(tmp_path, caplog):
    rc = start_inprocess(tmp_path / "store", budgets={"budgets": [{"name": "x"}]})
    try:
        httpx.get(rc.url + "/healthz")
    finally:
        rc.stop()
    assert "cost alerts are off" in caplog.text and "budgets.budgets[0]" in caplog.text
