"""The cost of one LLM call, from its tokens, or as its app reported it.

Token semantics (get these right; it is where cost tools go wrong):

* ``input_tokens`` **includes** cached tokens by default (OpenAI's convention:
  ``prompt_tokens`` counts ``cached_tokens``; also the SPANS table's). So the
  uncached input is ``input - cache_read - cache_write``, never below zero. Anthropic
  (and Bedrock Converse) report ``input_tokens`` **excluding** cache reads and
  writes: set ``input_includes_cache=False`` and the uncached input is
  ``input_tokens`` itself. ``TokenUsage.prompt_tokens`` is the inclusive count either
  way (what SPANS.input_tokens stores).
* ``output_tokens`` **includes** reasoning tokens (OpenAI, LiteLLM). Reasoning
  tokens are priced at the reasoning price and the rest at the output price, so
  nothing is counted twice; with no separate reasoning price both are the output
  price and the total is the same as pricing all output at once. Gemini's native
  ``candidates_token_count`` excludes thoughts: set ``output_includes_reasoning=False``.
  Reasoning above output (impossible when included) is capped at output; the
  accounting check flags such spans.
* Long context: when the model has a >N-tokens tier (Gemini, Claude 1M) and the
  whole prompt exceeds it, every token of the request takes the tier's price.
* Token counts below zero count as zero; all counts missing means no computed cost.

Which number is the span's cost (``PricedCost.cost_usd``/``source``):

1. ``reported``: the app's own figure (``llm.cost.total``, LiteLLM's
   ``response_cost``, Langfuse ``cost_details``). A reported **0 with tokens** is
   ignored: LiteLLM reports 0.0 for models it cannot price (``hosted_vllm/*``, and
   ``claude-sonnet-4-20250514`` in 1.106.2), so trusting it would be a silent 0.
   Negative or NaN reports are ignored too.
2. ``override``: the user's price for the model name (exact, then glob patterns
   such as ``my-llama-*`` in config order, case-insensitive; matched against the
   name as sent and without a route prefix such as ``hosted_vllm/``).
3. ``gpu_time``: the span goes to a GPU-hour endpoint (by server address or model
   pattern). Its cost is a share of a time bucket, known only once the bucket is
   seen whole, so ``price()`` returns ``cost_usd=None`` with this source and
   ``gpu_time.allocate_gpu_cost`` / ``reprice.reprice_spans`` fill it in.
4. ``computed``: LiteLLM's cost map (``catalog.Catalog.resolve``).
5. ``unknown``: none of these; ``cost_usd`` is None, never 0.

``computed_usd`` is our figure from 2 or 4 even when the report wins, so the UI can
show a mismatch; ``reported_usd`` echoes the report as received.
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Mapping, Sequence
from typing import Literal, NamedTuple

from store.pricing.catalog import Catalog, ModelPrice, default_catalog
from store.pricing.endpoints import GpuEndpoint, endpoint_for
from store.pricing.names import split_route

CostSource = Literal["reported", "computed", "override", "gpu_time", "unknown"]
_CACHE_LIMIT = 50_000


class TokenUsage(NamedTuple):
    """A call's token counts; None means the app did not say."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None
    # False for Anthropic-style counts, where input_tokens leaves out cache reads and writes
    input_includes_cache: bool = True
    # False for Gemini-native counts, where output (candidates) leaves out thoughts
    output_includes_reasoning: bool = True

    @property
    def prompt_tokens(self) -> int | None:
        """All input tokens, cached ones included (the SPANS.input_tokens convention)."""
        if self.input_tokens is None:
            return None
        if self.input_includes_cache:
            return self.input_tokens
        return self.input_tokens + (self.cache_read_tokens or 0) + (self.cache_write_tokens or 0)

    @property
    def completion_tokens(self) -> int | None:
        """All output tokens, reasoning included (the SPANS.output_tokens convention)."""
        if self.output_tokens is None or self.output_includes_reasoning:
            return self.output_tokens
        return self.output_tokens + (self.reasoning_tokens or 0)


class CostBreakdown(NamedTuple):
    """USD per part of the call; they add up to the computed cost."""

    input: float  # uncached input
    cache_read: float
    cache_write: float
    output: float  # output other than reasoning
    reasoning: float

    @property
    def total(self) -> float:
        return self.input + self.cache_read + self.cache_write + self.output + self.reasoning


class PricedCost(NamedTuple):
    cost_usd: float | None  # the span's cost; None when unknown
    source: CostSource
    breakdown: CostBreakdown | None  # of computed_usd
    computed_usd: float | None = None  # ours (override or cost map), even when the report wins
    reported_usd: float | None = None  # as the app sent it, even when ignored
    price_key: str | None = None  # map key, override pattern or GPU endpoint name behind the price


class _Rule(NamedTuple):
    source: CostSource  # override, computed, gpu_time or unknown
    price: ModelPrice | None
    key: str | None


_UNKNOWN_RULE = _Rule("unknown", None, None)


