"""Guardrail results from elsewhere, as GUARDRAIL_EVENTS rows.

Pure functions; each returns rows (an empty list when the guard passed).
Excerpts taken from external payloads are redacted and sanitized like ours.

Accepted shapes
---------------
(a) OpenInference GUARDRAIL spans: ``openinference.span.kind = GUARDRAIL``
    (as guardrails-ai's OpenInference instrumentation sets on ``Runner.step``),
    and guardrails-ai validator spans (attribute ``validator_name``, with
    ``validator_on_fail`` and the outcome ``pass``/``fail`` in
    ``output.value``). The verdict is read from, in order: ``guardrail.triggered``
    / ``guardrail.passed``, ``validation_passed`` / ``passed`` / ``outcome`` /
    ``result`` / ``action`` / ``status`` inside ``output.value`` (JSON) or the
    plain ``output.value`` (``pass``, ``fail``, ``blocked``, ``flagged``,
    ``FAIL: reason``), ``metadata.score`` above ``metadata.threshold``, and
    last the span status (ERROR = failed). A guard with no verdict found
    yields nothing. Name: ``guardrail.name``, ``validator_name``,
    ``metadata.guardrail_type``, else the span name.
(b) OTel span events named ``guardrail``, ``gen_ai.guardrail``,
    ``guardrail.result`` (or any name starting with ``gen_ai.guardrail``) with
    attributes ``guardrail.name``/``gen_ai.guardrail.name``,
    ``guardrail.action``/``guardrail.decision``/``gen_ai.guardrail.status``
    (blocked, redacted/masked, flagged/warn; pass/allow/none/PASSED mean no
    event), ``guardrail.triggered`` (bool), ``guardrail.category``,
    ``guardrail.severity``, ``guardrail.direction`` (input|output),
    ``guardrail.excerpt``/``guardrail.message``, ``guardrail.score``.
(c) LiteLLM: ``standard_logging_object["guardrail_information"]``, a list of
    StandardLoggingGuardrailInformation (a lone dict is accepted too).
    ``guardrail_status`` guardrail_intervened -> blocked (redacted when
    ``masked_entity_count`` is non-empty), guardrail_flagged -> flagged;
    success / not_run / guardrail_failed_to_respond yield nothing (no verdict).
    Direction from ``guardrail_mode`` (pre_call, during_call, pre_mcp_call ->
    input; post_call, post_mcp_call -> output).
(d) The app's own checks, POSTed to /v1/guardrail-events:
    ``{"events": [{"trace_id", "span_id", "detector", "category", "severity",
    "action", "direction", "excerpt"?, "time"?, "details"?}]}``; invalid bodies
    raise GuardrailEventsError with one message per problem.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, Mapping, Sequence

from store.guardrails.events import event_id, make_row, to_utc
from store.guardrails.model import SEVERITIES
from store.guardrails.redact import safe_text

EXTERNAL_CATEGORIES = ("pii", "secret", "injection", "jailbreak", "output", "external")
ACTIONS = ("flagged", "redacted", "blocked")
DIRECTIONS = ("input", "output")
_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_HEX16 = re.compile(r"^[0-9a-f]{16}$")

_BLOCK_WORDS = {"block", "blocked", "deny", "denied", "reject", "rejected", "intervened", "guardrail_intervened", "refrain", "exception", "stop"}
_REDACT_WORDS = {"redact", "redacted", "mask", "masked", "anonymize", "anonymized", "fix", "fixed", "filter", "filtered", "sanitized", "modified"}
_FLAG_WORDS = {"flag", "flagged", "warn", "warning", "alert", "fail", "failed", "failure", "violation", "triggered", "unsafe", "noop", "detected", "true", "guardrail_flagged"}
_PASS_WORDS = {"pass", "passed", "allow", "allowed", "ok", "none", "safe", "success", "clean", "false", "not_run", "skipped"}


def _action_word(value: Any) -> str | None:
    """blocked / redacted / flagged / "pass" for a verdict word, or None."""
    if isinstance(value, bool):
        return "flagged" if value else "pass"
    if not isinstance(value, str):
        return None
    word = value.strip().lower().split(":", 1)[0].strip().replace(" ", "_")
    if word in _BLOCK_WORDS:
        return "blocked"
    if word in _REDACT_WORDS:
        return "redacted"
    if word in _FLAG_WORDS:
        return "flagged"
    if word in _PASS_WORDS:
        return "pass"
    return None


def _loads(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _category(value: Any) -> str:
    text = str(value or "").lower()
    for category in EXTERNAL_CATEGORIES:
        if category in text:
            return category
    if any(w in text for w in ("prompt_injection", "prompt injection", "jailbreak")):
        return "injection"
    if any(w in text for w in ("secret", "credential", "api key")):
        return "secret"
    if any(w in text for w in ("email", "phone", "ssn", "credit", "person", "presidio")):
        return "pii"
    return "external"


def _severity(value: Any, default: str) -> str:
    text = str(value or "").lower()
    return text if text in SEVERITIES else default


def _span_time(span: Mapping[str, Any]) -> datetime:
    for key in ("end_time", "start_time", "time"):
        if span.get(key) not in (None, ""):
            return to_utc(span[key])
    return to_utc(None)


def _attributes(span: Mapping[str, Any]) -> dict[str, Any]:
    attrs = span.get("attributes") or {}
    if isinstance(attrs, str):
        attrs = json.loads(attrs) if attrs else {}
    return dict(attrs)


# --- (a) OpenInference GUARDRAIL spans ---------------------------------------


def is_guardrail_span(span: Mapping[str, Any]) -> bool:
    attrs = _attributes(span)
    kind = str(attrs.get("openinference.span.kind") or span.get("kind") or "").lower()
    return kind == "guardrail" or "validator_name" in attrs


def events_from_openinference_span(span: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Rows for one guardrail span (``trace_id``, ``span_id``, ``name``,
    ``attributes`` as a dict or JSON, ``status``, times, ``service``,
    ``user_id``): one row when it failed, none when it passed."""
    if not is_guardrail_span(span):
        return []
    attrs = _attributes(span)
    output = _loads(attrs.get("output.value"))
    verdict = _openinference_verdict(attrs, output, span)
    if verdict in (None, "pass"):
        return []
    name = str(
        attrs.get("guardrail.name") or attrs.get("validator_name") or attrs.get("metadata.guardrail_type") or span.get("name") or "guardrail"
    )
    on_fail = _action_word(attrs.get("validator_on_fail"))
    action = verdict if verdict != "flagged" or on_fail in (None, "pass", "flagged") else on_fail
    direction = str(attrs.get("guardrail.direction") or "").lower()
    if direction not in DIRECTIONS:
        direction = "input" if "input" in name.lower() or "pre" in str(attrs.get("guardrail.stage", "")).lower() else "output"
    checked = attrs.get("input.value")
    details = {
        key: attrs[key]
        for key in ("validator_on_fail", "metadata.score", "metadata.threshold", "metadata.guardrail_type", "guardrail.score")
        if key in attrs
    }
    if isinstance(output, (dict, list)):
        details["result"] = _shrink(output)
    elif isinstance(output, str):
        details["result"] = safe_text(output, 200)
    if span.get("status") == "error" and span.get("status_message"):
        details["error"] = safe_text(str(span["status_message"]), 200)
    trace_id, span_id = span.get("trace_id"), span.get("span_id")
    when = _span_time(span)
    return [
        make_row(
            event_id=event_id("openinference", trace_id, span_id, name, direction),
            time=when,
            trace_id=trace_id,
            span_id=span_id,
            direction=direction,
            detector=name,
            detector_version=str(attrs.get("guardrail.version") or ""),
            category=_category(attrs.get("guardrail.category") or attrs.get("metadata.guardrail_type") or name),
            severity=_severity(attrs.get("guardrail.severity"), "high" if action == "blocked" else "medium"),
            action=action,
            source="openinference",
            service=span.get("service"),
            user_id=span.get("user_id") or attrs.get("user.id"),
            excerpt=safe_text(checked, 80) if isinstance(checked, str) and checked else None,
            details=details,
        )
    ]


