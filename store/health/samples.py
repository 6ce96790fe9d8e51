"""Health snapshots <-> rows of the ``HEALTH_SAMPLES`` table.

What is stored, per scrape of a vLLM endpoint (target ``vllm:<base url>``,
kind ``vllm``):

- ``up``: 1 when the state is up, else 0; the state is in ``labels.state``.
- ``scrape_duration_seconds``.
- the raw canonical samples of ``vllm.canonical_samples``: gauges, counters
  (``*_total``) and histogram ``*_bucket`` (label ``le``), ``*_sum``, ``*_count``.
  Raw counters and buckets, not rates, so that any window can be computed later
  from history. The python_/process_ families and the vLLM families the console
  does not read are not stored.

Per GPU reading (kind ``gpu``): target ``gpu:all`` (``gpu:<host>:all``) has
``available`` (1/0; ``labels.source``, ``labels.reason``); each device target
``gpu:<index>`` (``gpu:<host>:<index>``) has the gauges of ``GPU_METRICS``
(labels ``uuid``, ``name``) and ``process_used_memory_bytes`` per process
(labels ``pid``, ``name``). A field that is unknown is not written.

Labels are JSON objects with sorted keys, so equal label sets are equal strings.

Reading back: ``vllm_metrics_history`` rebuilds a ``VllmMetrics`` per scrape
time; ``vllm_stats_history`` derives rates and quantiles over a chosen window;
``vllm_stats_frame`` flattens that for charts; ``gpu_frame`` pivots GPU gauges.
"""

from __future__ import annotations

import bisect
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Mapping, NamedTuple, Sequence

import orjson
import polars as pl
import pyarrow as pa

from store.health.endpoint import EndpointScrape, EndpointState
from store.health.gpu import GpuReading, gpu_target
from store.health.vllm import LATENCY_HISTOGRAMS, CanonicalSample, EngineStats, VllmMetrics, derive
from store.schema import HEALTH_SAMPLES

if TYPE_CHECKING:
    from store.health.poller import HealthSnapshot

__all__ = [
    "HealthRow",
    "GPU_METRICS",
    "vllm_rows",
    "gpu_rows",
    "snapshot_rows",
    "rows_to_table",
    "vllm_metrics_history",
    "vllm_stats_history",
    "vllm_stats_frame",
    "endpoint_state_frame",
    "gpu_frame",
]

GPU_METRICS: tuple[str, ...] = (
    "util_percent",
    "mem_used_bytes",
    "mem_total_bytes",
    "temperature_c",
    "power_w",
    "power_limit_w",
    "sm_clock_mhz",
    "sm_clock_max_mhz",
)


class HealthRow(NamedTuple):
    """One row of HEALTH_SAMPLES; ``labels`` is already JSON text."""

    time: datetime
    target: str
    kind: str
    metric: str
    labels: str
    value: float


def _labels_json(labels: Mapping[str, object]) -> str:
    return orjson.dumps(dict(labels), option=orjson.OPT_SORT_KEYS).decode() if labels else "{}"


def vllm_rows(scrape: EndpointScrape) -> list[HealthRow]:
    """Rows for one endpoint scrape (see the module doc)."""
    at, target = scrape.time, scrape.target
    rows = [HealthRow(at, target, "vllm", "up", _labels_json({"state": scrape.state.value}), float(scrape.up))]
    if scrape.duration_s is not None:
        rows.append(HealthRow(at, target, "vllm", "scrape_duration_seconds", "{}", scrape.duration_s))
    if scrape.vllm is not None:
        cache: dict[int, str] = {}  # label mappings are shared between samples of a series
        for sample in scrape.vllm.samples:
            labels = cache.get(id(sample.labels))
            if labels is None:
                labels = cache[id(sample.labels)] = _labels_json(sample.labels)
            rows.append(HealthRow(at, target, "vllm", sample.metric, labels, sample.value))
    return rows


