"""From a normalized span row to what the runner scans."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import orjson

from store.guardrails.runner import Segment


def _loads(raw: str) -> Any:
    try:
        return orjson.loads(raw)  # several times faster than json on the ingest path
    except orjson.JSONDecodeError:
        return json.loads(raw)  # what orjson refuses (NaN, huge integers) json may still read

_ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant", "tool": "tool", "function": "tool"}


def segments_from_messages(messages: Sequence[Mapping[str, Any]] | str | None) -> tuple[list[Segment], str | None]:
    """Segments for normalized chat messages (a list or its JSON) and the
    system prompt (all system messages joined). Tool-call arguments are
    scanned as the assistant's text."""
    if isinstance(messages, str):
        messages = _loads(messages) if messages else []
    segments: list[Segment] = []
    system_parts: list[str] = []
    for message in messages or []:
        role = _ROLES.get(str(message.get("role") or "user"), "user")
        content = message.get("content")
        if isinstance(content, str) and content:
            segments.append(Segment(content, role))  # type: ignore[arg-type]
            if role == "system":
                system_parts.append(content)
        for call in message.get("tool_calls") or []:
            arguments = call.get("arguments")
            if isinstance(arguments, str) and arguments:
                segments.append(Segment(arguments, "assistant"))
    return segments, ("\n".join(system_parts) or None)


@dataclass(slots=True)
class ScanInputs:
    inputs: list[Segment] = field(default_factory=list)
    outputs: list[Segment] = field(default_factory=list)
    system_prompt: str | None = None
    response_format: str | None = None
    json_schema: dict | None = None

    def kwargs(self) -> dict[str, Any]:
        return {"system_prompt": self.system_prompt, "response_format": self.response_format, "json_schema": self.json_schema}


def response_format_of(request_params: Mapping[str, Any] | str | None) -> tuple[str | None, dict | None]:
    """("json_object" | "json_schema" | "json", schema) when JSON was asked for."""
    if isinstance(request_params, str):
        if "json" not in request_params.lower() and "\\u" not in request_params:
            return None, None  # every JSON format names itself; skip the parse
        request_params = _loads(request_params) if request_params else {}
    fmt = (request_params or {}).get("response_format")
    if isinstance(fmt, str):
        return ("json", None) if "json" in fmt.lower() else (None, None)
    if not isinstance(fmt, Mapping):
        return None, None
    kind = str(fmt.get("type") or "")
    if kind == "json_schema":
        schema = fmt.get("json_schema")
        return kind, dict(schema) if isinstance(schema, Mapping) else None
    return (kind, None) if kind in ("json_object", "json") else (None, None)


def span_scan_inputs(span: Mapping[str, Any]) -> ScanInputs:
    """What to scan for one span row (SPANS columns). LLM spans: their
    messages. Tool spans: arguments as input, the result as ``tool`` text.
    Retriever spans: documents as ``retrieved`` text. Others: input_value and
    output_value as user/assistant text."""
    kind = str(span.get("kind") or "unknown")
    scan = ScanInputs()
    inputs, system_prompt = segments_from_messages(span.get("input_messages"))
    outputs, _ = segments_from_messages(span.get("output_messages"))
    scan.inputs, scan.outputs, scan.system_prompt = inputs, outputs, system_prompt
    in_value, out_value = span.get("input_value"), span.get("output_value")
    if isinstance(in_value, str) and in_value and not inputs:
        scan.inputs.append(Segment(in_value, "user"))
    if isinstance(out_value, str) and out_value and not outputs:
        role = {"tool": "tool", "retriever": "retrieved"}.get(kind, "assistant")
        # a tool's or retriever's result is fed to the next model call: scan it as input text
        if role in ("tool", "retrieved"):
            scan.inputs.append(Segment(out_value, role))  # type: ignore[arg-type]
        else:
            scan.outputs.append(Segment(out_value, "assistant"))
    scan.response_format, scan.json_schema = response_format_of(span.get("request_params"))
    return scan
