"""Parsers of guardrail results from OpenInference spans, span events, LiteLLM and the API body."""

import json

import pyarrow as pa
import pytest

from store.guardrails import (
    GuardrailEventsError,
    events_from_api,
    events_from_litellm,
    events_from_openinference_span,
    events_from_span_events,
)
from store.schema import GUARDRAIL_EVENTS

TRACE, SPAN = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
CARD = "4111 1111 1111 1111"


def check_rows(rows):
    pa.Table.from_pylist(rows, schema=GUARDRAIL_EVENTS)  # raises on a column or type mismatch
    for row in rows:
        assert CARD not in (row["excerpt"] or "") and CARD not in row["details"]


def span(**attrs):
    return {"trace_id": TRACE, "span_id": SPAN, "name": "guard", "end_time": 1767225600.5, "attributes": attrs, "service": "app"}


def test_openinference_guardrail_span_failed_and_passed():
    failed = span(**{"openinference.span.kind": "GUARDRAIL", "input.value": f"my card is {CARD}", "output.value": json.dumps({"validation_passed": False}), "guardrail.name": "pii_guard"})
    rows = events_from_openinference_span(failed)
    check_rows(rows)
    assert [(r["detector"], r["action"], r["source"], r["category"]) for r in rows] == [("pii_guard", "flagged", "openinference", "pii")]
    assert "[REDACTED:credit_card]" in rows[0]["excerpt"]
    passed = span(**{"openinference.span.kind": "GUARDRAIL", "output.value": json.dumps({"validation_passed": True})})
    assert events_from_openinference_span(passed) == []
    llm = span(**{"openinference.span.kind": "LLM", "output.value": "fail"})
    assert events_from_openinference_span(llm) == []
    assert events_from_openinference_span(failed)[0]["event_id"] == rows[0]["event_id"]


def test_guardrails_ai_validator_span():
    # what openinference-instrumentation-guardrails sets on after_run_validator spans
    validator = span(validator_name="guardrails/detect_pii", validator_on_fail="exception", **{"output.value": "fail"})
    rows = events_from_openinference_span(validator)
    assert [(r["detector"], r["action"], r["severity"], r["category"]) for r in rows] == [("guardrails/detect_pii", "blocked", "high", "pii")]
    fix = span(validator_name="toxic_language", validator_on_fail="fix", **{"output.value": "fail"})
    assert events_from_openinference_span(fix)[0]["action"] == "redacted"
    assert events_from_openinference_span(span(validator_name="x", **{"output.value": "pass"})) == []


def test_openinference_score_threshold_and_status():
    scored = span(**{"openinference.span.kind": "GUARDRAIL", "metadata.guardrail_type": "toxicity", "metadata.score": 0.91, "metadata.threshold": 0.8})
    assert events_from_openinference_span(scored)[0]["detector"] == "toxicity"
    errored = dict(span(**{"openinference.span.kind": "GUARDRAIL"}), status="error", status_message="blocked: jailbreak")
    assert events_from_openinference_span(errored)[0]["action"] == "flagged"
    unknown = span(**{"openinference.span.kind": "GUARDRAIL", "input.value": "hi"})
    assert events_from_openinference_span(unknown) == []


def test_span_events():
    row = {
        "trace_id": TRACE,
        "span_id": SPAN,
        "end_time": 1767225600,
        "events": json.dumps(
            [
                {"name": "exception", "attributes": {}},
                {"name": "gen_ai.guardrail", "time_unix_nano": 1767225600123456789, "attributes": {"guardrail.name": "lakera", "guardrail.action": "blocked", "guardrail.category": "prompt_injection", "guardrail.direction": "input", "guardrail.excerpt": f"pay with {CARD}"}},
                {"name": "guardrail", "attributes": {"guardrail.name": "pii", "guardrail.triggered": False}},
                {"name": "guardrail.result", "attributes": {"gen_ai.guardrail.name": "tone", "gen_ai.guardrail.status": "PASSED"}},
                {"name": "guardrail.result", "attributes": {"guardrail.name": "tone", "guardrail.decision": "warn", "guardrail.severity": "low", "guardrail.direction": "output"}},
            ]
        ),
    }
    rows = events_from_span_events(row)
    check_rows(rows)
    assert [(r["detector"], r["action"], r["category"], r["direction"], r["severity"]) for r in rows] == [
        ("lakera", "blocked", "injection", "input", "high"),
        ("tone", "flagged", "external", "output", "low"),
    ]
    assert rows[0]["time"].microsecond == 123456
    assert rows[0]["excerpt"] == "pay with [REDACTED:credit_card]"


