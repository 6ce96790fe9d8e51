"""The built-in detectors, by family."""

from __future__ import annotations

from store.guardrails.detectors.injection import INJECTION_DETECTORS
from store.guardrails.detectors.output import OUTPUT_DETECTORS
from store.guardrails.detectors.pii import PII_DETECTORS
from store.guardrails.detectors.secrets import SECRET_DETECTORS
from store.guardrails.model import Detector

# Detectors whose findings mask values (and so run again over excerpts).
MASKING_DETECTORS = PII_DETECTORS + SECRET_DETECTORS


def default_detectors() -> list[Detector]:
    return [cls() for cls in PII_DETECTORS + SECRET_DETECTORS + INJECTION_DETECTORS + OUTPUT_DETECTORS]


def masking_detectors() -> list[Detector]:
    return [cls() for cls in MASKING_DETECTORS]
