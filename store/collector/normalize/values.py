"""Converting OTLP AnyValue to Python, only for the few values that need it."""

from __future__ import annotations

import base64
import math
from typing import Any

import orjson

MAX_TEXT = 1_000_000  # characters kept of one text value; the rest is cut with a marker
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


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
    if not isinstance(x, int):
        try:
            x = int(float(x))
        except (TypeError, ValueError, OverflowError):
            return None
    return x if _INT64_MIN <= x <= _INT64_MAX else None  # the columns are int64


def as_float(v: Any) -> float | None:
    x = to_python(v)
    if isinstance(x, bool) or x is None:
        return None
    try:
        f = float(x)
    except (TypeError, ValueError, OverflowError):
        return None
    return f if math.isfinite(f) else None


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


def clip_json(x: Any) -> str:
    """JSON of ``x`` in at most about MAX_TEXT characters that is still valid JSON (readers
    parse these columns): the long strings inside are cut, each with a visible marker."""
    s = dumps(x)
    if len(s) <= MAX_TEXT:
        return s
    limit = MAX_TEXT // 2
    while limit >= 64:
        cut = dumps(_clip_strings(x, limit))
        if len(cut) <= MAX_TEXT:
            return cut
        limit //= 4
    return dumps(_clip_items(_clip_strings(x, 64), len(s)))


def _clip_strings(x: Any, limit: int) -> Any:
    if isinstance(x, str):
        return x if len(x) <= limit else x[:limit] + f"…[cut {len(x) - limit} chars]"
    if isinstance(x, list):
        return [_clip_strings(i, limit) for i in x]
    if isinstance(x, dict):
        return {k: _clip_strings(v, limit) for k, v in x.items()}
    return x


def _clip_items(x: Any, total: int) -> Any:
    """Too many small items even so: keep the first ones, in the same container, and say so."""
    note = f"JSON of {total} chars cut to fit"
    budget, size = MAX_TEXT - 200, 0
    if isinstance(x, dict):
        kept: dict[str, Any] = {}
        for k, v in x.items():
            size += len(k) + len(dumps(v)) + 4
            if size > budget:
                break
            kept[k] = v
        return kept | {"llmops.cut": note}
    if isinstance(x, list):
        items = []
        for v in x:
            size += len(dumps(v)) + 1
            if size > budget:
                break
            items.append(v)
        return items + [{"llmops.cut": note}]
    return note


def dumps(x: Any) -> str:
    return orjson.dumps(x, default=str).decode()
