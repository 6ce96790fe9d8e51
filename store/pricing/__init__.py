"""The headless cost core: LiteLLM's cost map, span pricing, GPU-time allocation,
token-accounting checks and repricing. No Textual, no ``import litellm``."""

from store.pricing.catalog import Catalog, ModelPrice, default_catalog
from store.pricing.config import PricingConfig
from store.pricing.gpu_time import GpuAllocation, GpuEndpoint, allocate_gpu_cost
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
