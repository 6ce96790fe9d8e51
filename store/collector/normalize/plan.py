"""Per-shape plans: spans from one instrumentation carry the same attribute keys, so
the work of sorting keys into mapped, flattened and raw is done once per shape."""

from __future__ import annotations

from dataclasses import dataclass, field

from store.collector.normalize import keys as K

_SIMPLE = frozenset(("role", "content", "name", "tool_call_id", "finish_reason", "refusal"))
_WRAPPER = {K.OI_INPUT: "message.", K.OI_OUTPUT: "message.", K.OLL_PROMPT: "", K.OLL_COMPLETION: ""}
# Nested message fields the converters understand; any other key of a message family
# (Azure's gen_ai.prompt.prompt_filter_results, ...content_filter_results) stays raw.
_OI_NESTED = ("message.tool_calls.", "message.contents.", "message.function_call")
_OLL_NESTED = ("tool_calls.", "function_call.")
_NESTED = {K.OI_INPUT: _OI_NESTED, K.OI_OUTPUT: _OI_NESTED, K.OLL_PROMPT: _OLL_NESTED,
           K.OLL_COMPLETION: _OLL_NESTED}
MAX_PLANS = 4096
_USAGE = frozenset(("input_tokens", "output_tokens", "total_tokens", "cache_read_tokens", "cache_write_tokens",
                    "reasoning_tokens"))


@dataclass
class FlatFamily:
    count: int = 0  # messages (highest index + 1)
    simple: list[tuple[int, str, str]] = field(default_factory=list)  # (index, field, key)
    nested: list[tuple[str, str]] = field(default_factory=list)  # (suffix, key)


@dataclass
class Plan:
    mapped: list[tuple[str, str]]  # (field, key): the winning key of each field
    families: dict[str, FlatFamily]
    raw: list[str]
    param_fields: list[str]  # "param:<name>" fields present
    usage_fields: list[str]
    has_langfuse_kind: bool
    has_traceloop_kind: bool


def _family(prefix: str, keys: list[str], raw: list[str]) -> FlatFamily:
    """Sorts a family's keys into simple and nested fields; keys that are no item of
    the family (no index, or a field no converter reads) go to ``raw``."""
    fam = FlatFamily()
    wrapper = _WRAPPER.get(prefix)
    nested_ok = _NESTED.get(prefix)
    for key in keys:
        suffix = key[len(prefix):]
        idx, _, rest = suffix.partition(".")
        if not idx.isdigit() or not rest:
            raw.append(key)
        elif wrapper is not None and rest.startswith(wrapper) and rest[len(wrapper):] in _SIMPLE:
            i = int(idx)
            fam.simple.append((i, rest[len(wrapper):], key))
            fam.count = max(fam.count, i + 1)
        elif nested_ok is None or rest.startswith(nested_ok):
            fam.nested.append((suffix, key))
            fam.count = max(fam.count, int(idx) + 1)
        else:
            raw.append(key)
    fam.simple.sort()
    fam.nested.sort()
    return fam


def build_plan(keys: tuple[str, ...]) -> Plan:
    best: dict[str, tuple[int, str]] = {}
    flat: dict[str, list[str]] = {}
    raw: list[str] = []
    for k in keys:
        ent = K.FIELD_OF.get(k)
        if ent is not None:
            f, pri = ent
            if f not in best or pri < best[f][0]:
                best[f] = (pri, k)
        elif k.startswith(K.FLAT_PREFIXES):
            for p in K.FLAT_PREFIXES:
                if k.startswith(p):
                    flat.setdefault(p, []).append(k)
                    break
        else:
            raw.append(k)
    families = {p: _family(p, ks, raw) for p, ks in flat.items()}
    return Plan(mapped=[(f, k) for f, (_, k) in best.items()],
                families={p: f for p, f in families.items() if f.count}, raw=raw,
                param_fields=[f for f in best if f.startswith("param:")],
                usage_fields=[f for f in best if f in _USAGE],
                has_langfuse_kind="kind_langfuse" in best, has_traceloop_kind="kind_traceloop" in best)


_PLANS: dict[tuple[str, ...], Plan] = {}


def plan_for(keys: tuple[str, ...]) -> Plan:
    plan = _PLANS.get(keys)
    if plan is None:
        if len(_PLANS) >= MAX_PLANS:  # unbounded key shapes (ids in keys) must not grow memory
            _PLANS.clear()
        plan = _PLANS[keys] = build_plan(keys)
    return plan
