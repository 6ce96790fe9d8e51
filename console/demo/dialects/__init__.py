"""The same call, written the way each instrumentation writes it.

One module per family of attribute names the collector understands:
``genai`` (OTel GenAI, new names and the old ones), ``openinference``,
``openllmetry`` (Traceloop), ``langfuse``, ``litellm``, and ``http`` for the plain
OpenTelemetry spans around them. Each returns ``SpanShape``s; the scenarios place them.
"""

from __future__ import annotations

import json
from typing import Any

from console.demo.llm import CallError
from console.demo.spans import ERROR, SpanShape


def dumps(x: Any) -> str:
    return json.dumps(x, ensure_ascii=False)


def failed(shape: SpanShape, error: CallError | None) -> SpanShape:
    """Mark a span failed the way OTel says: ERROR status, its message, ``error.type``."""
    if error is not None:
        shape.status = ERROR
        shape.message = error.message
        shape.attrs["error.type"] = error.type
    return shape


def parse_args(arguments: str) -> Any:
    try:
        return json.loads(arguments)
    except ValueError:
        return arguments
