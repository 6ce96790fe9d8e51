"""Headless GPU / vLLM health: scraping, derivation, storage rows and rules.

No UI code here. Modules, each with one job:

- ``prometheus``: text exposition -> ``MetricsSnapshot`` (tolerant of debris).
- ``histogram``: PromQL-style ``histogram_quantile`` and bucket deltas.
- ``vllm``: canonical vLLM names, ``VllmMetrics`` per model/engine, ``derive``.
- ``endpoint``: ``VllmEndpoint.scrape()`` over /health, /metrics, /v1/models.
- ``gpu``: ``GpuSource`` and its NVML, nvidia-smi, DCGM-exporter and fake sources.
- ``samples``: snapshots <-> HEALTH_SAMPLES rows, history rates/quantiles.
- ``rules``: level conditions and the UI's amber/red thresholds.
- ``poller``: ``HealthPoller`` -> ``HealthSnapshot``.
"""

from store.health.endpoint import EndpointScrape, EndpointState, ModelInfo, VllmEndpoint
from store.health.gpu import (
    DcgmExporterSource,
    FakeGpuSource,
    GpuDevice,
    GpuProcess,
    GpuReading,
    GpuSource,
    NvidiaSmiSource,
    NvmlSource,
)
from store.health.histogram import histogram_quantile
from store.health.poller import EndpointHealth, HealthPoller, HealthSnapshot
from store.health.prometheus import MetricsSnapshot, parse_metrics
from store.health.rules import Condition, HealthThresholds, evaluate
from store.health.samples import HealthRow, rows_to_table, snapshot_rows, vllm_stats_frame, vllm_stats_history
from store.health.vllm import EngineKey, EngineStats, LatencySummary, VllmMetrics, derive

__all__ = [
    "Condition",
    "DcgmExporterSource",
    "EndpointHealth",
    "EndpointScrape",
    "EndpointState",
    "EngineKey",
    "EngineStats",
    "FakeGpuSource",
    "GpuDevice",
    "GpuProcess",
    "GpuReading",
    "GpuSource",
    "HealthPoller",
    "HealthRow",
    "HealthSnapshot",
    "HealthThresholds",
    "LatencySummary",
    "MetricsSnapshot",
    "ModelInfo",
    "NvidiaSmiSource",
    "NvmlSource",
    "VllmEndpoint",
    "VllmMetrics",
    "derive",
    "evaluate",
    "histogram_quantile",
    "parse_metrics",
    "rows_to_table",
    "snapshot_rows",
    "vllm_stats_frame",
    "vllm_stats_history",
]
