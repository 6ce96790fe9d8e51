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
import pyarrow.compute as pc

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

    def _prefilter(self, runner: Any) -> Any:
        """The batch patterns of a runner's detectors, built on first use."""
        from store.guardrails.batch import BatchPrefilter

        cache = self.__dict__.setdefault("_prefilters", {})
        if id(runner) not in cache:
            cache[id(runner)] = BatchPrefilter(runner.detectors)
        return cache[id(runner)]

    # -- redaction (before the WAL) --------------------------------------------------------
    def redact(self, batch: pa.RecordBatch) -> tuple[pa.RecordBatch, pa.RecordBatch | None]:
        from store.guardrails.model import DetectionContext
        from store.guardrails.redact import redact

        rows = self._rows_to_redact(batch)
        if not rows:
            return batch, None  # nothing any redacting detector could find: the batch as it came
        names = batch.schema.names
        at = pa.array(rows, pa.int64())
        cells = {c: batch.column(c).take(at).to_pylist() for c in (*MESSAGE_COLUMNS, *TEXT_COLUMNS, *JSON_COLUMNS) if c in names}
        meta = {c: batch.column(c).take(at).to_pylist() if c in names else [None] * len(rows)
                for c in ("trace_id", "span_id", "end_time", "service", "user_id")}  # fmt: skip
        events: list[dict[str, Any]] = []
        changes: dict[str, dict[int, Any]] = {}

        def clean(text: str, direction: str, k: int) -> str:
            ctx = DetectionContext(direction=direction)  # type: ignore[arg-type]
            findings = self.redactor.scan_text(text, ctx)
            if not findings:
                return text
            events.extend(_redaction_rows(findings, text, meta, k, direction, self.redactor))
            return redact(text, findings)

        def update(col: str, k: int, value: Any) -> None:
            if value != cells[col][k]:
                changes.setdefault(col, {})[rows[k]] = value

        for k in range(len(rows)):
            for col in MESSAGE_COLUMNS:
                raw = cells[col][k] if col in cells else None
                if raw:
                    direction = "output" if col.startswith("output") else "input"
                    update(col, k, _redact_messages(raw, lambda t, d=direction, r=k: clean(t, d, r)))
            for col in TEXT_COLUMNS:
                if col in cells and cells[col][k]:
                    update(col, k, clean(cells[col][k], "output" if col == "output_value" else "input", k))
            for col in JSON_COLUMNS:
                if col in cells and cells[col][k]:
                    update(col, k, _redact_json_strings(cells[col][k], lambda t, r=k: clean(t, "input", r)))
        if changes:
            arrays = []
            for i, f in enumerate(batch.schema):
                if f.name in changes:
                    values = batch.column(i).to_pylist()
                    for row, value in changes[f.name].items():
                        values[row] = value
                    arrays.append(pa.array(values, type=f.type))
                else:
                    arrays.append(batch.column(i))
            batch = pa.RecordBatch.from_arrays(arrays, schema=batch.schema)
        return batch, _events_batch(events)

    def _rows_to_redact(self, batch: pa.RecordBatch) -> list[int]:
        """Rows where a redacting detector could find something: a batch
        pattern over the raw column values (JSON included, escapes and all),
        or, for a few rows or detectors without one, the detectors' prefilters."""
        names = [c for c in (*MESSAGE_COLUMNS, *TEXT_COLUMNS, *JSON_COLUMNS) if c in batch.schema.names]
        if not names or not batch.num_rows:
            return []
        from store.guardrails.batch import MIN_VALUE_TEXTS, matches

        columns = [pc.cast(batch.column(n), pa.large_string()) for n in names]
        joined = columns[0] if len(columns) == 1 else pc.binary_join_element_wise(
            *columns, pa.scalar("\n", pa.large_string()), null_handling="replace", null_replacement="")
        if not all(getattr(d, "family", "") == "values" for d in self.redactor.detectors):
            return list(range(batch.num_rows))  # a detector the value checks do not speak for
        pattern = self._prefilter(self.redactor).values
        if pattern is not None and batch.num_rows >= MIN_VALUE_TEXTS:
            return [i for i, hit in enumerate(matches(joined.fill_null(""), pattern)) if hit]
        return [i for i, text in enumerate(joined.to_pylist()) if text and _may_hold_values(self.redactor, text)]

    # -- flagging (after the ack) ----------------------------------------------------------
    def flag(self, batch: pa.RecordBatch) -> pa.RecordBatch | None:
        from store.guardrails import external
        from store.guardrails.events import findings_to_rows
        from store.guardrails.spans import span_scan_inputs

        names = batch.schema.names
        n = batch.num_rows

        def column(name: str) -> list[Any]:
            return batch.column(name).to_pylist() if name in names else [None] * n

        kinds, span_events = column("kind"), column("events")
        outside = [i for i in range(n) if kinds[i] == "guardrail" or (span_events[i] and "guardrail" in span_events[i])]
        full_rows: dict[int, dict[str, Any]] = {}
        if outside:  # guardrail results that came with the spans: whole rows, few of them
            selected = batch.select([c for c in ROW_COLUMNS if c in names])
            full_rows = dict(zip(outside, selected.take(pa.array(outside, pa.int64())).to_pylist()))
        scanned = [i for i in range(n) if kinds[i] in SCANNED_KINDS]
        texts = {c: column(c) if scanned else [] for c in _SCAN_COLUMNS}
        scans: dict[int, Any] = {}
        for i in scanned:
            try:
                scan = span_scan_inputs({"kind": kinds[i], **{c: texts[c][i] for c in _SCAN_COLUMNS}})
            except Exception:  # one odd span must not stop the others' checks
                log.exception("guardrail check failed on span %s", _value(batch, "span_id", i))
                continue
            if scan.inputs or scan.outputs:
                scans[i] = scan
        live = self._live_families(scans)
        events: list[dict[str, Any]] = []
        for i in sorted(set(outside) | set(scans)):
            try:
                row = full_rows.get(i)
                if row is not None:
                    if kinds[i] == "guardrail":
                        events.extend(_external_guardrail_rows(row))
                    if row.get("events") and "guardrail" in row["events"]:
                        events.extend(external.events_from_span_events(row))
                scan = scans.get(i)
                families = live.get(i) if live is not None else None
                if scan is None or (families is not None and not families):
                    continue
                findings = self.runner.scan_span(scan.inputs, scan.outputs, **scan.kwargs(), families=families)
                if self.redactor is not None:  # already recorded by the redaction pass
                    findings = [f for f in findings if self.runner.action(f) != "redacted"]
                if findings:
                    events.extend(findings_to_rows(
                        findings, scan.inputs, scan.outputs, trace_id=_value(batch, "trace_id", i),
                        span_id=_value(batch, "span_id", i), time=_value(batch, "end_time", i),
                        service=_value(batch, "service", i), user_id=_value(batch, "user_id", i), runner=self.runner))
            except Exception:  # one odd span must not stop the others' checks
                log.exception("guardrail check failed on span %s", _value(batch, "span_id", i))
        return _events_batch(events)

    def _live_families(self, scans: dict[int, Any]) -> dict[int, set[str]] | None:
        """Per span, the detector families that could fire on it, from one
        vectorized pass per family over the batch's texts; None for a batch
        too small to pay for that (the runner then checks each span itself)."""
        from store.guardrails.batch import MIN_TEXTS, non_ascii, strings
        from store.guardrails.detectors.output import _prompt_shingles

        owners: list[int] = []
        every: list[str] = []
        injectable: list[int] = []  # positions in `every`
        replies: list[int] = []
        live: dict[int, set[str]] = {i: set() for i in scans}
        for i, scan in scans.items():
            for seg in scan.inputs:
                if seg.role != "system" and seg.role != "assistant":
                    injectable.append(len(every))
                owners.append(i)
                every.append(seg.text)
            answered = False
            for seg in scan.outputs:
                if seg.role == "assistant":
                    replies.append(len(every))
                    answered = True
                owners.append(i)
                every.append(seg.text)
            if answered and scan.response_format is not None:
                live[i].add("json")
            if answered and scan.system_prompt and _prompt_shingles(scan.system_prompt)[0] >= 8:
                live[i].add("leak")
        if len(every) < MIN_TEXTS:
            return None
        gates = self._prefilter(self.runner)
        texts = strings(every)
        for i, hit, odd in zip(owners, gates.values_hits(texts), non_ascii(texts)):
            if hit:
                live[i].add("values")
            if odd:
                live[i].add("unicode")
        for family, positions, check in (("injection", injectable, gates.injection_hits),
                                         ("refusal", replies, gates.refusal_hits)):
            if positions:
                for k, hit in zip(positions, check(texts.take(pa.array(positions, pa.int64())))):
                    if hit:
                        live[owners[k]].add(family)
        others = {getattr(d, "family", "") for d in self.runner.detectors} - _BATCH_FAMILIES
        if others:  # detectors the batch patterns know nothing about run everywhere
            for families in live.values():
                families |= others
        return live