def gpu_rows(reading: GpuReading) -> list[HealthRow]:
    """Rows for one GPU reading (see the module doc)."""
    at = reading.time
    status = {"source": reading.source}
    if reading.reason:
        status["reason"] = reading.reason
    rows = [HealthRow(at, gpu_target(reading.host, "all"), "gpu", "available", _labels_json(status), float(reading.available))]
    for device in reading.devices:
        target = gpu_target(reading.host, device.index)
        ident = _labels_json({k: v for k, v in (("uuid", device.uuid), ("name", device.name)) if v is not None})
        for metric in GPU_METRICS:
            value = getattr(device, metric)
            if value is not None:
                rows.append(HealthRow(at, target, "gpu", metric, ident, float(value)))
        for proc in device.processes:
            if proc.used_memory_bytes is None:
                continue
            labels = {"pid": str(proc.pid)} | ({"name": proc.name} if proc.name else {})
            rows.append(HealthRow(at, target, "gpu", "process_used_memory_bytes", _labels_json(labels), float(proc.used_memory_bytes)))
    return rows


def snapshot_rows(snapshot: "HealthSnapshot") -> list[HealthRow]:
    """All rows of one poll: every endpoint, then the GPUs."""
    rows: list[HealthRow] = []
    for endpoint in snapshot.endpoints:
        rows.extend(vllm_rows(endpoint.scrape))
    if snapshot.gpu is not None:
        rows.extend(gpu_rows(snapshot.gpu))
    return rows


def rows_to_table(rows: Sequence[HealthRow]) -> pa.Table:
    """A ``HEALTH_SAMPLES`` Arrow table (times must be timezone-aware UTC)."""
    columns = list(zip(*rows)) if rows else [()] * len(HEALTH_SAMPLES)
    return pa.Table.from_arrays(
        [pa.array(column, type=field.type) for column, field in zip(columns, HEALTH_SAMPLES)],
        schema=HEALTH_SAMPLES,
    )


# --------------------------------------------------------------------------- reading back


def vllm_metrics_history(frame: pl.DataFrame, target: str) -> list[tuple[datetime, EndpointState | None, VllmMetrics]]:
    """(time, state, metrics) per stored scrape of ``target``, oldest first.

    ``frame`` has the HEALTH_SAMPLES columns (any extra rows are ignored).
    """
    rows = (
        frame.lazy()
        .filter((pl.col("target") == target) & (pl.col("kind") == "vllm"))
        .select("time", "metric", "labels", "value")
        .sort("time", maintain_order=True)
        .collect()
    )
    parsed: dict[str, Mapping[str, str]] = {}
    out: list[tuple[datetime, EndpointState | None, VllmMetrics]] = []
    current_time: datetime | None = None
    state: EndpointState | None = None
    samples: list[CanonicalSample] = []
    for at, metric, labels_text, value in rows.iter_rows():
        if at != current_time:
            if current_time is not None:
                out.append((current_time, state, VllmMetrics.from_samples(samples)))
            current_time, state, samples = at, None, []
        labels = parsed.get(labels_text)
        if labels is None:
            labels = parsed[labels_text] = MappingProxyType(orjson.loads(labels_text or "{}"))
        if metric == "up":
            state = _state(labels.get("state"))
        elif metric != "scrape_duration_seconds":  # endpoint-level: a down scrape has it and no vLLM samples
            samples.append(CanonicalSample(metric, labels, value))
    if current_time is not None:
        out.append((current_time, state, VllmMetrics.from_samples(samples)))
    return out


def vllm_stats_history(
    frame: pl.DataFrame, target: str, window: timedelta | float | None = None
) -> list[tuple[datetime, tuple[EngineStats, ...]]]:
    """Rates and quantiles per stored scrape of ``target``.

    Each point's window runs from the latest stored scrape at or before
    ``time - window`` (``window=None``: the previous scrape) to the point. A
    point with no scrape that far back gets gauges only. Scrapes without vLLM
    samples (endpoint down) are skipped as window starts and ends.
    """
    history = [(at, metrics) for at, _, metrics in vllm_metrics_history(frame, target) if not metrics.empty]
    window_s = window.total_seconds() if isinstance(window, timedelta) else window
    times = [at for at, _ in history]
    out = []
    for i, (at, metrics) in enumerate(history):
        if window_s is None:
            j = i - 1
        else:
            j = bisect.bisect_right(times, at - timedelta(seconds=window_s)) - 1
        if j < 0:
            out.append((at, derive(None, metrics, None)))
        else:
            start, before = history[j]
            out.append((at, derive(before, metrics, (at - start).total_seconds())))
    return out


