"""Cost budgets and rolling spend rules, evaluated into alert ``Condition``s.

Pure functions over a polars frame of spend with columns ``time`` (UTC datetime),
``cost_usd``, ``user_id``, ``model``, ``service`` and ``tags`` (list of strings),
at an injected ``now``. Rows with a null cost are not spend (unknown is not $0,
but it is not a number to add either; the cost view shows unpriced calls).

Scopes: ``global``, or one of ``user``, ``tag``, ``model``, ``service`` with a
``subject`` (that one user, tag, ...) or without (each one separately: the
condition's subject is then every user, tag, ... seen in the window).
Condition subjects read ``global`` or ``<scope>:<value>`` (``user:alice``).

* ``Budget``: spend in the current calendar period (day, ISO week from Monday,
  month; in the budget's time zone) against an amount. Active from ``warn_at`` of
  the amount (severity warning), critical from the full amount. A new period
  starts at zero, so the alert resolves at the period boundary.
* ``SpendRule``: spend in the rolling window ``(now - window, now]`` against a
  fixed ``above_usd`` ("user X spent > $Y in the last hour"), or against
  ``above_baseline`` times the mean of the ``baseline_windows`` windows before it
  ("this week > 120% of the 4-week baseline"). Baseline windows that start before
  the spend history does (``history_start``, by default the frame's first row) are
  left out rather than counted as zero; with none left the rule stays quiet.
  ``min_usd`` keeps tiny amounts (and subjects with no history) from firing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from store.alerts.engine import SEVERITIES, Condition
from store.pricing.validation import (
    fail,
    fields_of,
    get_choice,
    get_duration,
    get_list,
    get_number,
    get_str,
)

Period = Literal["daily", "weekly", "monthly"]
Scope = Literal["global", "user", "tag", "model", "service"]
PERIODS: tuple[str, ...] = ("daily", "weekly", "monthly")
SCOPES: tuple[str, ...] = ("global", "user", "tag", "model", "service")
_SCOPE_COLUMN = {"user": "user_id", "tag": "tags", "model": "model", "service": "service"}
_PERIOD_WORD = {"daily": "today", "weekly": "this week", "monthly": "this month"}


@dataclass(frozen=True)
class Budget:
    """A spending cap per calendar period."""

    name: str  # unique among budgets and rules; the alert rule is "budget:<name>"
    period: Period  # daily, weekly (from Monday) or monthly
    amount_usd: float  # the cap, > 0
    scope: Scope = "global"  # global, user, tag, model or service
    subject: str | None = None  # the user/tag/model/service; None: each one has its own cap
    warn_at: float = 0.8  # fraction of the cap where a warning fires; critical at 1.0
    timezone: str = "UTC"  # IANA zone in which days, weeks and months start

    @property
    def rule(self) -> str:
        return f"budget:{self.name}"

    @classmethod
    def from_dict(cls, data: Any, path: str) -> Budget:
        data = fields_of(cls, data, path)
        scope, subject = _scope_fields(data, path)
        warn_at = get_number(data, "warn_at", path, 0.8, positive=True)
        if warn_at > 1:
            fail(f"{path}.warn_at", f"a fraction of the amount, at most 1, got {warn_at!r}")
        timezone = get_str(data, "timezone", path, "UTC")
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            fail(f"{path}.timezone", f"unknown time zone {timezone!r} (use an IANA name like 'Europe/Paris')")
        return cls(
            name=get_str(data, "name", path),
            period=get_choice(data, "period", path, PERIODS),
            amount_usd=float(get_number(data, "amount_usd", path, positive=True)),
            scope=scope,
            subject=subject,
            warn_at=float(warn_at),
            timezone=timezone,
        )


@dataclass(frozen=True)
class SpendRule:
    """Spend over a rolling window, against a fixed amount or its own recent past."""

    name: str  # unique among budgets and rules; the alert rule is "spend:<name>"
    window: timedelta  # rolling window ending now: 1h, 1d, 7d ...
    scope: Scope = "global"
    subject: str | None = None  # None with a non-global scope: each user/tag/... separately
    above_usd: float | None = None  # fire when spend in the window exceeds this (give this or above_baseline)
    above_baseline: float | None = None  # fire above this multiple of the baseline: 1.2 = 120%
    baseline_windows: int = 4  # how many earlier windows the baseline averages
    min_usd: float = 0.0  # never fire below this spend (noise, and new subjects with no baseline)
    severity: str = "warning"

    @property
    def rule(self) -> str:
        return f"spend:{self.name}"

    @classmethod
    def from_dict(cls, data: Any, path: str) -> SpendRule:
        data = fields_of(cls, data, path)
        scope, subject = _scope_fields(data, path)
        above_usd = get_number(data, "above_usd", path, None, positive=True)
        above_baseline = get_number(data, "above_baseline", path, None, positive=True)
        if (above_usd is None) == (above_baseline is None):
            fail(path, "give exactly one of above_usd (a fixed amount) or above_baseline (a multiple of the baseline)")
        baseline_windows = get_number(data, "baseline_windows", path, 4, minimum=1)
        if not isinstance(baseline_windows, int):
            fail(f"{path}.baseline_windows", f"expected a whole number, got {baseline_windows!r}")
        return cls(
            name=get_str(data, "name", path),
            window=get_duration(data, "window", path),
            scope=scope,
            subject=subject,
            above_usd=None if above_usd is None else float(above_usd),
            above_baseline=None if above_baseline is None else float(above_baseline),
            baseline_windows=baseline_windows,
            min_usd=float(get_number(data, "min_usd", path, 0.0, minimum=0)),
            severity=get_choice(data, "severity", path, SEVERITIES, "warning"),
        )


@dataclass(frozen=True)
class CostAlertConfig:
    budgets: tuple[Budget, ...] = ()
    rules: tuple[SpendRule, ...] = ()

    @property
    def rule_names(self) -> list[str]:
        """Every alert rule this config evaluates (``AlertEngine.evaluate(complete_rules=...)``)."""
        return [b.rule for b in self.budgets] + [r.rule for r in self.rules]

    @classmethod
    def from_dict(cls, data: Any, path: str = "cost_alerts") -> CostAlertConfig:
        """``{"budgets": [{...}, ...], "rules": [{...}, ...]}``"""
        data = fields_of(cls, data or {}, path)
        budgets = tuple(
            Budget.from_dict(item, f"{path}.budgets[{i}]") for i, item in enumerate(get_list(data, "budgets", path))
        )
        rules = tuple(
            SpendRule.from_dict(item, f"{path}.rules[{i}]") for i, item in enumerate(get_list(data, "rules", path))
        )
        seen: set[str] = set()
        for name in [b.name for b in budgets] + [r.name for r in rules]:
            if name in seen:
                fail(path, f"the name {name!r} is used twice; budget and rule names must be unique")
            seen.add(name)
        return cls(budgets, rules)


def _scope_fields(data: Any, path: str) -> tuple[Any, Any]:
    scope = get_choice(data, "scope", path, SCOPES, "global")
    subject = get_str(data, "subject", path, None)
    if scope == "global" and subject is not None:
        fail(f"{path}.subject", "a global scope has no subject; set scope to user, tag, model or service")
    return scope, subject


# ---- evaluation ---------------------------------------------------------------------------


def evaluate_cost_alerts(
    spend: pl.DataFrame | pl.LazyFrame, config: CostAlertConfig, now: datetime, *, history_start: datetime | None = None
) -> list[Condition]:
    budgets = evaluate_budgets(spend, config.budgets, now)
    return budgets + evaluate_rules(spend, config.rules, now, history_start=history_start)


def period_start(period: Period, now: datetime, timezone: str = "UTC") -> datetime:
    """Start of the calendar day, ISO week or month that contains ``now``, in UTC."""
    local = now.astimezone(ZoneInfo(timezone))
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "weekly":
        start -= timedelta(days=start.weekday())
    elif period == "monthly":
        start = start.replace(day=1)
    # rebuild in the zone so a DST change inside the week or month is honoured
    return start.replace(tzinfo=None).replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def evaluate_budgets(spend: pl.DataFrame | pl.LazyFrame, budgets: Iterable[Budget], now: datetime) -> list[Condition]:
    now = now.astimezone(UTC)
    conditions: list[Condition] = []
    for budget in budgets:
        start = period_start(budget.period, now, budget.timezone)
        totals = _spend_by_subject(spend, budget.scope, budget.subject, start, now)
        elapsed = (now - start).total_seconds()
        period_seconds = (_next_period_start(budget.period, start, budget.timezone) - start).total_seconds()
        for subject, amount in totals.items():
            fraction = amount / budget.amount_usd
            severity = "critical" if fraction >= 1 else "warning"
            forecast = amount * period_seconds / elapsed if elapsed > 0 else amount
            conditions.append(
                Condition(
                    rule=budget.rule,
                    subject=subject,
                    active=fraction >= budget.warn_at,
                    severity=severity,
                    value=amount,
                    threshold=budget.amount_usd,
                    message=(
                        f"budget {budget.name!r} ({subject}): ${amount:,.2f} of ${budget.amount_usd:,.2f} "
                        f"{_PERIOD_WORD[budget.period]} ({fraction:.0%})"
                    ),
                    kind="cost",
                    details={
                        "period": budget.period,
                        "period_start": start.isoformat(),
                        "fraction": fraction,
                        "forecast_usd": forecast,
                    },
                )
            )
    return conditions


def evaluate_rules(
    spend: pl.DataFrame | pl.LazyFrame,
    rules: Iterable[SpendRule],
    now: datetime,
    *,
    history_start: datetime | None = None,
) -> list[Condition]:
    now = now.astimezone(UTC)
    rules = list(rules)
    if history_start is None and any(rule.above_baseline is not None for rule in rules):
        history_start = _first_time(spend)
    conditions: list[Condition] = []
    for rule in rules:
        current = _spend_by_subject(spend, rule.scope, rule.subject, now - rule.window, now, open_start=True)
        if rule.above_usd is not None:
            conditions.extend(_absolute(rule, subject, amount) for subject, amount in current.items())
            continue
        totals, windows = _baseline_totals(spend, rule, now, history_start)
        for subject, amount in current.items():
            baseline = (totals.get(subject, 0.0) / windows, windows) if windows else None
            conditions.append(_relative(rule, subject, amount, baseline))
    return conditions


def _absolute(rule: SpendRule, subject: str, amount: float) -> Condition:
    assert rule.above_usd is not None
    active = amount > rule.above_usd and amount >= rule.min_usd
    return Condition(
        rule=rule.rule,
        subject=subject,
        active=active,
        severity=rule.severity,
        value=amount,
        threshold=rule.above_usd,
        message=(
            f"{rule.name!r} ({subject}): ${amount:,.2f} in the last {_human(rule.window)} "
            f"(limit ${rule.above_usd:,.2f})"
        ),
        details={"window_s": rule.window.total_seconds()},
    )


def _relative(rule: SpendRule, subject: str, amount: float, baseline: tuple[float, int] | None) -> Condition:
    assert rule.above_baseline is not None
    window = _human(rule.window)
    if baseline is None:
        return Condition(
            rule.rule, subject, False, rule.severity, amount, None,
            f"{rule.name!r} ({subject}): ${amount:,.2f} in the last {window}; no baseline yet",
            details={"window_s": rule.window.total_seconds(), "baseline_windows": 0},
        )  # fmt: skip
    mean, windows = baseline
    threshold = mean * rule.above_baseline
    ratio = amount / mean if mean > 0 else None
    versus = f"{ratio:.0%} of" if ratio is not None else "above"
    return Condition(
        rule=rule.rule,
        subject=subject,
        active=amount > threshold and amount >= rule.min_usd,
        severity=rule.severity,
        value=amount,
        threshold=threshold,
        message=(
            f"{rule.name!r} ({subject}): ${amount:,.2f} in the last {window} is {versus} the {windows}-window "
            f"baseline ${mean:,.2f} (limit {rule.above_baseline:.0%})"
        ),
        details={"window_s": rule.window.total_seconds(), "baseline_usd": mean, "baseline_windows": windows},
    )


def _baseline_totals(
    spend: pl.DataFrame | pl.LazyFrame, rule: SpendRule, now: datetime, history_start: datetime | None
) -> tuple[dict[str, float], int]:
    """Per subject, the spend over the earlier windows that history covers; and how many windows."""
    window_us = int(rule.window.total_seconds() * 1_000_000)
    covered = [
        k
        for k in range(1, rule.baseline_windows + 1)
        if history_start is not None and now - (k + 1) * rule.window >= history_start
    ]
    if not covered:
        return {}, 0
    # window k is (now - (k+1)*window, now - k*window]
    since_now = pl.lit(now).dt.cast_time_unit("us") - pl.col("time")
    frame = _scoped(spend, rule.scope, rule.subject, now - (max(covered) + 1) * rule.window, now, open_start=True)
    return _totals(frame.filter((since_now.dt.total_microseconds() // window_us).is_in(covered))), len(covered)


def _spend_by_subject(
    spend: pl.DataFrame | pl.LazyFrame,
    scope: Scope,
    subject: str | None,
    start: datetime,
    end: datetime,
    *,
    open_start: bool = False,
) -> dict[str, float]:
    """Spend per condition subject between ``start`` and ``end`` (inclusive; ``open_start``
    leaves ``start`` out). A global or single-subject scope always has an entry."""
    totals = _totals(_scoped(spend, scope, subject, start, end, open_start=open_start))
    if scope == "global" or subject is not None:
        label = _subject_label(scope, subject)
        return {label: float(totals.get(label, 0.0))}
    return {label: float(total) for label, total in sorted(totals.items())}


def _totals(scoped: pl.LazyFrame) -> dict[str, float]:
    sums = scoped.group_by("_subject").agg(pl.col("cost_usd").sum().alias("total")).collect()
    return dict(zip(sums.get_column("_subject").to_list(), sums.get_column("total").to_list(), strict=True))


def _scoped(
    spend: pl.DataFrame | pl.LazyFrame,
    scope: Scope,
    subject: str | None,
    start: datetime,
    end: datetime,
    *,
    open_start: bool,
) -> pl.LazyFrame:
    """Priced rows in the time range and scope, with a ``_subject`` label column."""
    time = pl.col("time")
    start_lit, end_lit = pl.lit(start).dt.cast_time_unit("us"), pl.lit(end).dt.cast_time_unit("us")
    in_range = ((time > start_lit) if open_start else (time >= start_lit)) & (time <= end_lit)
    frame = spend.lazy().with_columns(time.dt.cast_time_unit("us")).filter(in_range & pl.col("cost_usd").is_not_null())
    if scope == "global":
        return frame.with_columns(pl.lit("global").alias("_subject"))
    column = _SCOPE_COLUMN[scope]
    if scope == "tag":
        frame = frame.explode(column)
    if subject is not None:
        frame = frame.filter(pl.col(column) == subject)
    return frame.filter(pl.col(column).is_not_null()).with_columns(
        (pl.lit(f"{scope}:") + pl.col(column).cast(pl.String)).alias("_subject")
    )


def _subject_label(scope: Scope, subject: str | None) -> str:
    return "global" if scope == "global" else f"{scope}:{subject}"


def _first_time(spend: pl.DataFrame | pl.LazyFrame) -> datetime | None:
    first = spend.lazy().select(pl.col("time").min()).collect().item()
    return first.astimezone(UTC) if first is not None else None


def _next_period_start(period: Period, start: datetime, timezone: str) -> datetime:
    zone = ZoneInfo(timezone)
    local = start.astimezone(zone).replace(tzinfo=None)
    if period == "daily":
        local += timedelta(days=1)
    elif period == "weekly":
        local += timedelta(days=7)
    else:
        year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
        local = local.replace(year=year, month=month)
    return local.replace(tzinfo=zone).astimezone(UTC)


def _human(window: timedelta) -> str:
    seconds = int(window.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


__all__ = [
    "Budget",
    "CostAlertConfig",
    "SpendRule",
    "evaluate_budgets",
    "evaluate_cost_alerts",
    "evaluate_rules",
    "period_start",
]