_SCAN_COLUMNS = ("input_messages", "output_messages", "input_value", "output_value", "request_params")
_BATCH_FAMILIES = frozenset({"values", "unicode", "injection", "refusal", "json", "leak"})


def _value(batch: pa.RecordBatch, name: str, i: int) -> Any:
    return batch.column(name)[i].as_py() if name in batch.schema.names else None


def _may_hold_values(runner: Any, text: str) -> bool:
    """The per-text first tier of the redaction pass over raw (maybe JSON)
    text: the value detectors' prefilters look for digits, "@" and ASCII
    markers, which JSON escaping leaves as they are, save ``\\u`` escapes."""
    from store.guardrails.model import DetectionContext
    from store.guardrails.prefilter import TextFacts

    if "\\u" in text:
        return True  # a JSON escape may hide anything
    facts, ctx = TextFacts(text), DetectionContext()
    return any(d.prefilter(facts, ctx) for d in runner.detectors)


def _external_guardrail_rows(row: dict[str, Any]) -> list[dict[str, Any]]:
    from store.guardrails import external

    attrs = json.loads(row["attributes"]) if row.get("attributes") else {}
    if "guardrail_status" in attrs:  # LiteLLM's otel callback: one span per guardrail run
        info = {k: attrs.get(k) for k in ("guardrail_name", "guardrail_mode", "guardrail_status",
                                            "guardrail_response", "guardrail_action")}
        masked = attrs.get("masked_entity_count")
        info["masked_entity_count"] = json.loads(masked) if isinstance(masked, str) else masked
        start = row.get("start_time")
        if start is not None:  # the guardrail ran then, not when we stored it
            info["start_time"] = start.timestamp() if hasattr(start, "timestamp") else start
        if info.get("guardrail_response") is not None:  # what the guard said is the best excerpt there is
            info["guardrail_request"] = str(info["guardrail_response"])
        return external.events_from_litellm({"guardrail_information": [info]}, trace_id=row["trace_id"],
                                            span_id=row["span_id"], service=row.get("service"))
    # The normalizer moved input.value/output.value into columns; the parser reads
    # the guard's verdict from them as attributes.
    for key, col in (("input.value", "input_value"), ("output.value", "output_value")):
        if row.get(col) is not None:
            attrs.setdefault(key, row[col])
    return external.events_from_openinference_span({**row, "attributes": attrs})


