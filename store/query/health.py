"""Health history from the store: stored samples, charts' series, the server's
state at a span's time, and the latency our traces saw per endpoint.

Times in and out are timezone-aware UTC datetimes (parameters are bound as
such, so a reader in any local time zone filters correctly). Charts never read
every scrape of a long window: ``endpoint_history`` picks at most ``points``
stored scrapes spread over the window and derives each point's rates and
quantiles from the previous picked one (the average over that stretch), and
``gpu_history`` averages GPU gauges per time bucket in SQL.

A span's ``server_address`` (``host:port``) names the endpoint target
``vllm:http://host:port``; loopback spellings (127.0.0.1, localhost, ::1,
0.0.0.0) are taken as one host.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Sequence
from urllib.parse import urlsplit

import polars as pl

from store.health.aggregate import merge_engine_frame
from store.health.config import LOOPBACK_HOSTS
from store.health.samples import GPU_METRICS, endpoint_state_frame, vllm_metrics_history, vllm_stats_frame
from store.health.vllm import LatencySummary, derive
from store.query.reader import StoreReader, TimeRange

__all__ = [
    "HealthQueries",
    "ServerReading",
    "GpuAt",
    "ServerState",
    "TraceLatency",
    "endpoint_address",
    "server_addresses",
    "matches_server",
]

SEARCH_AROUND = timedelta(minutes=10)  # how far from a span a stored scrape may be and still count
GPU_NEAR = timedelta(minutes=2)
_LOCAL_GPU = re.compile(r"^gpu:\d+$")
_SAMPLE_COLUMNS = "time, target, kind, metric, labels, value"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _between(since: datetime, until: datetime | None, column: str = "time") -> tuple[list[str], list[Any]]:
    where, params = [f"{column} >= ?"], [since]
    if until is not None:
        where.append(f"{column} <= ?")
        params.append(until)
    return where, params


def _utc(frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
    return frame.with_columns(pl.col(c).dt.convert_time_zone("UTC") for c in columns if c in frame.columns)


def _us(at: datetime) -> int:
    """Microseconds since the epoch; a naive datetime is taken as UTC."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return (at - _EPOCH) // timedelta(microseconds=1)


# --------------------------------------------------------------------------- addresses


