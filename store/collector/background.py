"""Periodic work the collector does besides answering requests, as asyncio tasks on
the server's loop: health scraping and alert evaluation (see ``jobs``)."""

from __future__ import annotations

from typing import Any

from store.collector.jobs import cost_alerts_job, health_job


def start_background(collector: Any) -> list[Any]:
    tasks: list[Any] = []
    for job in (health_job, cost_alerts_job):
        tasks.extend(job.start(collector))
    return tasks
