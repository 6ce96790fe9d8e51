"""The costs pane."""

from __future__ import annotations

from console.screens.placeholder import PlaceholderPane


class CostsScreen(PlaceholderPane):
    PANE = "costs"
    WHAT = "Cost explorer: group by model, user, tag…, budgets, alerts and CSV export."
