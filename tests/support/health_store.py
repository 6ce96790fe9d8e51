"""Deterministic health history in a store, for query, UI and snapshot tests.

Rows are what the collector's health job would have stored: each scrape's body
comes from the fake vLLM server's generator (a real capture with moving
counters) at a synthetic time, goes through the real parser and
``samples.vllm_rows``; GPUs come from ``FakeGpuSource``. No HTTP here: what is
tested by these stores is reading history back, not scraping.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Mapping, Sequence

import pyarrow as pa

from store.health.endpoint import EndpointScrape, EndpointState
from store.health.gpu import FakeGpuSource
from store.health.prometheus import parse_metrics
from store.health.samples import HealthRow, gpu_rows, rows_to_table, vllm_rows
from store.health.vllm import VllmMetrics
from store.schema import SPANS
from store.segments.writer import SegmentWriter
from tests.support.fake_vllm import FIXTURES, DEFAULT_FIXTURE, MovingMetrics
from tests.support.stores import hexid, span


def scrape_rows(target: str, metrics: MovingMetrics, at: datetime, t: float, state: EndpointState = EndpointState.UP,
                error: str | None = None) -> list[HealthRow]:
    base_url = target.removeprefix("vllm:")
    if state is not EndpointState.UP:
        return vllm_rows(EndpointScrape(target, base_url, at, state, error or "HTTP 503", 503, duration_s=0.003))
    snapshot = parse_metrics(metrics.body(t))
    vllm = VllmMetrics.from_snapshot(snapshot)
    return vllm_rows(EndpointScrape(target, base_url, at, state, None, 200, snapshot, vllm, duration_s=0.004))


def write_health_history(
    store: Path,
    end: datetime,
    *,
    minutes: float = 15.0,
    every_s: float = 10.0,
    endpoints: Mapping[str, Mapping[str, Any]] | None = None,
    gpus: int = 2,
    gpu_overrides: Mapping[int, Mapping[str, Any]] | None = None,
    down: Mapping[str, Sequence[tuple[float, float]]] | None = None,
) -> list[datetime]:
    """Scrapes every ``every_s`` seconds over the ``minutes`` before ``end``.
    ``endpoints``: target -> MovingMetrics options (engines, phase, fixture).
    ``down``: target -> [(from_s, to_s)] offsets from the first scrape when it
    answered 503. Returns the scrape times."""
    endpoints = endpoints or {"vllm:http://127.0.0.1:8000": {}}
    makers = {
        target: MovingMetrics((FIXTURES / opts.get("fixture", DEFAULT_FIXTURE)).read_text(encoding="ascii"),
                              opts.get("engines", 1), opts.get("phase", 0.0))
        for target, opts in endpoints.items()
    }
    steps = int(minutes * 60 / every_s)
    start = end - timedelta(seconds=steps * every_s)
    at_box = [start]
    fake = FakeGpuSource(gpus, overrides=gpu_overrides, clock=lambda: at_box[0]) if gpus else None
    rows: list[HealthRow] = []
    times = []
    for i in range(steps + 1):
        t = i * every_s
        at = start + timedelta(seconds=t)
        at_box[0] = at
        times.append(at)
        for target, maker in makers.items():
            is_down = any(lo <= t < hi for lo, hi in (down or {}).get(target, ()))
            rows += scrape_rows(target, maker, at, t, EndpointState.DOWN if is_down else EndpointState.UP)
        if fake is not None:
            rows += gpu_rows(fake.read())
    SegmentWriter(store).append({"health_samples": rows_to_table(rows)})
    return times


def llm_span_rows(server_address: str, start: datetime, n: int, *, every_s: float = 5.0,
                  duration_ms: float = 2000.0, ttft_ms: float = 200.0, model: str = "facebook/opt-125m",
                  tag: str = "h") -> list[dict[str, Any]]:
    """``n`` one-span traces of LLM calls to ``server_address``, durations and TTFTs
    rising by 1% per call (so quantiles are easy to compute by hand)."""
    rows = []
    for i in range(n):
        at = start + timedelta(seconds=i * every_s)
        rows.append(span(hexid(tag, "trace", i), hexid(tag, "span", i, n=16), None, f"chat {model}", at,
                         duration_ms * (1 + i / 100), kind="llm", model=model, provider="vllm",
                         server_address=server_address, ttft_ms=ttft_ms * (1 + i / 100), input_tokens=500,
                         output_tokens=120, total_tokens=620, service="chat-api"))
    return rows


def write_spans(store: Path, rows: list[dict[str, Any]]) -> None:
    SegmentWriter(store).append({"spans": pa.Table.from_pylist(rows, schema=SPANS)})
