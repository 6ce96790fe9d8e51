"""What runs on every span after normalization, inside the decoder processes:
pricing (guardrail detection is ``guardrail_stage``)."""

from __future__ import annotations

from typing import Any

from store.collector.normalize.span import PriceFn


def make_price_fn(pricing: dict[str, Any] | None) -> PriceFn | None:
    """A pricing function for the normalizer, built from the ``[pricing]`` config."""
    from store.collector.pricing_bridge import price_fn

    return price_fn(pricing or {})