def _openinference_verdict(attrs: Mapping[str, Any], output: Any, span: Mapping[str, Any]) -> str | None:
    for key in ("guardrail.triggered", "guardrail.passed"):
        if key in attrs:
            triggered = attrs[key]
            if isinstance(triggered, str):
                triggered = triggered.strip().lower() in ("true", "1", "yes")
            return ("flagged" if triggered else "pass") if key == "guardrail.triggered" else ("pass" if triggered else "flagged")
    if isinstance(output, dict):
        for key in ("validation_passed", "passed", "valid", "is_valid"):
            if isinstance(output.get(key), bool):
                return "pass" if output[key] else "flagged"
        for key in ("outcome", "result", "action", "status", "decision", "verdict"):
            word = _action_word(output.get(key))
            if word:
                return word
    word = _action_word(output) if isinstance(output, (str, bool)) else None
    if word:
        return word
    score, threshold = attrs.get("metadata.score"), attrs.get("metadata.threshold")
    if isinstance(score, (int, float)) and isinstance(threshold, (int, float)):
        return "flagged" if score >= threshold else "pass"
    if span.get("status") == "error" or (isinstance(span.get("status"), Mapping) and span["status"].get("code") in (2, "ERROR")):
        return "flagged"
    return None


def _shrink(value: Any, limit: int = 400) -> Any:
    text = json.dumps(value, default=str)
    return value if len(text) <= limit else safe_text(text, limit)


