"""Guardrails at ingest, inside the decoder processes.

Two passes:
* ``redact`` runs before the WAL, only when some detector is in redact mode: the
  text of every span is rewritten with the values masked, so the raw text never
  reaches disk (WAL included).
* ``flag`` runs after the request was acknowledged (never on the ack path): our
  detectors over every LLM, tool and retriever span, plus the guardrail results
  that arrived in the spans themselves (OpenInference GUARDRAIL spans, LiteLLM's
  guardrail spans, span events).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from typing import Any

import pyarrow as pa

from store.schema import GUARDRAIL_EVENTS

log = logging.getLogger(__name__)

SCANNED_KINDS = frozenset(("llm", "embedding", "tool", "retriever"))
TEXT_COLUMNS = ("input_value", "output_value", "status_message", "prompt_vars")
MESSAGE_COLUMNS = ("input_messages", "output_messages")
JSON_COLUMNS = ("attributes", "events")
ROW_COLUMNS = ("trace_id", "span_id", "name", "kind", "status", "start_time", "end_time", "service", "user_id",
               "attributes", "events", "input_messages", "output_messages", "input_value", "output_value",
               "request_params")


@dataclass
class GuardrailStage:
    runner: Any = None  # every enabled detector (flag pass)
    redactor: Any = None  # only the detectors in redact mode
    enabled: bool = False

    @property
    def redacts(self) -> bool:
        return self.redactor is not None

    @property
    def flags(self) -> bool:
        return self.enabled

    @classmethod
    def from_config(cls, config: dict[str, Any] | None) -> "GuardrailStage":
        config = dict(config or {})
        if config.pop("enabled", True) is False:
            return cls()
        from store.guardrails.config import DetectorConfig, DetectorSettings
        from store.guardrails.runner import GuardrailRunner

        dc = DetectorConfig.from_mapping(config)
        runner = GuardrailRunner(dc)
        redact_names = [d.name for d in runner.detectors if dc.settings(d.name).mode == "redact"]
        redactor = None
        if redact_names:
            only = {d.name: replace(dc.settings(d.name), enabled=d.name in redact_names) for d in runner.detectors}
            redactor = GuardrailRunner(replace(dc, detectors=only, default=DetectorSettings(enabled=False)))
        return cls(runner=runner, redactor=redactor, enabled=True)

    # -- redaction (before the WAL) --------------------------------------------------------
    def redact(self, batch: pa.RecordBatch) -> tuple[pa.RecordBatch, pa.RecordBatch | None]:
        from store.guardrails.model import DetectionContext
        from store.guardrails.redact import redact

        cols = {name: batch.column(name).to_pylist() for name in batch.schema.names}
        events: list[dict[str, Any]] = []

        def clean(text: str, direction: str, row: int) -> str:
            ctx = DetectionContext(direction=direction)  # type: ignore[arg-type]
            findings = self.redactor.scan_text(text, ctx)
            if not findings:
                return text
            events.extend(_redaction_rows(findings, text, cols, row, direction, self.redactor))
            return redact(text, findings)

        for i in range(batch.num_rows):
            for col in MESSAGE_COLUMNS:
                raw = cols[col][i]
                if raw:
                    direction = "output" if col.startswith("output") else "input"
                    cols[col][i] = _redact_messages(raw, lambda t, d=direction, r=i: clean(t, d, r))
            for col in TEXT_COLUMNS:
                if cols[col][i]:
                    cols[col][i] = clean(cols[col][i], "output" if col == "output_value" else "input", i)
            for col in JSON_COLUMNS:
                if cols[col][i]:
                    cols[col][i] = _redact_json_strings(cols[col][i], lambda t, r=i: clean(t, "input", r))
        out = pa.RecordBatch.from_pydict(cols, schema=batch.schema)
        return out, _events_batch(events)

    # -- flagging (after the ack) ----------------------------------------------------------
    def flag(self, batch: pa.RecordBatch) -> pa.RecordBatch | None:
        from store.guardrails import external
        from store.guardrails.events import findings_to_rows
        from store.guardrails.spans import span_scan_inputs

        names = [n for n in ROW_COLUMNS if n in batch.schema.names]
        rows = batch.select(names).to_pylist()
        events: list[dict[str, Any]] = []
        for row in rows:
            try:
                kind = row.get("kind")
                if kind == "guardrail":
                    events.extend(_external_guardrail_rows(row))
                if row.get("events") and "guardrail" in row["events"]:
                    events.extend(external.events_from_span_events(row))
                if kind not in SCANNED_KINDS:
                    continue
                scan = span_scan_inputs(row)
                if not scan.inputs and not scan.outputs:
                    continue
                findings = self.runner.scan_span(scan.inputs, scan.outputs, **scan.kwargs())
                if self.redactor is not None:  # already recorded by the redaction pass
                    findings = [f for f in findings if self.runner.action(f) != "redacted"]
                if findings:
                    events.extend(findings_to_rows(
                        findings, scan.inputs, scan.outputs, trace_id=row["trace_id"], span_id=row["span_id"],
                        time=row.get("end_time"), service=row.get("service"), user_id=row.get("user_id"),
                        runner=self.runner))
            except Exception:  # one odd span must not stop the others' checks
                log.exception("guardrail check failed on span %s", row.get("span_id"))
        return _events_batch(events)


def _external_guardrail_rows(row: dict[str, Any]) -> list[dict[str, Any]]:
    from store.guardrails import external

    attrs = json.loads(row["attributes"]) if row.get("attributes") else {}
    if "guardrail_status" in attrs:  # LiteLLM's otel callback: one span per guardrail run
        info = {k: attrs.get(k) for k in ("guardrail_name", "guardrail_mode", "guardrail_status",
                                            "guardrail_response", "guardrail_action")}
        masked = attrs.get("masked_entity_count")
        info["masked_entity_count"] = json.loads(masked) if isinstance(masked, str) else masked
        return external.events_from_litellm({"guardrail_information": [info]}, trace_id=row["trace_id"],
                                            span_id=row["span_id"], service=row.get("service"))
    return external.events_from_openinference_span(row)


def _redaction_rows(findings: list[Any], text: str, cols: dict[str, list[Any]], i: int, direction: str,
                    runner: Any) -> list[dict[str, Any]]:
    from store.guardrails.events import findings_to_rows

    fixed = [replace(f, direction=direction, segment=0) for f in findings]
    texts = ([text], []) if direction == "input" else ([], [text])
    return findings_to_rows(fixed, texts[0], texts[1], trace_id=cols["trace_id"][i], span_id=cols["span_id"][i],
                            time=cols["end_time"][i], service=cols["service"][i], user_id=cols["user_id"][i],
                            runner=runner)


def _redact_messages(raw: str, clean: Any) -> str:
    try:
        msgs = json.loads(raw)
    except ValueError:
        return clean(raw)
    if not isinstance(msgs, list):
        return clean(raw)
    for m in msgs:
        if not isinstance(m, dict):
            continue
        if isinstance(m.get("content"), str):
            m["content"] = clean(m["content"])
        for tc in m.get("tool_calls") or []:
            if isinstance(tc, dict) and isinstance(tc.get("arguments"), str):
                tc["arguments"] = clean(tc["arguments"])
    return json.dumps(msgs, ensure_ascii=False)


def _redact_json_strings(raw: str, clean: Any) -> str:
    try:
        doc = json.loads(raw)
    except ValueError:
        return clean(raw)

    def walk(x: Any) -> Any:
        if isinstance(x, str):
            return clean(x) if len(x) >= 6 else x
        if isinstance(x, list):
            return [walk(v) for v in x]
        if isinstance(x, dict):
            return {k: walk(v) for k, v in x.items()}
        return x

    return json.dumps(walk(doc), ensure_ascii=False)


def _events_batch(rows: list[dict[str, Any]]) -> pa.RecordBatch | None:
    if not rows:
        return None
    return pa.RecordBatch.from_pylist(rows, schema=GUARDRAIL_EVENTS)
