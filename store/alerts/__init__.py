"""Alerting shared by costs and health: an edge-triggered engine over level
conditions, webhook delivery, and cost budgets and spend rules. No Textual."""