def _bounded_details(details: Mapping[str, Any] | None, limit: int = 4000) -> dict[str, Any]:
    if not details:
        return {}
    text = json.dumps(details, default=str)
    return dict(details) if len(text) <= limit else {"truncated": safe_text(text, limit)}


# --- (b) OTel span events -----------------------------------------------------

SPAN_EVENT_NAMES = ("guardrail", "gen_ai.guardrail", "guardrail.result")


def _event_attr(attrs: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        for key in (f"guardrail.{name}", f"gen_ai.guardrail.{name}"):
            if key in attrs and attrs[key] not in (None, ""):
                return attrs[key]
    return None


def events_from_span_events(span: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Rows for the guardrail events among a span's events (``events``: a
    list or JSON array of ``{"name", "time"|"time_unix_nano"|"timestamp",
    "attributes"}``). Other events are ignored."""
    events = span.get("events") or []
    if isinstance(events, str):
        events = json.loads(events) if events else []
    rows = []
    for index, event in enumerate(events):
        name = str(event.get("name") or "")
        if name not in SPAN_EVENT_NAMES and not name.startswith("gen_ai.guardrail"):
            continue
        attrs = event.get("attributes") or {}
        triggered = _event_attr(attrs, "triggered")
        decision = _action_word(_event_attr(attrs, "action", "decision", "status", "result"))
        if isinstance(triggered, str):
            triggered = triggered.strip().lower() in ("true", "1", "yes")
        if triggered is False or (decision == "pass" and triggered is not True):
            continue
        if triggered is None and decision is None:
            continue  # no verdict
        action = decision if decision and decision != "pass" else "flagged"
        detector = str(_event_attr(attrs, "name", "id") or name)
        direction = str(_event_attr(attrs, "direction", "stage") or "input").lower()
        direction = "output" if direction in ("output", "post", "post_call", "response") else "input"
        raw_time = event.get("time") or event.get("time_unix_nano") or event.get("timestamp")
        when = to_utc(raw_time) if raw_time not in (None, "") else _span_time(span)
        text = _event_attr(attrs, "excerpt", "message", "reason")
        details = {k: v for k, v in attrs.items() if k.endswith(("score", "threshold", "policy", "rule", "reason"))}
        rows.append(
            make_row(
                event_id=event_id("span_event", span.get("trace_id"), span.get("span_id"), detector, direction, index, when.isoformat()),
                time=when,
                trace_id=span.get("trace_id"),
                span_id=span.get("span_id"),
                direction=direction,
                detector=detector,
                detector_version=str(_event_attr(attrs, "version") or ""),
                category=_category(_event_attr(attrs, "category", "type") or detector),
                severity=_severity(_event_attr(attrs, "severity"), "high" if action == "blocked" else "medium"),
                action=action,
                source="span_event",
                service=span.get("service"),
                user_id=span.get("user_id"),
                excerpt=safe_text(str(text), 80) if text else None,
                details={k: safe_text(str(v), 200) if isinstance(v, str) else v for k, v in details.items()},
            )
        )
    return rows


# --- (c) LiteLLM guardrail_information -------------------------------------------

_INPUT_MODES = {"pre_call", "during_call", "pre_mcp_call", "during_mcp_call", "realtime_input_transcription"}


def _litellm_direction(mode: Any) -> str:
    if isinstance(mode, Mapping):
        mode = mode.get("default")
    if isinstance(mode, list):
        mode = mode[0] if mode else None
    mode = str(getattr(mode, "value", mode) or "").lower()
    return "input" if mode in _INPUT_MODES or mode == "logging_only" else "output" if mode else "input"


def events_from_litellm(
    payload: Mapping[str, Any], *, trace_id: str | None = None, span_id: str | None = None, service: str | None = "litellm"
) -> list[dict[str, Any]]:
    """Rows for a StandardLoggingPayload's ``guardrail_information``.

    LiteLLM's own ``trace_id`` is not an OTel trace id; pass the OTel ids of
    the request's span when they are known (the collector has them when the
    payload came with a span), else the payload's ``trace_id`` and ``id`` are
    used."""
    infos = payload.get("guardrail_information") or []
    if isinstance(infos, Mapping):
        infos = [infos]
    trace = trace_id or payload.get("trace_id")
    span = span_id or payload.get("id") or payload.get("litellm_call_id")
    metadata = payload.get("metadata") or {}
    user = metadata.get("user_api_key_end_user_id") or metadata.get("user_api_key_user_id") or payload.get("end_user")
    rows = []
    for index, info in enumerate(infos):
        status = str(info.get("guardrail_status") or "")
        masked = {k: v for k, v in (info.get("masked_entity_count") or {}).items() if v}
        if status == "guardrail_intervened":
            action = "redacted" if masked else "blocked"
        elif status == "guardrail_flagged":
            action = "flagged"
        else:
            continue
        name = str(info.get("guardrail_name") or info.get("guardrail_id") or "litellm_guardrail")
        risk = info.get("risk_score")
        if isinstance(risk, (int, float)):
            severity = "critical" if risk >= 8 else "high" if risk >= 5 else "medium" if risk >= 2 else "low"
        else:
            severity = "high" if action == "blocked" else "medium"
        categories = info.get("violation_categories") or []
        category = "pii" if masked else _category(" ".join(map(str, categories)) or info.get("guardrail_provider") or name)
        request = info.get("guardrail_request")
        text = request if isinstance(request, str) else None
        if isinstance(request, Mapping):
            text = next((v for v in request.values() if isinstance(v, str)), None)
        details = {
            key: info.get(key)
            for key in (
                "guardrail_provider", "guardrail_id", "guardrail_status", "guardrail_action", "policy_template",
                "detection_method", "confidence_score", "risk_score", "violation_categories", "duration",
                "patterns_checked", "guardrail_cost",
            )
            if info.get(key) is not None
        }  # fmt: skip
        if masked:
            details["masked_entity_count"] = masked
        when = to_utc(info.get("start_time") or payload.get("startTime"))
        direction = _litellm_direction(info.get("guardrail_mode"))
        rows.append(
            make_row(
                event_id=event_id("litellm", trace, span, name, direction, index, info.get("start_time")),
                time=when,
                trace_id=trace,
                span_id=span,
                direction=direction,
                detector=name,
                detector_version="",
                category=category,
                severity=severity,
                action=action,
                source="litellm",
                service=service,
                user_id=user,
                excerpt=safe_text(text, 80) if text else None,
                details=details,
            )
        )
    return rows


# --- (d) the app's own checks: POST /v1/guardrail-events --------------------------

MAX_API_EVENTS = 1000


class GuardrailEventsError(ValueError):
    """An invalid /v1/guardrail-events body; ``problems`` lists every issue."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


