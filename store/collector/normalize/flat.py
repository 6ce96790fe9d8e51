"""Flattened message families (``llm.input_messages.0.message.role``, ``gen_ai.prompt.0.content``),
assembled from a shape plan: the common fields go straight in, nested ones (tool calls,
content parts) through the generic unflattening."""

from __future__ import annotations

from typing import Any

from store.collector.normalize import messages as M
from store.collector.normalize.plan import FlatFamily
from store.collector.normalize.values import as_str, to_python


def _assemble(attrs: dict[str, Any], fam: FlatFamily) -> list[dict[str, Any]]:
    msgs: list[dict[str, Any]] = [{} for _ in range(fam.count)]
    for idx, name, key in fam.simple:
        msgs[idx][name] = as_str(attrs[key])
    return msgs


def _nested(attrs: dict[str, Any], fam: FlatFamily) -> dict[int, Any]:
    """Nested fields by item index (indices may be sparse: only some messages have tool calls)."""
    by_index: dict[int, list[tuple[str, Any]]] = {}
    for suffix, key in fam.nested:
        idx, _, rest = suffix.partition(".")
        by_index.setdefault(int(idx), []).append((rest, to_python(attrs[key])))
    return {i: M.unflatten(pairs) for i, pairs in by_index.items()}


def openinference_messages(attrs: dict[str, Any], fam: FlatFamily) -> list[dict[str, Any]]:
    msgs = _assemble(attrs, fam)
    if not fam.nested:
        return M.clean_simple(msgs)
    items = [{"message": m} for m in msgs]
    for i, extra in _nested(attrs, fam).items():
        if i < len(items) and isinstance(extra, dict) and isinstance(extra.get("message"), dict):
            for k, v in extra["message"].items():
                items[i]["message"].setdefault(k, v)
    return M.from_openinference(items)


def openllmetry_messages(attrs: dict[str, Any], fam: FlatFamily) -> list[dict[str, Any]]:
    msgs = _assemble(attrs, fam)
    for m in msgs:
        if "refusal" in m:  # OpenLLMetry writes a refusal instead of the content
            refusal = m.pop("refusal")
            m.setdefault("content", refusal)
    if not fam.nested:
        return M.clean_simple(msgs)
    for i, extra in _nested(attrs, fam).items():
        if i < len(msgs) and isinstance(extra, dict):
            for k, v in extra.items():
                msgs[i].setdefault(k, v)
    return M.from_openllmetry(msgs)


def generic(attrs: dict[str, Any], fam: FlatFamily) -> list[Any]:
    """Families with no message shape (tool definitions) are all nested."""
    return [item for _, item in sorted(_nested(attrs, fam).items())]
