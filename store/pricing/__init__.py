"""The headless cost core: LiteLLM's cost map, span pricing, GPU-time allocation,
token-accounting checks and repricing. No Textual, no ``import litellm``."""

from store.pricing.catalog import Catalog, ModelPrice, default_catalog
from store.pricing.config import PricingConfig
from store.pricing.endpoints import GpuEndpoint
from store.pricing.pricer import CostBreakdown, PricedCost, Pricer, TokenUsage
from store.pricing.validation import ConfigError

__all__ = [
    "Catalog",
    "ConfigError",
    "CostBreakdown",
    "GpuAllocation",
    "GpuEndpoint",
    "ModelPrice",
    "PricedCost",
    "Pricer",
    "PricingConfig",
    "TokenUsage",
    "allocate_gpu_cost",
    "default_catalog",
]


def __getattr__(name: str):  # the allocation maths needs polars: imported only when used
    if name in ("GpuAllocation", "allocate_gpu_cost"):
        from store.pricing import gpu_time

        return getattr(gpu_time, name)
    raise AttributeError(name)
