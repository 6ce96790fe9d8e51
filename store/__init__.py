"""Headless core of llmops-console: schema, segment store, queries, collector,
pricing, guardrail detectors and health scrapers.

Nothing in this package imports Textual or the console; a test enforces it.
"""