def _check_choice(problems: list[str], where: str, value: Any, choices: Sequence[str]) -> None:
    if value not in choices:
        problems.append(f"{where}: must be one of {', '.join(choices)} (got {value!r})")


def events_from_api(body: bytes | str | Mapping[str, Any], *, received_at: datetime | None = None) -> list[dict[str, Any]]:
    """Validate and convert a ``{"events": [...]}`` body. Raises
    GuardrailEventsError listing every problem (nothing is half-accepted)."""
    if isinstance(body, (bytes, str)):
        try:
            body = json.loads(body)
        except ValueError as exc:
            raise GuardrailEventsError([f"body: not valid JSON ({exc})"]) from None
    if not isinstance(body, Mapping) or not isinstance(body.get("events"), list):
        raise GuardrailEventsError(['body: expected an object {"events": [...]}'])
    events = body["events"]
    if len(events) > MAX_API_EVENTS:
        raise GuardrailEventsError([f"events: at most {MAX_API_EVENTS} per request (got {len(events)})"])
    problems: list[str] = []
    rows = []
    for i, event in enumerate(events):
        where = f"events[{i}]"
        if not isinstance(event, Mapping):
            problems.append(f"{where}: expected an object")
            continue
        before = len(problems)
        for key in ("trace_id", "span_id", "detector", "category", "severity", "action", "direction"):
            if event.get(key) in (None, ""):
                problems.append(f"{where}.{key}: required")
        trace_id = str(event.get("trace_id") or "").lower()
        span_id = str(event.get("span_id") or "").lower()
        if trace_id and not _HEX32.match(trace_id):
            problems.append(f"{where}.trace_id: must be 32 hex characters")
        if span_id and not _HEX16.match(span_id):
            problems.append(f"{where}.span_id: must be 16 hex characters")
        for key, choices in (("category", EXTERNAL_CATEGORIES), ("severity", SEVERITIES), ("action", ACTIONS), ("direction", DIRECTIONS)):
            if event.get(key) not in (None, ""):
                _check_choice(problems, f"{where}.{key}", event.get(key), choices)
        detector = event.get("detector")
        if detector is not None and (not isinstance(detector, str) or len(detector) > 128):
            problems.append(f"{where}.detector: must be a string of at most 128 characters")
        excerpt_text = event.get("excerpt")
        if excerpt_text is not None and not isinstance(excerpt_text, str):
            problems.append(f"{where}.excerpt: must be a string")
        details = event.get("details")
        if details is not None and not isinstance(details, Mapping):
            problems.append(f"{where}.details: must be an object")
        when = None
        try:
            when = to_utc(event.get("time"), default=received_at)
        except (ValueError, TypeError, OverflowError, OSError):
            problems.append(f"{where}.time: must be ISO-8601 or epoch seconds/ms/µs/ns")
        if len(problems) > before:
            continue
        rows.append(
            make_row(
                event_id=event_id("api", trace_id, span_id, detector, event["direction"], event.get("time") or i, event["action"]),
                time=when,
                trace_id=trace_id,
                span_id=span_id,
                direction=event["direction"],
                detector=detector,
                detector_version=str(event.get("detector_version") or ""),
                category=event["category"],
                severity=event["severity"],
                action=event["action"],
                source="api",
                service=event.get("service"),
                user_id=event.get("user_id"),
                excerpt=safe_text(excerpt_text, 200) if excerpt_text else None,
                details=_bounded_details(details),
            )
        )
    if problems:
        raise GuardrailEventsError(problems)
    return rows
