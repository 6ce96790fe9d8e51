"""Which detectors run, at what severity, and whether they flag or redact."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

from store.guardrails.model import SEVERITIES, Severity

Mode = Literal["flag", "redact"]
MODES: tuple[str, ...] = ("flag", "redact")


@dataclass(frozen=True, slots=True)
class DetectorSettings:
    enabled: bool = True
    severity: Severity | None = None  # None keeps the detector's own
    mode: Mode = "flag"


@dataclass(frozen=True)
class DetectorConfig:
    """Per-detector settings, looked up by exact detector name first
    (``pii.email``), then by its family prefix (``pii``), then the default.

    ``max_chars`` caps how much of one text is scanned (a 1 MB tool output is
    scanned in its first ``max_chars`` characters; findings say so).
    ``min_confidence`` drops weaker findings (e.g. 0.6 drops emails in code).
    """

    detectors: Mapping[str, DetectorSettings] = field(default_factory=dict)
    default: DetectorSettings = DetectorSettings()
    min_confidence: float = 0.0
    max_chars: int = 65536

    def settings(self, detector_name: str) -> DetectorSettings:
        if detector_name in self.detectors:
            return self.detectors[detector_name]
        family = detector_name.split(".", 1)[0]
        return self.detectors.get(family, self.default)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> DetectorConfig:
        """Build from a plain mapping (a TOML/YAML section), e.g.
        ``{"min_confidence": 0.6, "detectors": {"pii.email": {"mode": "redact"},
        "output.refusal": {"enabled": false}, "secret": {"severity": "critical"}}}``.
        Raises ValueError naming the bad key."""
        detectors: dict[str, DetectorSettings] = {}
        for name, value in (raw.get("detectors") or {}).items():
            if not isinstance(value, Mapping):
                raise ValueError(f"detectors.{name}: expected a table")
            unknown = set(value) - {"enabled", "severity", "mode"}
            if unknown:
                raise ValueError(f"detectors.{name}: unknown keys {sorted(unknown)}")
            severity = value.get("severity")
            if severity is not None and severity not in SEVERITIES:
                raise ValueError(f"detectors.{name}.severity: must be one of {', '.join(SEVERITIES)}")
            mode = value.get("mode", "flag")
            if mode not in MODES:
                raise ValueError(f"detectors.{name}.mode: must be flag or redact")
            detectors[name] = DetectorSettings(bool(value.get("enabled", True)), severity, mode)
        return cls(
            detectors=detectors,
            min_confidence=float(raw.get("min_confidence", 0.0)),
            max_chars=int(raw.get("max_chars", 65536)),
        )
