"""Guardrail events on behalf of the pane (always called from a worker thread), and
false-positive marks sent to the collector: the console never writes segments itself."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import polars as pl

from store.config import Settings
from store.query.guardrails import FP_SCORE, Cursor, DetectorCounts, EventPage, GuardrailFilter, GuardrailQueries
from store.query.reader import StoreReader

DEFAULT_WINDOW_S = 24 * 3600  # the chart's window when the filter gives no since:
CHART_BUCKETS = 48  # at most this many buckets (the pane asks for as many as its sparklines have room for)


class MarkFailed(RuntimeError):
    """The collector did not take a false-positive mark; the message says why."""


@dataclass(frozen=True)
class Overview:
    """Per detector: events, marked false positives and their rate; counts over time."""

    stats: pl.DataFrame
    counts: DetectorCounts


class GuardrailService:
    def __init__(self, reader: StoreReader, settings: Settings, link: Any = None):
        self.queries = GuardrailQueries(reader)
        self.settings = settings
        self.link = link  # console.services.collector_link.CollectorLink, or None when offline

    def page(self, f: GuardrailFilter, limit: int, cursor: Cursor | None = None) -> EventPage:
        return self.queries.list(f, limit=limit, cursor=cursor)

    def overview(self, f: GuardrailFilter, now: float, buckets: int = CHART_BUCKETS) -> Overview:
        until_us = f.until_us or int(now * 1e6)
        since_us = f.since_us or until_us - DEFAULT_WINDOW_S * 1_000_000
        return Overview(self.queries.detector_stats(f), self.queries.counts(f, since_us, until_us, buckets))

    def export(self, f: GuardrailFilter, path: Path, fmt: str) -> int:
        from console.export import write_rows

        return write_rows(self.queries.all(f), path, fmt)

    # -- false positives, through the collector's HTTP API -----------------------------------
    def mark_false_positive(self, event: dict[str, Any], marked: bool, timeout: float = 5.0) -> None:
        """Record (or, with ``marked=False``, withdraw) a human false-positive mark on one
        event as a score; the latest score wins."""
        if self.link is None or getattr(self.link, "mode", "unavailable") == "unavailable":
            label = getattr(self.link, "label", "no collector")
            raise MarkFailed(f"cannot mark: {label}; marks are stored through the collector")
        score = {"trace_id": event.get("trace_id"), "span_id": event.get("span_id"),
                 "target_id": event["event_id"], "name": FP_SCORE, "value": 1 if marked else 0,
                 "source": "human"}  # stamped by the collector: one clock orders every console's marks
        headers = {"authorization": f"Bearer {self.settings.token}"} if self.settings.token else {}
        try:
            r = httpx.post(f"{self.link.url}/v1/scores", json={"scores": [score]}, headers=headers, timeout=timeout)
        except httpx.HTTPError as e:
            raise MarkFailed(f"collector at {self.link.url} did not answer: {e}") from None
        if r.status_code != 200:
            try:
                why = r.json().get("error") or r.text
            except ValueError:
                why = r.text
            raise MarkFailed(f"collector refused the mark (HTTP {r.status_code}): {why[:200]}")
