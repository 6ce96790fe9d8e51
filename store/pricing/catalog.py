"""Per-token prices from LiteLLM's bundled cost map, without importing LiteLLM.

``import litellm`` costs ~3 s and ~170 MB and, by default, fetches a remote map;
we only need the JSON file it ships (``model_prices_and_context_window_backup.json``),
found through the package spec without executing the package.

All prices are USD per token. A map entry becomes a ``ModelPrice`` only if it has a
per-token input or output price; image, audio-second and per-query entries are not
token-priced and resolve to None (the span is then "unknown", never a silent 0).

Resolution (``Catalog.resolve(model, provider)``), first hit wins:

1. a self-hosted provider (``hosted_vllm``, ``vllm``, ...) resolves to None: a cloud
   price for the same weights would be wrong (price those by GPU time or override);
2. the full name as a key (``azure/gpt-4o``, ``gemini/gemini-2.5-pro``), unless it is
   a bare key of another provider than the span's; then the span's provider's key
   for the full name (Groq's ``openai/gpt-oss-120b`` is ``groq/openai/gpt-oss-120b``);
3. the provider's own keys: a route prefix on the model (``bedrock/...``) or else
   the span's provider picks ``{prefix}/{name}`` keys and bare keys whose
   ``litellm_provider`` belongs to that provider, for the name, then for the name
   with snapshot suffixes removed (``gpt-4o-2099-01-01`` -> ``gpt-4o``,
   ``gemini-2.0-flash-001`` -> ``gemini-2.0-flash``), Bedrock regional prefixes
   removed, fine-tune suffixes removed. Bedrock also finds its vendor-prefixed ids
   from the bare name apps send (``llama3-70b-instruct`` ->
   ``meta.llama3-70b-instruct-v1:0``; an undated name takes the newest dated id);
4. the model maker's own price (``names.maker_prefixes``), because gateways mislabel
   the provider (LiteLLM's OTel callback says ``gen_ai.system=openai`` for
   everything) and Google sells Gemini through two APIs the map prices unevenly
   (``gcp.gemini`` + ``gemini-2.0-flash`` finds ``vertex_ai/gemini-2.0-flash``): per
   name, a bare key of any provider, the maker's prefixed keys (``mistral/...``;
   Google: ``gemini/`` then ``vertex_ai/``), and for Anthropic ids the Bedrock base id
   then Vertex's ``name@date`` (the 1.106.2 map has no first-party key for
   ``claude-sonnet-4-20250514`` or ``claude-opus-4-1``; Bedrock's carry the same list
   prices). Another host's price is never used for a provider the span names: Groq's
   ``llama-3.3-70b-versatile``, which the map prices only at a reseller, stays unknown.
   The other Google API's price is an estimate: Vertex lists gemini-2.0-flash at
   $0.15/$0.60 per million where the Gemini API charges $0.10/$0.40; ``price_key``
   shows which key priced a span, and an override corrects it.

A bare name with no provider (or one the map does not know) takes, in this order:
the maker's price as in 4 (first party), then ``vertex_ai/{name}``, then the Bedrock
id for the bare name, then the key of the one family that prices the name, when the
name belongs to no maker in ``names._MAKERS`` and that family hosts no other maker's
models (``voyage-3``; not Azure's ``command-r-plus``, which is Azure's rate).

No step does prefix or fuzzy matching: ``claude-opus-4`` never picks up
``claude-opus-4-5``'s price (it is ``claude-opus-4-20250514``'s, via Bedrock).
Results, None included, are cached per (model, provider).
"""

from __future__ import annotations

import importlib.util
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from store.pricing import names
from store.pricing.validation import ConfigError, as_mapping, fail, get_number, reject_unknown_keys

