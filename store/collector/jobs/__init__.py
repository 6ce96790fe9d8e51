"""Periodic work inside the collector: health scraping, alert evaluation.

Each job module exposes ``start(collector) -> list[asyncio.Task]``; the tasks run
on the collector's event loop and never block it (blocking work goes to threads).
"""
