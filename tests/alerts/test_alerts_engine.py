"""AlertEngine: one row per crossing, with a frozen clock, across restarts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from store.alerts.engine import AlertEngine, Condition, alerts_table
from store.schema import ALERTS

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs) -> None:
        self.now += timedelta(**kwargs)


def over(active: bool, subject: str = "user:alice", severity: str = "warning", value: float = 12.0) -> Condition:
    return Condition("spend:hourly", subject, active, severity, value, 10.0, f"${value} in the last hour")


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_fires_once_per_crossing(tmp_path, clock):
    engine = AlertEngine(tmp_path / "alerts.json", now=clock)
    assert engine.evaluate([over(False)]) == []
    fired = engine.evaluate([over(True)])
    assert [(a.state, a.subject, a.severity, a.time) for a in fired] == [("firing", "user:alice", "warning", T0)]
    for _ in range(5):  # still over: nothing new, however often it is evaluated
        clock.advance(minutes=1)
        assert engine.evaluate([over(True, value=13.0)]) == []
    clock.advance(minutes=1)
    resolved = engine.evaluate([over(False, value=3.0)])
    assert [(a.state, a.value) for a in resolved] == [("resolved", 3.0)]
    assert resolved[0].alert_id == fired[0].alert_id  # one incident, two rows
    assert resolved[0].details["fired_at"] == T0.isoformat()
    assert engine.evaluate([over(False)]) == []
    again = engine.evaluate([over(True)])
    assert [a.state for a in again] == ["firing"] and again[0].alert_id != fired[0].alert_id


def test_restart_neither_refires_nor_forgets(tmp_path, clock):
    path = tmp_path / "state" / "alerts.json"
    first = AlertEngine(path, now=clock)
    [fired] = first.evaluate([over(True)])
    assert json.loads(path.read_text())["firing"][0]["alert_id"] == fired.alert_id

    restarted = AlertEngine(path, now=clock)
    assert restarted.evaluate([over(True)]) == []
    assert [s.subject for s in restarted.firing()] == ["user:alice"]
    clock.advance(hours=1)
    [resolved] = AlertEngine(path, now=clock).evaluate([over(False)])
    assert (resolved.state, resolved.alert_id) == ("resolved", fired.alert_id)
    assert AlertEngine(path, now=clock).firing() == []


def test_subjects_are_independent(clock):
    engine = AlertEngine(None, now=clock)
    fired = engine.evaluate([over(True, "user:alice"), over(True, "user:bob"), over(False, "user:carol")])
    assert sorted(a.subject for a in fired) == ["user:alice", "user:bob"]
    assert [a.subject for a in engine.evaluate([over(True, "user:alice"), over(False, "user:bob")])] == ["user:bob"]


def test_absent_subject_of_a_complete_rule_resolves(clock):
    engine = AlertEngine(None, now=clock)
    engine.evaluate([over(True, "user:alice"), over(True, "user:bob")])
    # alice no longer appears in her rule's batch (no spend in the window)
    [resolved] = engine.evaluate([over(True, "user:bob")])
    assert (resolved.subject, resolved.state) == ("user:alice", "resolved")
    assert resolved.message.startswith("no longer reported")
    # a batch about another rule leaves this one alone; an empty batch too, unless the rule is named complete
    assert engine.evaluate([Condition("budget:x", "global", False)]) == []
    assert engine.evaluate([]) == []
    [gone] = engine.evaluate([], complete_rules=["spend:hourly"])
    assert gone.subject == "user:bob"


def test_escalation_fires_again_but_deescalation_does_not(clock):
    engine = AlertEngine(None, now=clock)
    [warn] = engine.evaluate([over(True, severity="warning")])
    [crit] = engine.evaluate([over(True, severity="critical")])
    assert (crit.state, crit.severity, crit.alert_id) == ("firing", "critical", warn.alert_id)
    assert engine.evaluate([over(True, severity="warning")]) == []
    [resolved] = engine.evaluate([over(False)])
    assert resolved.severity == "critical"


def test_duplicate_pair_in_a_batch_takes_the_worse_reading(clock):
    engine = AlertEngine(None, now=clock)
    [fired] = engine.evaluate([over(False), over(True, severity="critical"), over(True)])
    assert fired.severity == "critical"


def test_resolve_after_holds_back_flapping(tmp_path, clock):
    engine = AlertEngine(tmp_path / "a.json", now=clock, resolve_after=timedelta(minutes=10))
    engine.evaluate([over(True)])
    clock.advance(minutes=1)
    assert engine.evaluate([over(False)]) == []  # clearing starts
    clock.advance(minutes=5)
    assert engine.evaluate([over(True)]) == []  # back over before 10 minutes: still the same incident
    clock.advance(minutes=1)
    assert engine.evaluate([over(False)]) == []
    clock.advance(minutes=9)
    assert engine.evaluate([over(False)]) == []
    clock.advance(minutes=1)
    [resolved] = AlertEngine(tmp_path / "a.json", now=clock, resolve_after=timedelta(minutes=10)).evaluate([over(False)])
    assert resolved.state == "resolved" and resolved.time == T0 + timedelta(minutes=17)  # 10 minutes after clearing began at 12:07


def test_unreadable_state_starts_empty(tmp_path, clock, caplog):
    path = tmp_path / "alerts.json"
    path.write_text("{not json")
    engine = AlertEngine(path, now=clock)
    assert engine.firing() == []
    assert "unreadable" in caplog.text
    assert [a.state for a in engine.evaluate([over(True)])] == ["firing"]
    assert json.loads(path.read_text())["version"] == 1


def test_rows_fit_the_alerts_schema(clock):
    engine = AlertEngine(None, now=clock)
    alerts = engine.evaluate([Condition("health:kv", "vllm:http://h:8000", True, "critical", 0.97, 0.9, "KV cache full", "health", {"p": 1})])
    table = alerts_table(alerts)
    assert table.schema == ALERTS
    row = table.to_pylist()[0]
    assert (row["kind"], row["state"], json.loads(row["details"])) == ("health", "firing", {"p": 1})
    assert alerts_table([]).num_rows == 0 and isinstance(alerts_table([]), pa.Table)


def test_condition_rejects_unknown_severity():
    with pytest.raises(ValueError, match="severity"):
        Condition("r", "s", True, "urgent")
