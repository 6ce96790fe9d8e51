"""Budgets and rolling spend rules over a spend frame, with a frozen clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from store.alerts.budgets import Budget, CostAlertConfig, SpendRule, evaluate_budgets, evaluate_cost_alerts, evaluate_rules, period_start
from store.alerts.engine import AlertEngine
from store.pricing.validation import ConfigError

NOW = datetime(2025, 3, 20, 15, 0, tzinfo=UTC)  # a Thursday
SCHEMA = {
    "time": pl.Datetime("us", "UTC"),
    "cost_usd": pl.Float64,
    "user_id": pl.String,
    "model": pl.String,
    "service": pl.String,
    "tags": pl.List(pl.String),
}


def spend(*rows) -> pl.DataFrame:
    """rows: (time, cost, user, model, service, tags), trailing fields optional."""
    padded = [tuple(row) + (None,) * (6 - len(row)) for row in rows]
    return pl.DataFrame(padded, schema=SCHEMA, orient="row")


def ago(**kwargs) -> datetime:
    return NOW - timedelta(**kwargs)


def by_subject(conditions):
    return {c.subject: c for c in conditions}


def test_monthly_global_budget_warns_then_goes_critical():
    frame = spend(
        (datetime(2025, 3, 1, 0, 0, tzinfo=UTC), 40.0),  # first instant of the month counts
        (ago(days=2), 45.0),
        (datetime(2025, 2, 28, 23, 59, tzinfo=UTC), 50.0),  # last month
        (ago(hours=1), None),  # unpriced: not spend
    )
    budget = Budget("all", "monthly", 100.0)
    [condition] = evaluate_budgets(frame, [budget], NOW)
    assert (condition.rule, condition.subject, condition.active, condition.severity) == ("budget:all", "global", True, "warning")
    assert (condition.value, condition.threshold) == (85.0, 100.0)
    assert condition.message == "budget 'all' (global): $85.00 of $100.00 this month (85%)"
    # 85 spent in 19 days 15 hours of a 31-day month
    assert condition.details["forecast_usd"] == pytest.approx(85.0 * 31 * 24 / (19 * 24 + 15))
    [over] = evaluate_budgets(frame.vstack(spend((ago(minutes=5), 20.0))), [budget], NOW)
    assert (over.active, over.severity, over.value) == (True, "critical", 105.0)
    [quiet] = evaluate_budgets(spend(), [budget], NOW)
    assert (quiet.active, quiet.value) == (False, 0.0)  # a global budget always reports


def test_daily_budget_for_each_user():
    frame = spend(
        (ago(hours=2), 7.0, "alice"),
        (ago(hours=1), 5.0, "alice"),
        (ago(hours=3), 5.0, "bob"),
        (ago(days=1), 99.0, "carol"),  # yesterday
        (ago(hours=1), 50.0, None),  # no user: not any user's spend
    )
    conditions = by_subject(evaluate_budgets(frame, [Budget("per-user", "daily", 10.0, scope="user")], NOW))
    assert set(conditions) == {"user:alice", "user:bob"}
    assert (conditions["user:alice"].active, conditions["user:alice"].severity) == (True, "critical")
    assert conditions["user:bob"].active is False


def test_weekly_tag_budget_and_single_subject_scopes():
    frame = spend(
        (datetime(2025, 3, 17, 0, 30, tzinfo=UTC), 30.0, "u", "gpt-4o", "chat", ["team-a", "prod"]),  # Monday
        (datetime(2025, 3, 16, 23, 0, tzinfo=UTC), 30.0, "u", "gpt-4o", "chat", ["team-a"]),  # Sunday: last week
        (ago(hours=1), 15.0, "u", "claude-sonnet-4-5", "rag", ["team-b"]),
    )
    budgets = [
        Budget("team-a", "weekly", 25.0, scope="tag", subject="team-a"),
        Budget("tags", "weekly", 1000.0, scope="tag"),
        Budget("gpt", "weekly", 100.0, scope="model", subject="gpt-4o"),
        Budget("nobody", "weekly", 5.0, scope="user", subject="zed"),
    ]
    conditions = {(c.rule, c.subject): c for c in evaluate_budgets(frame, budgets, NOW)}
    assert conditions["budget:team-a", "tag:team-a"].value == 30.0
    assert conditions["budget:team-a", "tag:team-a"].active
    assert {s for r, s in conditions if r == "budget:tags"} == {"tag:team-a", "tag:prod", "tag:team-b"}
    assert conditions["budget:gpt", "model:gpt-4o"].value == 30.0
    assert conditions["budget:nobody", "user:zed"].value == 0.0  # a named subject always reports


def test_period_starts_follow_the_budget_time_zone():
    assert period_start("daily", NOW) == datetime(2025, 3, 20, tzinfo=UTC)
    assert period_start("weekly", NOW) == datetime(2025, 3, 17, tzinfo=UTC)
    assert period_start("monthly", NOW) == datetime(2025, 3, 1, tzinfo=UTC)
    # 15:00 UTC is 11:00 EDT (UTC-4 since March 9): the New York day began at 04:00 UTC
    assert period_start("daily", NOW, "America/New_York") == datetime(2025, 3, 20, 4, tzinfo=UTC)
    # the New York month began before the DST change, at 05:00 UTC
    assert period_start("monthly", NOW, "America/New_York") == datetime(2025, 3, 1, 5, tzinfo=UTC)
    frame = spend((datetime(2025, 3, 20, 3, 0, tzinfo=UTC), 50.0), (ago(hours=1), 1.0))
    [condition] = evaluate_budgets(frame, [Budget("ny", "daily", 10.0, timezone="America/New_York")], NOW)
    assert condition.value == 1.0


def test_user_spent_more_than_y_in_the_last_hour():
    frame = spend(
        (ago(minutes=30), 6.0, "alice"),
        (ago(minutes=50), 5.0, "alice"),
        (ago(minutes=70), 7.0, "alice"),  # outside the hour
        (ago(minutes=10), 3.0, "bob"),
    )
    one_user = SpendRule("alice-hourly", timedelta(hours=1), scope="user", subject="alice", above_usd=10.0)
    each_user = SpendRule("hourly", timedelta(hours=1), scope="user", above_usd=10.0)
    conditions = {(c.rule, c.subject): c for c in evaluate_rules(frame, [one_user, each_user], NOW)}
    alice = conditions["spend:alice-hourly", "user:alice"]
    assert (alice.active, alice.value, alice.threshold) == (True, 11.0, 10.0)
    assert alice.message == "'alice-hourly' (user:alice): $11.00 in the last 1h (limit $10.00)"
    assert conditions["spend:hourly", "user:alice"].active
    assert conditions["spend:hourly", "user:bob"].active is False


def weekly_history(current: float, weeks: int = 4, per_week: float = 100.0):
    """``per_week`` in each of the ``weeks`` windows before this one, history starting with the oldest."""
    rows = [(ago(days=7 * k + 3), per_week) for k in range(1, weeks + 1)]
    return spend((ago(days=7 * (weeks + 1)), 0.0), *rows, (ago(days=1), current))


def test_this_week_above_120_percent_of_the_four_week_baseline():
    rule = SpendRule("surge", timedelta(days=7), above_baseline=1.2, baseline_windows=4)
    [hot] = evaluate_rules(weekly_history(130.0), [rule], NOW)
    assert (hot.active, hot.value, hot.threshold) == (True, 130.0, pytest.approx(120.0))
    assert hot.details["baseline_usd"] == pytest.approx(100.0) and hot.details["baseline_windows"] == 4
    assert "130% of the 4-window baseline $100.00 (limit 120%)" in hot.message
    [calm] = evaluate_rules(weekly_history(110.0), [rule], NOW)
    assert calm.active is False


def test_baseline_only_counts_windows_the_history_covers():
    rule = SpendRule("surge", timedelta(days=7), above_baseline=1.2, baseline_windows=4)
    # 15 days of history: only the window (now-14d, now-7d] is covered
    frame = spend((ago(days=15), 0.0), (ago(days=10), 50.0), (ago(days=1), 70.0))
    [condition] = evaluate_rules(frame, [rule], NOW)
    assert (condition.details["baseline_windows"], condition.threshold, condition.active) == (1, pytest.approx(60.0), True)
    # 3 days of history: no baseline, no alert
    [young] = evaluate_rules(spend((ago(days=3), 500.0)), [rule], NOW)
    assert (young.active, young.threshold) == (False, None)
    assert young.message.endswith("no baseline yet")
    # unless the caller knows the history is older (spend was simply zero)
    [known] = evaluate_rules(spend((ago(days=3), 500.0)), [rule], NOW, history_start=ago(days=60))
    assert known.active and known.details["baseline_usd"] == 0.0


def test_per_user_baseline_with_min_usd_for_new_users():
    rule = SpendRule("user-surge", timedelta(days=1), scope="user", above_baseline=2.0, baseline_windows=3, min_usd=20.0)
    history = [(ago(days=d, hours=1), 10.0, "alice") for d in (1, 2, 3)]
    frame = spend((ago(days=5), 0.0), *history, (ago(hours=2), 25.0, "alice"), (ago(hours=2), 5.0, "bob"))
    conditions = by_subject(evaluate_rules(frame, [rule], NOW))
    assert conditions["user:alice"].active and conditions["user:alice"].threshold == pytest.approx(20.0)
    assert conditions["user:bob"].active is False  # new, but below min_usd
    frame = frame.vstack(spend((ago(hours=1), 30.0, "bob")))
    assert by_subject(evaluate_rules(frame, [rule], NOW))["user:bob"].active


def test_budget_alerts_fire_once_through_the_engine(tmp_path):
    config = CostAlertConfig.from_dict(
        {
            "budgets": [{"name": "per-user", "period": "daily", "amount_usd": 10, "scope": "user"}],
            "rules": [{"name": "hourly", "window": "1h", "above_usd": 5}],
        }
    )
    clock = [NOW]
    engine = AlertEngine(tmp_path / "alerts.json", now=lambda: clock[0])
    frame = spend((ago(minutes=30), 9.0, "alice"))
    fired = engine.evaluate(evaluate_cost_alerts(frame, config, clock[0]), complete_rules=config.rule_names)
    assert [(a.rule, a.subject, a.severity) for a in fired] == [("budget:per-user", "user:alice", "warning"), ("spend:hourly", "global", "warning")]
    clock[0] += timedelta(minutes=10)
    assert engine.evaluate(evaluate_cost_alerts(frame, config, clock[0]), complete_rules=config.rule_names) == []
    # the next day: alice's budget resets (she has no spend today, so she is absent) and the hour has passed
    clock[0] = NOW + timedelta(days=1)
    resolved = engine.evaluate(evaluate_cost_alerts(frame, config, clock[0]), complete_rules=config.rule_names)
    assert sorted((a.rule, a.state) for a in resolved) == [("budget:per-user", "resolved"), ("spend:hourly", "resolved")]


def test_lazy_frames_are_accepted():
    [condition] = evaluate_budgets(spend((ago(hours=1), 3.0)).lazy(), [Budget("b", "daily", 10.0)], NOW)
    assert condition.value == 3.0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"budgets": [{"name": "b", "period": "yearly", "amount_usd": 5}]}, r"cost_alerts.budgets\[0\].period: expected one of daily, weekly, monthly, got 'yearly'"),
        ({"budgets": [{"name": "b", "period": "daily"}]}, r"cost_alerts.budgets\[0\].amount_usd: required"),
        ({"budgets": [{"name": "b", "period": "daily", "amount_usd": 0}]}, r"amount_usd: must be > 0"),
        ({"budgets": [{"name": "b", "period": "daily", "amount_usd": 5, "warn_at": 80}]}, r"warn_at: a fraction of the amount, at most 1"),
        ({"budgets": [{"name": "b", "period": "daily", "amount_usd": 5, "scope": "team"}]}, r"scope: expected one of global, user"),
        ({"budgets": [{"name": "b", "period": "daily", "amount_usd": 5, "subject": "alice"}]}, r"subject: a global scope has no subject"),
        ({"budgets": [{"name": "b", "period": "daily", "amount_usd": 5, "timezone": "Mars/Olympus"}]}, r"timezone: unknown time zone 'Mars/Olympus'"),
        ({"rules": [{"name": "r", "window": "1h"}]}, r"cost_alerts.rules\[0\]: give exactly one of above_usd"),
        ({"rules": [{"name": "r", "window": "1h", "above_usd": 1, "above_baseline": 1.2}]}, r"give exactly one of"),
        ({"rules": [{"name": "r", "window": "an hour", "above_usd": 1}]}, r"cost_alerts.rules\[0\].window: expected a duration"),
        ({"rules": [{"name": "r", "window": "1h", "above_usd": 1, "severity": "loud"}]}, r"severity: expected one of info, warning, critical"),
        ({"rules": [{"name": "r", "window": "7d", "above_baseline": 1.2, "baseline_windows": 0}]}, r"baseline_windows: must be >= 1"),
        ({"budgets": [{"name": "x", "period": "daily", "amount_usd": 5}], "rules": [{"name": "x", "window": "1h", "above_usd": 1}]}, r"the name 'x' is used twice"),
        ({"budget": []}, r"cost_alerts: unknown field\(s\) 'budget'"),
    ],
)
def test_config_errors_name_the_field(data, message):
    with pytest.raises(ConfigError, match=message):
        CostAlertConfig.from_dict(data)


def test_config_from_dict():
    config = CostAlertConfig.from_dict(
        {
            "budgets": [{"name": "team-a", "period": "monthly", "amount_usd": 500, "scope": "tag", "subject": "team-a", "warn_at": 0.9}],
            "rules": [{"name": "surge", "window": "7d", "above_baseline": 1.2, "min_usd": 50}],
        }
    )
    assert config.budgets[0] == Budget("team-a", "monthly", 500.0, "tag", "team-a", 0.9)
    assert config.rules[0].window == timedelta(days=7) and config.rules[0].baseline_windows == 4
    assert config.rule_names == ["budget:team-a", "spend:surge"]
    assert CostAlertConfig.from_dict(None) == CostAlertConfig()
