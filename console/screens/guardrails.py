"""The guardrails pane."""

from __future__ import annotations

from console.screens.placeholder import PlaceholderPane


class GuardrailsScreen(PlaceholderPane):
    PANE = "guardrails"
    WHAT = "One event log for every guardrail check: PII, secrets, injection, output checks."
