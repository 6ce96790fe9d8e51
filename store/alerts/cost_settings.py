"""The ``[budgets]`` section of the config: budgets, rolling spend rules and how often
the collector checks them.

    [budgets]
    interval_s = 60                 # how often the collector evaluates (default 60)

    [[budgets.budgets]]
    name = "monthly"
    period = "monthly"
    amount_usd = 500

    [[budgets.rules]]
    name = "user-hourly"
    window = "1h"
    scope = "user"
    above_usd = 5

Budget and rule fields are documented in ``store.alerts.budgets``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from store.alerts.budgets import CostAlertConfig
from store.pricing.validation import as_mapping, get_number

DEFAULT_INTERVAL_S = 60.0


@dataclass(frozen=True)
class CostAlertSettings:
    config: CostAlertConfig = field(default_factory=CostAlertConfig)
    interval_s: float = DEFAULT_INTERVAL_S

    @property
    def enabled(self) -> bool:
        return bool(self.config.budgets or self.config.rules)

    @classmethod
    def from_section(cls, section: Any, path: str = "budgets") -> CostAlertSettings:
        data = dict(as_mapping(section or {}, path))
        interval = get_number(data, "interval_s", path, DEFAULT_INTERVAL_S, positive=True)
        data.pop("interval_s", None)
        return cls(CostAlertConfig.from_dict(data, path), float(interval))