def vllm_stats_frame(frame: pl.DataFrame, target: str, window: timedelta | float | None = None) -> pl.DataFrame:
    """``vllm_stats_history`` as one row per (time, model_name, engine), for charts.

    Columns: time, model_name, engine, running, waiting, kv_cache_usage,
    prompt_tokens_per_s, generation_tokens_per_s, preemptions_per_s,
    requests_per_s, prefix_cache_hit_rate, <ttft|itl|e2e|queue>_<p50|p90|p99>,
    window_s, counter_reset. Unknown values are null.
    """
    records = []
    for at, stats in vllm_stats_history(frame, target, window):
        for engine in stats:
            record = {
                "time": at,
                "model_name": engine.key.model_name,
                "engine": engine.key.engine,
                "running": engine.running,
                "waiting": engine.waiting,
                "kv_cache_usage": engine.kv_cache_usage,
                "prompt_tokens_per_s": engine.prompt_tokens_per_s,
                "generation_tokens_per_s": engine.generation_tokens_per_s,
                "preemptions_per_s": engine.preemptions_per_s,
                "requests_per_s": engine.requests_per_s,
                "prefix_cache_hit_rate": engine.prefix_cache_hit_rate,
            }
            for short in LATENCY_HISTOGRAMS:
                summary = engine.latency.get(short)
                for q in ("p50", "p90", "p99"):
                    record[f"{short}_{q}"] = getattr(summary, q) if summary is not None else None
            record["window_s"] = engine.window_s
            record["counter_reset"] = engine.counter_reset
            records.append(record)
    return pl.DataFrame(records, schema=_STATS_SCHEMA)


_STATS_SCHEMA = {
    "time": pl.Datetime("us", "UTC"),
    "model_name": pl.String,
    "engine": pl.String,
    **{
        name: pl.Float64
        for name in (
            "running",
            "waiting",
            "kv_cache_usage",
            "prompt_tokens_per_s",
            "generation_tokens_per_s",
            "preemptions_per_s",
            "requests_per_s",
            "prefix_cache_hit_rate",
        )
    },
    **{f"{short}_{q}": pl.Float64 for short in LATENCY_HISTOGRAMS for q in ("p50", "p90", "p99")},
    "window_s": pl.Float64,
    "counter_reset": pl.Boolean,
}


def endpoint_state_frame(frame: pl.DataFrame, target: str | None = None) -> pl.DataFrame:
    """time, target, state, up for every stored vLLM scrape (of ``target`` if given)."""
    rows = frame.lazy().filter((pl.col("kind") == "vllm") & (pl.col("metric") == "up"))
    if target is not None:
        rows = rows.filter(pl.col("target") == target)
    return (
        rows.select(
            "time",
            "target",
            pl.col("labels").str.json_path_match("$.state").alias("state"),
            (pl.col("value") >= 1).alias("up"),
        )
        .sort("time", "target")
        .collect()
    )


def gpu_frame(frame: pl.DataFrame, target: str | None = None) -> pl.DataFrame:
    """One row per (time, GPU target) with a column per ``GPU_METRICS`` gauge
    (null where not stored)."""
    rows = frame.filter((pl.col("kind") == "gpu") & pl.col("metric").is_in(list(GPU_METRICS)))
    if target is not None:
        rows = rows.filter(pl.col("target") == target)
    if rows.is_empty():
        return pl.DataFrame(schema={"time": pl.Datetime("us", "UTC"), "target": pl.String, **{m: pl.Float64 for m in GPU_METRICS}})
    wide = rows.pivot(on="metric", index=["time", "target"], values="value", aggregate_function="first")
    missing = [pl.lit(None, pl.Float64).alias(m) for m in GPU_METRICS if m not in wide.columns]
    return wide.with_columns(missing).select("time", "target", *GPU_METRICS).sort("time", "target")


def _state(value: object) -> EndpointState | None:
    try:
        return EndpointState(value)
    except ValueError:
        return None