def test_litellm_guardrail_information():
    payload = {
        "id": "chatcmpl-1",
        "trace_id": "litellm-trace",
        "startTime": 1767225600.0,
        "metadata": {"user_api_key_user_id": "user-7"},
        "guardrail_information": [
            {"guardrail_name": "presidio-pii", "guardrail_mode": "pre_call", "guardrail_status": "guardrail_intervened", "masked_entity_count": {"CREDIT_CARD": 1}, "guardrail_request": f"card {CARD}", "start_time": 1767225600.1, "guardrail_provider": "presidio"},
            {"guardrail_name": "bedrock", "guardrail_mode": ["post_call"], "guardrail_status": "guardrail_intervened", "risk_score": 9, "violation_categories": ["VIOLENCE"], "start_time": 1767225601.0},
            {"guardrail_name": "lakera", "guardrail_mode": {"default": "during_call"}, "guardrail_status": "guardrail_flagged", "start_time": 1767225600.2},
            {"guardrail_name": "ok", "guardrail_mode": "pre_call", "guardrail_status": "success"},
            {"guardrail_name": "down", "guardrail_mode": "pre_call", "guardrail_status": "guardrail_failed_to_respond"},
        ],
    }
    rows = events_from_litellm(payload, trace_id=TRACE, span_id=SPAN)
    check_rows(rows)
    assert [(r["detector"], r["action"], r["direction"], r["severity"], r["category"]) for r in rows] == [
        ("presidio-pii", "redacted", "input", "medium", "pii"),
        ("bedrock", "blocked", "output", "critical", "external"),
        ("lakera", "flagged", "input", "medium", "external"),
    ]
    assert rows[0]["user_id"] == "user-7" and rows[0]["trace_id"] == TRACE
    assert json.loads(rows[0]["details"])["masked_entity_count"] == {"CREDIT_CARD": 1}
    assert "[REDACTED:credit_card]" in rows[0]["excerpt"]
    fallback = events_from_litellm(payload)
    assert fallback[0]["trace_id"] == "litellm-trace" and fallback[0]["span_id"] == "chatcmpl-1"


def test_api_body_valid_and_idempotent():
    body = {"events": [{"trace_id": TRACE.upper(), "span_id": SPAN, "detector": "app.refund_policy", "category": "output", "severity": "medium", "action": "flagged", "direction": "output", "excerpt": f"refund to card {CARD}\x1b[2J", "time": "2026-01-01T00:00:00Z", "details": {"rule": 7}}]}
    rows = events_from_api(json.dumps(body).encode())
    check_rows(rows)
    assert rows[0]["trace_id"] == TRACE and rows[0]["source"] == "api"
    assert rows[0]["excerpt"] == "refund to card [REDACTED:credit_card]"
    assert events_from_api(body)[0]["event_id"] == rows[0]["event_id"]


def test_api_body_errors_are_listed():
    with pytest.raises(GuardrailEventsError, match="not valid JSON"):
        events_from_api(b"{nope")
    with pytest.raises(GuardrailEventsError, match='expected an object {"events"'):
        events_from_api({"event": []})
    bad = {"events": [{"trace_id": "xyz", "span_id": SPAN, "detector": "d", "category": "toxicity", "severity": "urgent", "action": "flagged", "direction": "input", "time": "yesterday"}, "nope", {}]}
    with pytest.raises(GuardrailEventsError) as err:
        events_from_api(bad)
    problems = err.value.problems
    assert "events[0].trace_id: must be 32 hex characters" in problems
    assert any(p.startswith("events[0].category: must be one of") for p in problems)
    assert any(p.startswith("events[0].severity: must be one of low, medium, high, critical (got 'urgent')") for p in problems)
    assert "events[0].time: must be ISO-8601 or epoch seconds/ms/µs/ns" in problems
    assert "events[1]: expected an object" in problems
    assert "events[2].trace_id: required" in problems