def _host_port(address: str) -> tuple[str, int | None] | None:
    address = address.strip()
    if not address:
        return None
    parts = urlsplit(address if "://" in address else f"http://{address}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host:
        return None
    host = host.lower()
    return ("loopback" if host in LOOPBACK_HOSTS else host), port


def endpoint_address(target: str) -> tuple[str, int | None] | None:
    """(host, port) of ``vllm:<url>``; loopback hosts read as ``"loopback"``."""
    return _host_port(target[len("vllm:"):] if target.startswith("vllm:") else target)


def matches_server(server_address: str, target: str) -> bool:
    """Whether a span's ``server_address`` names this endpoint target."""
    span, endpoint = _host_port(server_address), endpoint_address(target)
    if span is None or endpoint is None or span[0] != endpoint[0]:
        return False
    return span[1] is None or endpoint[1] is None or span[1] == endpoint[1]


def server_addresses(target: str) -> list[str]:
    """The ``server_address`` spellings of spans served by this endpoint."""
    found = endpoint_address(target)
    if found is None:
        return []
    host, port = found
    hosts = ["127.0.0.1", "localhost", "::1", "[::1]", "0.0.0.0"] if host == "loopback" else [host]
    if port is None:
        return hosts
    return [f"{h}:{port}" for h in hosts]


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ServerReading:
    """The endpoint as one stored scrape saw it. ``offset_s`` is the scrape time
    minus the span's start."""

    time: datetime
    offset_s: float
    state: str | None
    kv_cache_usage: float | None = None
    running: float | None = None
    waiting: float | None = None


@dataclass(frozen=True)
class GpuAt:
    target: str
    offset_s: float
    util_percent: float | None
    mem_fraction: float | None
    temperature_c: float | None = None


@dataclass(frozen=True)
class ServerState:
    """The serving endpoint around one span (see ``HealthQueries.server_state``).
    ``note`` says why parts are missing, in plain words."""

    server_address: str
    target: str | None = None
    before: ServerReading | None = None  # the last scrape at or before the span's start
    after: ServerReading | None = None  # the first scrape after it
    generation_tokens_per_s: float | None = None  # between before and after
    requests_per_s: float | None = None
    ttft: LatencySummary | None = None  # the requests the server finished between before and after
    e2e: LatencySummary | None = None
    gpus: tuple[GpuAt, ...] = ()
    gpu_scope: str | None = None  # "this machine" or a host name
    note: str | None = None


@dataclass(frozen=True)
class TraceLatency:
    """What our traces saw against one endpoint (LLM spans with its server_address), ms."""

    spans: int = 0
    duration_p50: float | None = None
    duration_p90: float | None = None
    duration_p99: float | None = None
    ttft_spans: int = 0
    ttft_p50: float | None = None
    ttft_p90: float | None = None
    ttft_p99: float | None = None


# --------------------------------------------------------------------------- queries


class HealthQueries:
    def __init__(self, reader: StoreReader):
        self.r = reader

    def _scan(self, since: datetime | None, until: datetime | None, table: str = "health_samples") -> str:
        return self.r.scan(table, TimeRange(_us(since) if since else None, _us(until) + 1 if until else None))

    def samples(self, since: datetime, until: datetime | None = None, targets: Sequence[str] | None = None,
                kind: str | None = None) -> pl.DataFrame:
        """HEALTH_SAMPLES rows in [since, until], oldest first."""
        where, params = _between(since, until)
        if targets is not None:
            where.append("target IN (SELECT unnest(?))")
            params.append(list(targets))
        if kind is not None:
            where.append("kind = ?")
            params.append(kind)
        sql = (f"SELECT {_SAMPLE_COLUMNS} FROM {self._scan(since, until)} WHERE {' AND '.join(where)} "
               f"ORDER BY time, target")
        return _utc(self.r.query(sql, params), "time")

    def targets(self, since: datetime, until: datetime | None = None) -> pl.DataFrame:
        """target, kind, last_time, scrapes for everything stored in the window."""
        where, params = _between(since, until)
        sql = (f"SELECT target, kind, max(time) AS last_time, count(DISTINCT time) AS scrapes "
               f"FROM {self._scan(since, until)} WHERE {' AND '.join(where)} GROUP BY target, kind ORDER BY target")
        return _utc(self.r.query(sql, params), "last_time")

    def _rows_at(self, target: str, times_us: Sequence[int]) -> pl.DataFrame:
        if not times_us:
            return self.samples(datetime.now(timezone.utc), targets=[target]).head(0)
        lo = datetime.fromtimestamp(min(times_us) / 1e6, timezone.utc)
        hi = datetime.fromtimestamp(max(times_us) / 1e6, timezone.utc)
        sql = (f"SELECT {_SAMPLE_COLUMNS} FROM {self._scan(lo, hi)} WHERE target = ? "
               f"AND epoch_us(time) IN (SELECT unnest(?)) ORDER BY time")
        return _utc(self.r.query(sql, [target, list(times_us)]), "time")

    def endpoint_history(self, target: str, since: datetime, until: datetime, points: int = 240,
                         merged: bool = True) -> pl.DataFrame:
        """``vllm_stats_frame`` columns at up to ``points`` stored scrapes in [since, until].
        ``merged``: the endpoint total (one row per time), else one row per engine."""
        times = self._scrape_times_between(target, since - SEARCH_AROUND, until)
        first = max(bisect.bisect_left(times, _us(since)) - 1, 0)  # one scrape before the window starts it
        times = _spread(times[first:], points)
        frame = self._rows_at(target, times)
        if merged:
            frame = merge_engine_frame(frame)
        stats = vllm_stats_frame(frame, target, window=None)
        return stats.filter(pl.col("time") >= since)

    def endpoint_states(self, since: datetime, until: datetime | None = None, target: str | None = None) -> pl.DataFrame:
        """time, target, state, up for every stored scrape in the window."""
        where, params = _between(since, until)
        where += ["kind = 'vllm'", "metric = 'up'"]
        if target is not None:
            where.append("target = ?")
            params.append(target)
        sql = f"SELECT {_SAMPLE_COLUMNS} FROM {self._scan(since, until)} WHERE {' AND '.join(where)}"
        return endpoint_state_frame(_utc(self.r.query(sql, params), "time"))

    def gpu_history(self, since: datetime, until: datetime, points: int = 240) -> pl.DataFrame:
        """time, target and the mean of each GPU gauge per bucket ((until - since) / points wide),
        plus mem_fraction and power_fraction."""
        bucket = max(1, int((until - since).total_seconds() * 1e6 / max(points, 1)))
        sql = f"""
            SELECT (epoch_us(time) // {bucket}) * {bucket} AS bucket_us, target, metric, avg(value) AS value
            FROM {self._scan(since, until)}
            WHERE kind = 'gpu' AND metric IN (SELECT unnest(?)) AND time >= ? AND time <= ?
            GROUP BY ALL
        """
        rows = self.r.query(sql, [list(GPU_METRICS), since, until])
        schema = {"time": pl.Datetime("us", "UTC"), "target": pl.String, **{m: pl.Float64 for m in GPU_METRICS},
                  "mem_fraction": pl.Float64, "power_fraction": pl.Float64}
        if rows.is_empty():
            return pl.DataFrame(schema=schema)
        wide = rows.pivot(on="metric", index=["bucket_us", "target"], values="value")
        wide = wide.with_columns(pl.lit(None, pl.Float64).alias(m) for m in GPU_METRICS if m not in wide.columns)
        return (
            wide.with_columns(
                pl.from_epoch("bucket_us", time_unit="us").dt.replace_time_zone("UTC").alias("time"),
                (pl.col("mem_used_bytes") / pl.col("mem_total_bytes")).alias("mem_fraction"),
                (pl.col("power_w") / pl.col("power_limit_w")).alias("power_fraction"),
            )
            .select(list(schema))
            .sort("time", "target")
        )

    def gpu_status(self, since: datetime) -> pl.DataFrame:
        """The newest stored ``available`` row per GPU host: target, time, available, source, reason."""
        sql = f"""
            SELECT target, max_by(time, time) AS time, max_by(value, time) AS value, max_by(labels, time) AS labels
            FROM {self._scan(since, None)} WHERE kind = 'gpu' AND metric = 'available' AND time >= ?
            GROUP BY target ORDER BY target
        """
        rows = _utc(self.r.query(sql, [since]), "time")
        return rows.select(
            "target", "time", (pl.col("value") >= 1).alias("available"),
            pl.col("labels").str.json_path_match("$.source").alias("source"),
            pl.col("labels").str.json_path_match("$.reason").alias("reason"),
        )

    # -- tying spans to the server ------------------------------------------------------------
    def vllm_targets(self, since: datetime, until: datetime) -> list[str]:
        """The vLLM endpoint targets with stored scrapes in [since, until]."""
        sql = (f"SELECT DISTINCT target FROM {self._scan(since, until)} WHERE kind = 'vllm' AND metric = 'up' "
               f"AND time >= ? AND time <= ? ORDER BY target")
        return self.r.query(sql, [since, until])["target"].to_list()

    def server_state(self, server_address: str, start: datetime, targets: Sequence[str] | None = None) -> ServerState:
        """The endpoint that served a span, at the span's start (see ``server_states``)."""
        return self.server_states([(None, server_address, start)], targets)[None]

    def server_states(
        self, spans: Sequence[tuple[Any, str, datetime]], targets: Sequence[str] | None = None
    ) -> dict[Any, ServerState]:
        """For each (key, server_address, start): the stored scrape of the matching
        endpoint just before the start and the one just after (gauges), the rates
        and latency the server reported between the two, and its GPUs' nearest
        reading. A handful of queries per endpoint, however many spans."""
        if not spans:
            return {}
        starts = [start for _, _, start in spans]
        lo, hi = min(starts), max(starts)
        if targets is None:
            targets = self.vllm_targets(lo - SEARCH_AROUND, hi + SEARCH_AROUND)
        out: dict[Any, ServerState] = {}
        wanted: dict[str, list[tuple[Any, str, datetime]]] = {}
        for key, address, start in spans:
            target = next((t for t in targets if matches_server(address, t)), None)
            if target is None:
                why = ("no health samples were stored around this time" if not targets else
                       f"no scraped endpoint matches {address} (add it to [health] vllm)")
                out[key] = ServerState(address, note=why)
            else:
                wanted.setdefault(target, []).append((key, address, start))
        gpu_rows = self._gpu_rows(lo - GPU_NEAR, hi + GPU_NEAR) if wanted else None
        for target, items in wanted.items():
            times = self._scrape_times_between(target, lo - SEARCH_AROUND, hi + SEARCH_AROUND)
            pairs = {key: _around(times, _us(start)) for key, _, start in items}
            needed = sorted({t for pair in pairs.values() for t in pair if t is not None})
            history = vllm_metrics_history(merge_engine_frame(self._rows_at(target, needed)), target)
            metrics_at = {_us(at): (state, metrics) for at, state, metrics in history}
            gpus_by_start: dict[int, tuple[tuple[GpuAt, ...], str | None]] = {}
            for key, address, start in items:
                start_us = _us(start)
                before_t, after_t = pairs[key]
                if before_t is None and after_t is None:
                    out[key] = ServerState(address, target, note="no scrape of this endpoint within 10 minutes")
                    continue
                before = _reading(metrics_at.get(before_t), before_t, start_us)
                after = _reading(metrics_at.get(after_t), after_t, start_us)
                gen = req = ttft = e2e = None
                if before_t in metrics_at and after_t in metrics_at:
                    stats = derive(metrics_at[before_t][1], metrics_at[after_t][1], (after_t - before_t) / 1e6)
                    if stats:
                        gen, req = stats[0].generation_tokens_per_s, stats[0].requests_per_s
                        ttft, e2e = stats[0].latency.get("ttft"), stats[0].latency.get("e2e")
                if start_us not in gpus_by_start:
                    gpus_by_start[start_us] = _gpus_near(gpu_rows, target, start_us)
                gpus, scope = gpus_by_start[start_us]
                out[key] = ServerState(address, target, before, after, gen, req, ttft, e2e, gpus, scope)
        return out

    def _scrape_times_between(self, target: str, since: datetime, until: datetime) -> list[int]:
        sql = (f"SELECT DISTINCT epoch_us(time) AS t FROM {self._scan(since, until)} "
               f"WHERE target = ? AND kind = 'vllm' AND metric = 'up' AND time >= ? AND time <= ? ORDER BY t")
        return self.r.query(sql, [target, since, until])["t"].to_list()

    def _gpu_rows(self, since: datetime, until: datetime) -> pl.DataFrame:
        sql = f"""
            SELECT target, epoch_us(time) AS t, metric, value FROM {self._scan(since, until)}
            WHERE kind = 'gpu' AND metric IN ('util_percent', 'mem_used_bytes', 'mem_total_bytes', 'temperature_c')
              AND time >= ? AND time <= ?
        """
        return self.r.query(sql, [since, until])

    def trace_latency(self, target: str, since: datetime, until: datetime | None = None) -> TraceLatency:
        """p50/p90/p99 of duration and TTFT of the LLM spans this endpoint served in the window."""
        addresses = server_addresses(target)
        if not addresses:
            return TraceLatency()
        where, params = ["kind = 'llm'", "server_address IN (SELECT unnest(?))", "start_time >= ?"], [addresses, since]
        if until is not None:
            where.append("start_time <= ?")
            params.append(until)
        sql = f"""
            SELECT count(*) AS n,
                   quantile_cont(duration_ms, 0.5) AS d50, quantile_cont(duration_ms, 0.9) AS d90,
                   quantile_cont(duration_ms, 0.99) AS d99,
                   count(ttft_ms) AS nt,
                   quantile_cont(ttft_ms, 0.5) AS t50, quantile_cont(ttft_ms, 0.9) AS t90,
                   quantile_cont(ttft_ms, 0.99) AS t99
            FROM {self._scan(since, until, 'spans')} WHERE {' AND '.join(where)}
        """
        row = self.r.query(sql, params).row(0, named=True)
        return TraceLatency(int(row["n"] or 0), row["d50"], row["d90"], row["d99"], int(row["nt"] or 0),
                            row["t50"], row["t90"], row["t99"])


def _around(times: list[int], at_us: int) -> tuple[int | None, int | None]:
    """The last of ``times`` (sorted) at or before ``at_us`` and the first after it."""
    i = bisect.bisect_right(times, at_us)
    return (times[i - 1] if i else None), (times[i] if i < len(times) else None)


def _reading(found: tuple[Any, Any] | None, at_us: int | None, start_us: int) -> ServerReading | None:
    if found is None or at_us is None:
        return None
    state, metrics = found
    engine = next(iter(metrics.engines.values()), None)
    return ServerReading(
        datetime.fromtimestamp(at_us / 1e6, timezone.utc), (at_us - start_us) / 1e6,
        state.value if state is not None else None,
        engine.kv_cache_usage if engine else None, engine.running if engine else None,
        engine.waiting if engine else None,
    )


def _gpus_near(rows: pl.DataFrame | None, target: str, start_us: int) -> tuple[tuple[GpuAt, ...], str | None]:
    """The GPUs of the endpoint's host (else this machine's), each metric at the
    stored reading nearest ``start_us`` within ``GPU_NEAR``."""
    if rows is None or rows.is_empty():
        return (), None
    found = endpoint_address(target)
    host = found[0] if found else None
    near = rows.filter((pl.col("t") - start_us).abs() <= GPU_NEAR // timedelta(microseconds=1))
    remote = near.filter(pl.col("target").str.starts_with(f"gpu:{host}:")) if host and host != "loopback" else None
    if remote is not None and not remote.is_empty():
        near, scope = remote, host
    else:
        near, scope = near.filter(pl.col("target").str.contains(_LOCAL_GPU.pattern)), "this machine"
    if near.is_empty():
        return (), None
    nearest = (
        near.with_columns((pl.col("t") - start_us).abs().alias("distance"))
        .sort("distance", "t")
        .group_by("target", "metric", maintain_order=True)
        .first()
    )
    values: dict[str, dict[str, tuple[int, float]]] = {}
    for gpu, metric, t, value, _ in nearest.select("target", "metric", "t", "value", "distance").iter_rows():
        values.setdefault(gpu, {})[metric] = (t, value)
    out = []
    for gpu in sorted(values, key=_gpu_order):
        got = values[gpu]
        used, total = got.get("mem_used_bytes"), got.get("mem_total_bytes")
        when = next(iter(got.values()))[0]
        out.append(GpuAt(
            gpu, (when - start_us) / 1e6,
            got["util_percent"][1] if "util_percent" in got else None,
            used[1] / total[1] if used and total and total[1] else None,
            got["temperature_c"][1] if "temperature_c" in got else None,
        ))
    return tuple(out), scope


def _spread(times: list[int], points: int) -> list[int]:
    """At most ``points`` of ``times``, evenly spread, first and last kept."""
    if points < 2 or len(times) <= points:
        return times
    last = len(times) - 1
    picked = sorted({round(i * last / (points - 1)) for i in range(points)})
    return [times[i] for i in picked]


def _gpu_order(target: str) -> tuple[str, int]:
    head, _, index = target.rpartition(":")
    return (head, int(index)) if index.isdigit() else (target, -1)


def sparkline_points(history: pl.DataFrame, gpus: pl.DataFrame, targets: Iterable[str]) -> dict[str, list[tuple[datetime, float]]]:
    """Series for the pane's sparklines from ``endpoint_history`` frames (one
    frame with a ``target`` column) and ``gpu_history``; keys as ``live.series_key``."""
    from store.health.live import ENDPOINT_SERIES, series_key

    out: dict[str, list[tuple[datetime, float]]] = {}
    wanted = set(targets)
    if not history.is_empty():
        for target in wanted & set(history["target"].unique().to_list()):
            rows = history.filter(pl.col("target") == target).sort("time")
            for metric in ENDPOINT_SERIES:
                out[series_key(target, metric)] = [
                    (at, float(v)) for at, v in rows.select("time", metric).iter_rows() if v is not None
                ]
    if not gpus.is_empty():
        for target in gpus["target"].unique().to_list():
            rows = gpus.filter(pl.col("target") == target).sort("time")
            for metric in ("util_percent", "mem_fraction"):
                out[series_key(target, metric)] = [
                    (at, float(v)) for at, v in rows.select("time", metric).iter_rows() if v is not None
                ]
    return out