def _redaction_rows(findings: list[Any], text: str, cols: dict[str, list[Any]], i: int, direction: str,
                    runner: Any) -> list[dict[str, Any]]:  # cols: trace_id, span_id, end_time, service, user_id
    from store.guardrails.events import findings_to_rows

    fixed = [replace(f, direction=direction, segment=0) for f in findings]
    texts = ([text], []) if direction == "input" else ([], [text])
    return findings_to_rows(fixed, texts[0], texts[1], trace_id=cols["trace_id"][i], span_id=cols["span_id"][i],
                            time=cols["end_time"][i], service=cols["service"][i], user_id=cols["user_id"][i],
                            runner=runner)


def _redact_messages(raw: str, clean: Any) -> str:
    """The messages with every text cleaned; ``raw`` itself when nothing changed
    (a clean row is stored byte for byte as it came)."""
    try:
        msgs = json.loads(raw)
    except ValueError:
        return clean(raw)
    if not isinstance(msgs, list):
        return clean(raw)
    changed = False
    for m in msgs:
        if not isinstance(m, dict):
            continue
        if isinstance(m.get("content"), str):
            text = clean(m["content"])
            changed = changed or text != m["content"]
            m["content"] = text
        for tc in m.get("tool_calls") or []:
            if isinstance(tc, dict) and isinstance(tc.get("arguments"), str):
                text = clean(tc["arguments"])
                changed = changed or text != tc["arguments"]
                tc["arguments"] = text
    return json.dumps(msgs, ensure_ascii=False) if changed else raw


def _redact_json_strings(raw: str, clean: Any) -> str:
    try:
        doc = json.loads(raw)
    except ValueError:
        return clean(raw)
    changed = False

    def walk(x: Any) -> Any:
        nonlocal changed
        if isinstance(x, str):
            text = clean(x) if len(x) >= 6 else x
            changed = changed or text != x
            return text
        if isinstance(x, list):
            return [walk(v) for v in x]
        if isinstance(x, dict):
            return {k: walk(v) for k, v in x.items()}
        return x

    cleaned = walk(doc)
    return json.dumps(cleaned, ensure_ascii=False) if changed else raw


def _events_batch(rows: list[dict[str, Any]]) -> pa.RecordBatch | None:
    if not rows:
        return None
    return pa.RecordBatch.from_pylist(rows, schema=GUARDRAIL_EVENTS)
