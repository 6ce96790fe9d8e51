"""Edge-triggered alerting: level conditions in, ALERTS rows out on crossings only.

Evaluators (budgets, health rules) say, each time they run, where every
(rule, subject) stands: a ``Condition`` that is active or not. The engine
remembers which pairs are firing and emits an ``Alert`` row only when a pair
crosses: ``firing`` on the way into active, ``resolved`` on the way back. A
condition that stays active for a thousand evaluations fires once.

* ``alert_id`` names the incident: its firing and resolved rows share it.
* Escalation: a firing pair whose severity rises (warning -> critical) emits
  another ``firing`` row with the same id; a falling severity emits nothing.
* Completeness: a batch speaks for every subject of the rules it contains (or of
  ``complete_rules``), so a firing pair that is absent from its rule's batch is
  resolved; per-user rules only list users with recent spend.
* ``resolve_after``: a pair must stay inactive this long before it resolves; if it
  turns active again first, nothing is emitted (stops flapping around a threshold).
* State (the firing pairs) lives in a small JSON file, rewritten atomically on every
  crossing, so a restart neither re-fires what is firing nor forgets to resolve it.
  One engine per state file.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

from store.schema import ALERTS

log = logging.getLogger(__name__)

SEVERITIES = ("info", "warning", "critical")
_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}
AlertKind = Literal["cost", "health"]
_STATE_VERSION = 1


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Condition:
    """Where one (rule, subject) stands now, as the evaluator sees it."""

    rule: str  # e.g. "budget:team-monthly", "health:kv_cache_high"
    subject: str  # what it is about: "global", "user:alice", "vllm:http://gpu1:8000"
    active: bool
    severity: str = "warning"  # info, warning, critical
    value: float | None = None  # the measured value (USD, %, ...)
    threshold: float | None = None  # the level it is compared with
    message: str = ""
    kind: AlertKind = "cost"
    details: Mapping[str, Any] | None = None  # JSON-serializable extras for the UI

    def __post_init__(self) -> None:
        if self.severity not in _RANK:
            raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}, got {self.severity!r}")


@dataclass(frozen=True)
class Alert:
    """One ALERTS row."""

    alert_id: str
    time: datetime
    rule: str
    kind: str
    severity: str
    state: Literal["firing", "resolved"]
    subject: str
    message: str
    value: float | None
    threshold: float | None
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_row(self) -> dict[str, Any]:
        row = asdict(self)
        row["details"] = json.dumps(dict(self.details), sort_keys=True, default=str)
        return row


def alerts_table(alerts: Iterable[Alert]) -> pa.Table:
    return pa.Table.from_pylist([alert.to_row() for alert in alerts], schema=ALERTS)


@dataclass
class FiringState:
    """A (rule, subject) that is firing, as kept in the state file."""

    alert_id: str
    rule: str
    subject: str
    kind: str
    severity: str
    since: str  # ISO time it fired
    message: str = ""
    value: float | None = None
    threshold: float | None = None
    clearing_since: str | None = None  # ISO time it first read inactive, while resolve_after runs


class AlertEngine:
    def __init__(
        self,
        state_path: Path | str | None,
        *,
        now: Callable[[], datetime] = utc_now,
        resolve_after: timedelta = timedelta(0),
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self.state_path = Path(state_path) if state_path is not None else None
        self._now = now
        self.resolve_after = resolve_after
        self._new_id = new_id
        self._firing: dict[tuple[str, str], FiringState] = self._load()

    def firing(self) -> list[FiringState]:
        """What is firing now (for the UI), oldest first."""
        return sorted(self._firing.values(), key=lambda s: s.since)

    def evaluate(self, conditions: Iterable[Condition], *, complete_rules: Iterable[str] | None = None) -> list[Alert]:
        """Alert rows for the crossings in this batch (see the module docstring)."""
        now = self._now().astimezone(UTC)
        latest: dict[tuple[str, str], Condition] = {}
        for condition in conditions:
            key = (condition.rule, condition.subject)
            # the same pair twice in one batch: the worse reading counts
            if key not in latest or _worse(condition, latest[key]):
                latest[key] = condition
        rules = set(complete_rules) if complete_rules is not None else {rule for rule, _ in latest}

        alerts: list[Alert] = []
        changed = False
        for key, condition in latest.items():
            state = self._firing.get(key)
            if condition.active:
                if state is None:
                    state = self._start(condition, now)
                    alerts.append(_alert(state, condition, "firing", now))
                    changed = True
                    continue
                if state.clearing_since is not None:
                    state.clearing_since = None
                    changed = True
                if _RANK[condition.severity] > _RANK[state.severity]:
                    state.severity = condition.severity
                    alerts.append(_alert(state, condition, "firing", now))
                    changed = True
                state.value, state.threshold, state.message = condition.value, condition.threshold, condition.message
            elif state is not None:
                alert, state_changed = self._clear(key, state, condition, now)
                alerts.extend(alert)
                changed |= state_changed
        for key, state in list(self._firing.items()):
            if key[0] in rules and key not in latest:
                alert, state_changed = self._clear(key, state, None, now)
                alerts.extend(alert)
                changed |= state_changed
        if changed:
            self._save()
        return alerts

    def _start(self, condition: Condition, now: datetime) -> FiringState:
        state = FiringState(
            alert_id=self._new_id(),
            rule=condition.rule,
            subject=condition.subject,
            kind=condition.kind,
            severity=condition.severity,
            since=now.isoformat(),
            message=condition.message,
            value=condition.value,
            threshold=condition.threshold,
        )
        self._firing[(condition.rule, condition.subject)] = state
        return state

    def _clear(
        self, key: tuple[str, str], state: FiringState, condition: Condition | None, now: datetime
    ) -> tuple[list[Alert], bool]:
        if self.resolve_after > timedelta(0):
            if state.clearing_since is None:
                state.clearing_since = now.isoformat()
                return [], True
            if now - datetime.fromisoformat(state.clearing_since) < self.resolve_after:
                return [], False
        del self._firing[key]
        if condition is None:
            condition = Condition(
                state.rule, state.subject, False, state.severity, state.value, state.threshold,
                f"no longer reported: {state.message}", state.kind,  # type: ignore[arg-type]
            )  # fmt: skip
        return [_alert(state, condition, "resolved", now)], True

    def _load(self) -> dict[tuple[str, str], FiringState]:
        if self.state_path is None or not self.state_path.exists():
            return {}
        try:
            data = json.loads(self.state_path.read_text())
            states = [FiringState(**item) for item in data["firing"]]
        except (OSError, ValueError, KeyError, TypeError) as error:
            # a broken file must not stop alerting; the cost is a possible repeat firing
            log.warning("alert state %s unreadable (%s); starting empty", self.state_path, error)
            return {}
        return {(s.rule, s.subject): s for s in states}

    def _save(self) -> None:
        if self.state_path is None:
            return
        payload = {"version": _STATE_VERSION, "firing": [asdict(s) for s in self.firing()]}
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".alerts-", dir=self.state_path.parent)
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(payload, handle, indent=1, sort_keys=True)
            os.replace(tmp, self.state_path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _worse(a: Condition, b: Condition) -> bool:
    return (a.active, _RANK[a.severity]) > (b.active, _RANK[b.severity])


def _alert(state: FiringState, condition: Condition, transition: Literal["firing", "resolved"], now: datetime) -> Alert:
    details = dict(condition.details or {})
    if transition == "resolved":
        details.setdefault("fired_at", state.since)
    return Alert(
        alert_id=state.alert_id,
        time=now,
        rule=condition.rule,
        kind=condition.kind,
        severity=state.severity if transition == "resolved" else condition.severity,
        state=transition,
        subject=condition.subject,
        message=condition.message,
        value=condition.value,
        threshold=condition.threshold,
        details=details,
    )


__all__ = ["SEVERITIES", "Alert", "AlertEngine", "Condition", "FiringState", "alerts_table", "utc_now"]
