"""Headless guardrail detection: PII, secrets, prompt injection and jailbreaks,
output checks; redaction; GUARDRAIL_EVENTS rows from our findings and from
external guardrails. No Textual here.

    runner = GuardrailRunner(DetectorConfig())
    findings = runner.scan_span(["my card is 4111 1111 1111 1111"], ["..."])
    rows = findings_to_rows(findings, inputs, outputs, trace_id=..., span_id=..., runner=runner)
"""

from store.guardrails.config import DetectorConfig, DetectorSettings
from store.guardrails.events import event_id, findings_to_rows
from store.guardrails.external import (
    GuardrailEventsError,
    events_from_api,
    events_from_litellm,
    events_from_openinference_span,
    events_from_span_events,
)
from store.guardrails.model import DetectionContext, Detector, Finding
from store.guardrails.redact import excerpt, redact, sanitize
from store.guardrails.runner import GuardrailRunner, Segment
from store.guardrails.spans import segments_from_messages, span_scan_inputs

__all__ = [
    "DetectionContext",
    "Detector",
    "DetectorConfig",
    "DetectorSettings",
    "Finding",
    "GuardrailEventsError",
    "GuardrailRunner",
    "Segment",
    "event_id",
    "events_from_api",
    "events_from_litellm",
    "events_from_openinference_span",
    "events_from_span_events",
    "excerpt",
    "findings_to_rows",
    "redact",
    "sanitize",
    "segments_from_messages",
    "span_scan_inputs",
]