COST_MAP_FILE = "model_prices_and_context_window_backup.json"
_CACHE_LIMIT = 50_000  # (model, provider) pairs; names come from untrusted spans, so bound it
_UNSET: Any = object()


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per token. Omitted cache and reasoning prices fall back to the input and
    output prices, which is what providers without a separate price charge.

    ``long_context`` is the whole-request price once the prompt (cached tokens
    included) exceeds ``long_context_threshold`` tokens (Gemini and Claude's >200k tier).
    """

    input: float
    output: float
    cache_read: float = _UNSET
    cache_write: float = _UNSET
    reasoning: float = _UNSET
    provider: str | None = None  # LiteLLM's litellm_provider, or "override"
    key: str | None = None  # the map key or override pattern the price came from
    long_context_threshold: int | None = None
    long_context: ModelPrice | None = None

    def __post_init__(self) -> None:
        # Frozen + slots: fill the fallbacks once so the hot path never branches on them.
        if self.cache_read is _UNSET or self.cache_read is None:
            object.__setattr__(self, "cache_read", self.input)
        if self.cache_write is _UNSET or self.cache_write is None:
            object.__setattr__(self, "cache_write", self.input)
        if self.reasoning is _UNSET or self.reasoning is None:
            object.__setattr__(self, "reasoning", self.output)

    @classmethod
    def from_litellm(cls, key: str, entry: Mapping[str, Any]) -> ModelPrice | None:
        """A cost-map entry, or None when it has no per-token price."""
        if entry.get("input_cost_per_token") is None and entry.get("output_cost_per_token") is None:
            return None
        base = cls._from_fields(entry, "", key)
        threshold = _long_context_threshold(entry)
        if threshold is None:
            return base
        tier = cls._from_fields(entry, f"_above_{threshold // 1000}k_tokens", key)
        return cls(
            base.input, base.output, base.cache_read, base.cache_write, base.reasoning,
            base.provider, key, threshold, tier,
        )  # fmt: skip

    @classmethod
    def _from_fields(cls, entry: Mapping[str, Any], tier_suffix: str, key: str) -> ModelPrice:
        """Prices for one tier; a field the tier lacks takes the base field."""

        def field(name: str) -> float | None:
            for candidate in (name + tier_suffix, name):
                value = entry.get(candidate)
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    return float(value)
            return None

        return cls(
            input=field("input_cost_per_token") or 0.0,
            output=field("output_cost_per_token") or 0.0,
            cache_read=field("cache_read_input_token_cost"),
            cache_write=field("cache_creation_input_token_cost"),
            reasoning=field("output_cost_per_reasoning_token"),
            provider=entry.get("litellm_provider"),
            key=key,
        )

    @classmethod
    def from_dict(cls, data: Any, path: str, *, key: str | None = None) -> ModelPrice:
        """A user's price override. Per-million fields (what pricing pages quote) or
        LiteLLM's per-token field names (paste a cost-map entry), not both for one price:

        ``{"input_per_million": 0.2, "output_per_million": 0.6,
           "cache_read_per_million": 0.05, "cache_write_per_million": 0.25,
           "reasoning_per_million": 0.6}``
        """
        data = as_mapping(data, path)
        reject_unknown_keys(data, [*_OVERRIDE_FIELDS, *(f for pair in _OVERRIDE_FIELDS.values() for f in pair)], path)
        prices: dict[str, float | None] = {}
        for name, (per_million, per_token) in _OVERRIDE_FIELDS.items():
            if per_million in data and per_token in data:
                fail(f"{path}.{per_million}", f"give either {per_million} or {per_token}, not both")
            if per_million in data:
                prices[name] = get_number(data, per_million, path, minimum=0) / 1_000_000
            elif per_token in data:
                prices[name] = float(get_number(data, per_token, path, minimum=0))
            else:
                prices[name] = None
        if prices["input"] is None or prices["output"] is None:
            fail(path, "needs an input and an output price (input_per_million, output_per_million)")
        return cls(
            input=prices["input"],
            output=prices["output"],
            cache_read=prices["cache_read"],
            cache_write=prices["cache_write"],
            reasoning=prices["reasoning"],
            provider="override",
            key=key,
        )


_OVERRIDE_FIELDS = {
    "input": ("input_per_million", "input_cost_per_token"),
    "output": ("output_per_million", "output_cost_per_token"),
    "cache_read": ("cache_read_per_million", "cache_read_input_token_cost"),
    "cache_write": ("cache_write_per_million", "cache_creation_input_token_cost"),
    "reasoning": ("reasoning_per_million", "output_cost_per_reasoning_token"),
}


def _long_context_threshold(entry: Mapping[str, Any]) -> int | None:
    """The smallest ``input_cost_per_token_above_<N>k_tokens`` tier, in tokens."""
    thresholds = [
        int(field[len("input_cost_per_token_above_") : -len("k_tokens")]) * 1000
        for field in entry
        if field.startswith("input_cost_per_token_above_")
        and field.endswith("k_tokens")
        and field[len("input_cost_per_token_above_") : -len("k_tokens")].isdigit()
    ]
    return min(thresholds) if thresholds else None


def bundled_cost_map_path() -> Path:
    """Where LiteLLM's bundled map lies; ``find_spec`` does not execute the package."""
    spec = importlib.util.find_spec("litellm")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        candidate = Path(location) / COST_MAP_FILE
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{COST_MAP_FILE} not found in the litellm package ({locations or 'not installed'})")


class Catalog:
    """The cost map, loaded on first use, with cached name resolution."""

    def __init__(self, path: Path | None = None, *, entries: Mapping[str, Any] | None = None) -> None:
        self._path = path
        self._entries: Mapping[str, Any] | None = entries
        self._load_lock = threading.Lock()
        self._prices: dict[str, ModelPrice | None] = {}
        self._resolved: dict[tuple[str, str | None], ModelPrice | None] = {}
        self._families: frozenset[str] = frozenset()
        self._route_prefixes: frozenset[str] = frozenset()
        self._bedrock_ids: dict[str, str] = {}
        self._sole_family: dict[str, str] | None = None  # built on first need: few spans lack a provider
        self._indexed = False

    @property
    def entries(self) -> Mapping[str, Any]:
        if not self._indexed:
            with self._load_lock:
                if not self._indexed:
                    self._index()
        assert self._entries is not None
        return self._entries

    def _index(self) -> None:
        if self._entries is None:
            path = self._path or bundled_cost_map_path()
            self._entries = orjson.loads(path.read_bytes())
        entries = self._entries
        self._families = frozenset(
            e["litellm_provider"] for e in entries.values() if isinstance(e, Mapping) and e.get("litellm_provider")
        )
        self._route_prefixes = frozenset(k.split("/", 1)[0] for k in entries if "/" in k) & (
            self._families | {"vertex_ai", "bedrock", "azure", "gemini", "openai", "anthropic"}
        )
        self._bedrock_ids = names.bedrock_id_index(entries)
        self._indexed = True

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, key: str) -> ModelPrice | None:
        """The price under exactly this map key."""
        try:
            return self._prices[key]
        except KeyError:
            pass
        entry = self.entries.get(key)
        price = ModelPrice.from_litellm(key, entry) if isinstance(entry, Mapping) and key != "sample_spec" else None
        self._prices[key] = price
        return price

    def resolve(self, model: str | None, provider: str | None = None) -> ModelPrice | None:
        """The price for a span's model and provider (see the module docstring), or None."""
        if not model:
            return None
        cache_key = (model, provider)
        price = self._resolved.get(cache_key, _UNSET)
        if price is _UNSET:
            price = self._resolve_uncached(model, provider)
            if len(self._resolved) >= _CACHE_LIMIT:
                self._resolved.clear()
            self._resolved[cache_key] = price
        return price

    def _resolve_uncached(self, model: str, provider: str | None) -> ModelPrice | None:
        entries = self.entries
        raw = model.strip()
        span_hint = names.provider_hint(provider, self._families)
        if not raw or (span_hint is not None and span_hint.self_hosted):
            return None
        # A full key wins unless it is a bare key of another provider: "gpt-4o" from
        # azure.ai.openai must find "azure/gpt-4o" first.
        if raw in entries and (price := self.get(raw)) is not None:
            if "/" in raw or span_hint is None or names.family_matches(price.provider, span_hint):
                return price
        # The provider's key for the name as sent, before a slash is read as a route:
        # Groq's "openai/gpt-oss-120b" is "groq/openai/gpt-oss-120b".
        if span_hint is not None and "/" in raw:
            for prefix in span_hint.prefixes:
                if (price := self.get(f"{prefix}/{raw}")) is not None:
                    return price
        route, rest = names.split_route(raw, self._route_prefixes)
        hint = span_hint
        if route is not None:
            hint = names.provider_hint(route, self._families) or names.ProviderHint(route, (route,), (route,))
            if hint.self_hosted:
                return None
        candidates = self._candidate_names(names.clean_model_id(rest))
        if hint is None:
            return self._without_provider(candidates)
        if (price := self._from_provider(hint, candidates)) is not None:
            return price
        # The provider may be mislabeled (LiteLLM's OTel callback says gen_ai.system=openai
        # for everything) or be the maker's other API (gcp.gemini for a model the map prices
        # on Vertex only): the maker's own price. Not another host's: a provider the map
        # knows but that lacks the model (groq's llama-3.3-70b-versatile) stays unpriced.
        return self._from_maker(candidates)

    def _from_provider(self, hint: names.ProviderHint, candidates: list[str]) -> ModelPrice | None:
        for name in candidates:
            for prefix in hint.prefixes:
                if (price := self.get(f"{prefix}/{name}")) is not None:
                    return price
            price = self.get(name)
            if price is not None and names.family_matches(price.provider, hint):
                return price
            # Vertex's claude-...@20240620 is Bedrock's claude-...-20240620
            if hint.vendor_ids and (key := self._bedrock_ids.get(name.replace("@", "-"))):
                if (price := self.get(key)) is not None:
                    return price
        return None

    def _from_maker(self, candidates: list[str]) -> ModelPrice | None:
        """Per name, snapshot first: a bare key (LiteLLM's names for first-party models),
        the maker's prefixed keys (``mistral/...``), Claude's stand-ins."""
        for name in candidates:
            if (price := self.get(name)) is not None:
                return price
            for key in (
                *(f"{prefix}/{name}" for prefix in names.maker_prefixes(name)),
                *names.claude_aliases(name, self._bedrock_ids),
            ):
                if (price := self.get(key)) is not None:
                    return price
        return None

    def _without_provider(self, candidates: list[str]) -> ModelPrice | None:
        """A name with no provider: the maker's price, then Vertex AI's, then Bedrock's,
        then the one family that prices it (see the module docstring)."""
        if (price := self._from_maker(candidates)) is not None:
            return price
        for name in candidates:
            if (price := self.get(f"vertex_ai/{name}")) is not None:
                return price
        if self._sole_family is None:
            self._sole_family = _sole_family_keys(self.entries)
        for lookup in (self._bedrock_ids, self._sole_family):
            for name in candidates:
                if (key := lookup.get(name)) and (price := self.get(key)) is not None:
                    return price
        return None

    @staticmethod
    def _candidate_names(model: str) -> list[str]:
        primary = [model]
        for extra in (names.fine_tune_base(model), names.without_bedrock_region(model), model.lower()):
            if extra and extra not in primary:
                primary.append(extra)
        candidates: list[str] = []
        for name in primary:
            for variant in names.snapshot_variants(name):
                if variant not in candidates:
                    candidates.append(variant)
        return candidates


