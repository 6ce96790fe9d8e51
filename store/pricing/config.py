"""The user's pricing config: per-model price overrides and GPU-hour endpoints.

The config file loader is elsewhere; it hands the ``pricing`` mapping to
``PricingConfig.from_dict``::

    pricing:
      overrides:                      # exact names or globs; first matching glob wins
        gpt-4o: {input_per_million: 2.0, output_per_million: 8.0}   # negotiated rate
        my-llama-*: {input_per_million: 0.1, output_per_million: 0.1}
      gpu_endpoints:
        - {name: llama-box, server: "10.0.0.5:8000", usd_per_gpu_hour: 2.5, gpu_count: 4}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from store.pricing.catalog import Catalog, ModelPrice
from store.pricing.endpoints import GpuEndpoint
from store.pricing.pricer import Pricer
from store.pricing.validation import as_mapping, fail, fields_of, get_list


@dataclass(frozen=True)
class PricingConfig:
    # model name or glob -> price; beats LiteLLM's map (source "override")
    overrides: dict[str, ModelPrice] = field(default_factory=dict)
    # self-hosted servers priced by GPU time (source "gpu_time"), matched in order
    gpu_endpoints: tuple[GpuEndpoint, ...] = ()

    def pricer(self, catalog: Catalog | None = None) -> Pricer:
        return Pricer(self.overrides, self.gpu_endpoints, catalog=catalog)

    @classmethod
    def from_dict(cls, data: Any, path: str = "pricing") -> PricingConfig:
        data = fields_of(cls, data or {}, path)
        raw_overrides = as_mapping(data.get("overrides") or {}, f"{path}.overrides")
        overrides = {}
        for name, price in raw_overrides.items():
            if not isinstance(name, str) or not name.strip():
                fail(f"{path}.overrides", f"model names must be non-empty strings, got {name!r}")
            overrides[name] = ModelPrice.from_dict(price, f"{path}.overrides[{name!r}]", key=name)
        endpoints = tuple(
            GpuEndpoint.from_dict(item, f"{path}.gpu_endpoints[{i}]")
            for i, item in enumerate(get_list(data, "gpu_endpoints", path))
        )
        names = [e.name for e in endpoints]
        if duplicate := next((n for n in names if names.count(n) > 1), None):
            fail(f"{path}.gpu_endpoints", f"endpoint name {duplicate!r} is used twice")
        return cls(overrides, endpoints)
