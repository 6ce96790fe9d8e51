"""Health queries on behalf of the health pane and the trace view (always called
from a worker thread)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterable, Mapping

import polars as pl

from store.health.config import HealthConfig, HealthConfigError
from store.query.health import HealthQueries, ServerState, TraceLatency, sparkline_points
from store.query.reader import StoreReader

MAX_SERVER_SPANS = 200  # a trace with more LLM spans gets the server state of its first ones


def health_config(settings: Any) -> tuple[HealthConfig, str | None]:
    """The ``[health]`` section, or the defaults and the reason it could not be used."""
    try:
        return HealthConfig.from_dict(getattr(settings, "health", None) or {}), None
    except HealthConfigError as e:
        return HealthConfig(), str(e)


@dataclass(frozen=True)
class HealthHistory:
    """What the history charts draw: per endpoint target its ``endpoint_history``
    frame (endpoint totals), the GPU buckets, and the endpoints' states."""

    since: datetime
    until: datetime
    endpoints: Mapping[str, pl.DataFrame] = field(default_factory=dict)
    gpus: pl.DataFrame = field(default_factory=pl.DataFrame)
    states: pl.DataFrame = field(default_factory=pl.DataFrame)


class HealthService:
    def __init__(self, reader: StoreReader):
        self.queries = HealthQueries(reader)

    def history(self, targets: Iterable[str], since: datetime, until: datetime, points: int = 180) -> HealthHistory:
        stored = set(self.queries.vllm_targets(since, until))
        wanted = list(dict.fromkeys([*targets, *sorted(stored)]))
        endpoints = {t: self.queries.endpoint_history(t, since, until, points) for t in wanted if t in stored}
        return HealthHistory(since, until, endpoints, self.queries.gpu_history(since, until, points),
                             self.queries.endpoint_states(since, until))

    def sparkline_seed(self, targets: Iterable[str], since: datetime, until: datetime,
                       points: int = 120) -> dict[str, list[tuple[datetime, float]]]:
        """Stored points for the live sparklines, so they are full the moment the pane opens."""
        targets = list(targets)
        frames = [self.queries.endpoint_history(t, since, until, points).with_columns(pl.lit(t).alias("target"))
                  for t in targets]
        frames = [f for f in frames if not f.is_empty()]
        history = pl.concat(frames, how="vertical_relaxed") if frames else pl.DataFrame()
        return sparkline_points(history, self.queries.gpu_history(since, until, points), targets)

    def trace_latency(self, targets: Iterable[str], since: datetime) -> dict[str, TraceLatency]:
        return {t: self.queries.trace_latency(t, since) for t in targets}

    def server_states(self, spans: Iterable[Mapping[str, Any]]) -> dict[str, ServerState]:
        """span_id -> the serving endpoint's state, for LLM spans with a server_address."""
        items = [
            (s["span_id"], str(s["server_address"]), s["start_time"])
            for s in spans
            if s.get("server_address") and s.get("start_time") is not None and s.get("kind") in ("llm", "embedding")
        ][:MAX_SERVER_SPANS]
        return self.queries.server_states(items) if items else {}


def window_bounds(now: datetime, seconds: float) -> tuple[datetime, datetime]:
    return now - timedelta(seconds=seconds), now

