"""Converting OTLP AnyValue to Python, only for the few values that need it."""

from __future__ import annotations

import base64
from typing import Any

import orjson

MAX_TEXT = 1_000_000  # characters kept of one text value; the rest is cut with a marker


def to_python(v: Any) -> Any:
    which = v.WhichOneof("value")
    if which == "string_value":
        return v.string_value
    if which == "int_value":
        return v.int_value
    if which == "double_value":
        return v.double_value
    if which == "bool_value":
        return v.bool_value
    if which == "array_value":
        return [to_python(x) for x in v.array_value.values]
    if which == "kvlist_value":
        return {kv.key: to_python(kv.value) for kv in v.kvlist_value.values}
    if which == "bytes_value":
        return "base64:" + base64.b64encode(v.bytes_value).decode()
    return None


def as_str(v: Any) -> str | None:
    s = v.string_value
    if s:
        return s
    x = to_python(v)
    if x is None or x == "":
        return None
    if isinstance(x, (list, dict)):
        return orjson.dumps(x).decode()
    return str(x)


def as_int(v: Any) -> int | None:
    i = v.int_value
    if i:
        return i
    x = to_python(v)
    if isinstance(x, bool) or x is None:
        return None
    if isinstance(x, int):
        return x
    try:
        return int(float(x))
    except (TypeError, ValueError, OverflowError):
        return None


def as_float(v: Any) -> float | None:
    x = to_python(v)
    if isinstance(x, bool) or x is None:
        return None
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def as_json(v: Any) -> Any:
    """A value that may be structured already, or a JSON document in a string."""
    if v.WhichOneof("value") == "string_value":
        s = v.string_value
        if s[:1] in ("[", "{"):
            try:
                return orjson.loads(s)
            except orjson.JSONDecodeError:
                return s
        return s
    return to_python(v)


def as_str_list(v: Any) -> list[str]:
    if v.HasField("array_value"):
        return [i.string_value or str(to_python(i)) for i in v.array_value.values]
    x = as_json(v)
    if isinstance(x, list):
        return [str(i) for i in x if i is not None and i != ""]
    if isinstance(x, str):
        return [p.strip() for p in x.split(",") if p.strip()]
    return [] if x is None else [str(x)]


def clip(s: str | None) -> str | None:
    """Keep huge payloads from blowing up a row; the cut is visible, never silent."""
    if s is not None and len(s) > MAX_TEXT:
        return s[:MAX_TEXT] + f"…[cut {len(s) - MAX_TEXT} chars]"
    return s


def dumps(x: Any) -> str:
    return orjson.dumps(x, default=str).decode()