_HAS_DIGIT = re.compile(r"\d")


def _sole_family_keys(entries: Mapping[str, Any]) -> dict[str, str]:
    """Names of no known maker priced under exactly one route prefix, when that
    prefix is no host of several makers' models: ``voyage-3``, ``mercury-2``. A host
    (Azure, Databricks, resellers) sells someone else's model at its own rate, a false
    match for a span that never went there. Names without a digit (``chat``,
    ``summarize``) are too generic to stand for one model."""
    prefixes_of: dict[str, set[str]] = {}
    makers_of: dict[str, set[str]] = {}
    for key, entry in entries.items():
        prefix, _, tail = key.partition("/")
        if not tail or not isinstance(entry, Mapping):
            continue
        if makers := names.makers_named_in(tail):
            makers_of.setdefault(prefix, set()).update(makers)
        elif "/" not in tail and _HAS_DIGIT.search(tail) and (
            entry.get("input_cost_per_token") is not None or entry.get("output_cost_per_token") is not None
        ):
            prefixes_of.setdefault(tail, set()).add(prefix)
    sole = {}
    for tail, prefixes in prefixes_of.items():
        if len(prefixes) == 1 and len(makers_of.get(prefix := next(iter(prefixes)), ())) <= 1:
            sole[tail] = f"{prefix}/{tail}"
    return sole


_default_catalog: Catalog | None = None
_default_lock = threading.Lock()


def default_catalog() -> Catalog:
    """The process-wide catalog over LiteLLM's bundled map (loaded on first ``resolve``)."""
    global _default_catalog
    if _default_catalog is None:
        with _default_lock:
            if _default_catalog is None:
                _default_catalog = Catalog()
    return _default_catalog


__all__ = ["COST_MAP_FILE", "Catalog", "ConfigError", "ModelPrice", "bundled_cost_map_path", "default_catalog"]
