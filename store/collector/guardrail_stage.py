"""Guardrail detection on normalized span batches (filled in by store.guardrails)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa


@dataclass
class GuardrailStage:
    runner: Any = None
    redacts: bool = False
    flags: bool = False

    @classmethod
    def from_config(cls, config: dict[str, Any] | None) -> "GuardrailStage":
        return cls()

    def redact(self, batch: pa.RecordBatch) -> tuple[pa.RecordBatch, pa.RecordBatch | None]:
        return batch, None

    def flag(self, batch: pa.RecordBatch) -> pa.RecordBatch | None:
        return None
