"""The normalizer's view of ``store.pricing``: one call per LLM span."""

from __future__ import annotations

from typing import Any

from store.collector.normalize.span import PriceFn
from store.pricing.config import PricingConfig
from store.pricing.pricer import TokenUsage


def price_fn(pricing: dict[str, Any]) -> PriceFn:
    pricer = PricingConfig.from_dict(pricing).pricer()

    def price(model: str | None, provider: str | None, usage: dict[str, int | None],
              reported: float | None, server: str | None) -> tuple[float | None, str, str | None]:
        u = TokenUsage(usage["input_tokens"], usage["output_tokens"], usage["cache_read_tokens"],
                       usage["cache_write_tokens"], usage["reasoning_tokens"])
        p = pricer.price(model, provider, u, reported, server_address=server)
        return p.cost_usd, p.source, pricer.provider_of(model, provider, server)

    return price