def compute_breakdown(price: ModelPrice, usage: TokenUsage) -> CostBreakdown | None:
    """Our cost of a call at ``price`` (see the module docstring for the token semantics)."""
    input_tokens, output_tokens, cache_read, cache_write, reasoning, includes_cache, includes_reasoning = usage
    if input_tokens is None and output_tokens is None:
        return None
    input_tokens = input_tokens if input_tokens and input_tokens > 0 else 0
    output_tokens = output_tokens if output_tokens and output_tokens > 0 else 0
    cache_read = cache_read if cache_read and cache_read > 0 else 0
    cache_write = cache_write if cache_write and cache_write > 0 else 0
    reasoning = reasoning if reasoning and reasoning > 0 else 0
    if includes_cache:
        uncached = input_tokens - cache_read - cache_write
        if uncached < 0:
            uncached = 0
        prompt = uncached + cache_read + cache_write
    else:
        uncached = input_tokens
        prompt = input_tokens + cache_read + cache_write
    if includes_reasoning:
        if reasoning > output_tokens:
            reasoning = output_tokens
        visible = output_tokens - reasoning
    else:
        visible = output_tokens
    threshold = price.long_context_threshold
    if threshold is not None and prompt > threshold and price.long_context is not None:
        price = price.long_context
    return CostBreakdown(
        uncached * price.input,
        cache_read * price.cache_read,
        cache_write * price.cache_write,
        visible * price.output,
        reasoning * price.reasoning,
    )


class Pricer:
    """Prices spans; decisions per (model, provider, server) are cached, so the hot
    path is two dict lookups and a few multiplications."""

    def __init__(
        self,
        overrides: Mapping[str, ModelPrice] | None = None,
        gpu_endpoints: Sequence[GpuEndpoint] = (),
        *,
        catalog: Catalog | None = None,
    ) -> None:
        overrides = dict(overrides or {})
        self._exact_overrides = {
            name.lower(): _with_key(price, name) for name, price in overrides.items() if not _is_glob(name)
        }
        self._glob_overrides = [
            (re.compile(fnmatch.translate(name), re.IGNORECASE), _with_key(price, name))
            for name, price in overrides.items()
            if _is_glob(name)
        ]
        self.gpu_endpoints: tuple[GpuEndpoint, ...] = tuple(gpu_endpoints)
        self.catalog = catalog if catalog is not None else default_catalog()
        self._rules: dict[tuple[str | None, str | None, str | None], _Rule] = {}

    def price(
        self,
        model: str | None,
        provider: str | None,
        usage: TokenUsage,
        reported_cost: float | None = None,
        *,
        server_address: str | None = None,
    ) -> PricedCost:
        rule = self._rules.get((model, provider, server_address))
        if rule is None:
            rule = self.rule_for(model, provider, server_address)
        breakdown = compute_breakdown(rule.price, usage) if rule.price is not None else None
        computed = breakdown.total if breakdown is not None else None

        if reported_cost is not None and _usable_report(reported_cost, usage):
            return PricedCost(reported_cost, "reported", breakdown, computed, reported_cost, rule.key)
        if computed is not None:
            return PricedCost(computed, rule.source, breakdown, computed, reported_cost, rule.key)
        if rule.source == "gpu_time":
            return PricedCost(None, "gpu_time", None, None, reported_cost, rule.key)
        return PricedCost(None, "unknown", None, None, reported_cost, rule.key)

    def rule_for(self, model: str | None, provider: str | None, server_address: str | None = None) -> _Rule:
        """Which price applies to this (model, provider, server); cached."""
        cache_key = (model, provider, server_address)
        rule = self._rules.get(cache_key)
        if rule is None:
            rule = self._decide(model, provider, server_address)
            if len(self._rules) >= _CACHE_LIMIT:
                self._rules.clear()
            self._rules[cache_key] = rule
        return rule

    def provider_of(self, model: str | None, provider: str | None, server_address: str | None = None) -> str | None:
        """The provider whose price applies (names one for spans that did not, such as Langfuse's)."""
        rule = self.rule_for(model, provider, server_address)
        return rule.price.provider if rule.price is not None else None

    def override_for(self, model: str | None) -> ModelPrice | None:
        if not model:
            return None
        route, bare = split_route(model, frozenset())  # hosted_vllm/my-llama -> my-llama
        names = [model, bare] if route else [model]
        for name in names:
            if (price := self._exact_overrides.get(name.lower())) is not None:
                return price
        for pattern, price in self._glob_overrides:
            if any(pattern.match(name) for name in names):
                return price
        return None

    def gpu_endpoint_for(self, model: str | None, server_address: str | None) -> GpuEndpoint | None:
        return endpoint_for(self.gpu_endpoints, server_address, model)

    def _decide(self, model: str | None, provider: str | None, server_address: str | None) -> _Rule:
        if (price := self.override_for(model)) is not None:
            return _Rule("override", price, price.key)
        if (endpoint := self.gpu_endpoint_for(model, server_address)) is not None:
            return _Rule("gpu_time", None, endpoint.name)
        if (price := self.catalog.resolve(model, provider)) is not None:
            return _Rule("computed", price, price.key)
        return _UNKNOWN_RULE


def _usable_report(reported: float, usage: TokenUsage) -> bool:
    if math.isnan(reported) or reported < 0:
        return False
    if reported == 0 and ((usage.input_tokens or 0) > 0 or (usage.output_tokens or 0) > 0):
        return False
    return True


def _is_glob(name: str) -> bool:
    return any(ch in name for ch in "*?[")


def _with_key(price: ModelPrice, key: str) -> ModelPrice:
    if price.key == key and price.provider == "override":
        return price
    return ModelPrice(
        price.input, price.output, price.cache_read, price.cache_write, price.reasoning,
        "override", key, price.long_context_threshold, price.long_context,
    )  # fmt: skip
