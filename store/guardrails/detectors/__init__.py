"""The built-in detectors, by family."""

from __future__ import annotations

from typing import Callable, Sequence

from store.guardrails.detectors.injection import INJECTION_DETECTORS, injection_possible
from store.guardrails.detectors.output import OUTPUT_DETECTORS
from store.guardrails.detectors.pii import PII_DETECTORS
from store.guardrails.detectors.secrets import API_KEY_MARKERS, SECRET_DETECTORS, AwsSecretKeyDetector
from store.guardrails.model import UNTRUSTED_ROLES, DetectionContext, Detector
from store.guardrails.prefilter import Markers, TextFacts

# Detectors whose findings mask values (and so run again over excerpts).
MASKING_DETECTORS = PII_DETECTORS + SECRET_DETECTORS

# What any secret pattern starts with (PII needs an "@" or a digit).
VALUE_MARKERS = Markers(API_KEY_MARKERS + AwsSecretKeyDetector.markers + ("-----BEGIN", "eyJ"))


def _values_possible(facts: TextFacts, ctxs: Sequence[DetectionContext]) -> bool:
    text = facts.text
    return "@" in text or facts.digits > 0 or VALUE_MARKERS.in_text(text)


def _injection_possible(facts: TextFacts, ctxs: Sequence[DetectionContext]) -> bool:
    return injection_possible(facts, any(ctx.role in UNTRUSTED_ROLES for ctx in ctxs))


def _unicode_possible(facts: TextFacts, ctxs: Sequence[DetectionContext]) -> bool:
    return not facts.text.isascii()


# One check per family and span, over the span's texts that the family applies
# to, joined: it holds whenever a member's own prefilter holds on one of them,
# so a span that fails it skips the whole family.
FAMILY_GATES: dict[str, Callable[[TextFacts, Sequence[DetectionContext]], bool]] = {
    "values": _values_possible,
    "injection": _injection_possible,
    "unicode": _unicode_possible,
}


def default_detectors() -> list[Detector]:
    return [cls() for cls in PII_DETECTORS + SECRET_DETECTORS + INJECTION_DETECTORS + OUTPUT_DETECTORS]


def masking_detectors() -> list[Detector]:
    return [cls() for cls in MASKING_DETECTORS]
