"""One endpoint's engines folded into one: the endpoint total.

A server with several models or data-parallel engines exposes one series per
``(model_name, engine)``. The pane's headline, the history charts and the
CLI show the endpoint as a whole: counters and histogram buckets are summed
(so rates and quantiles cover every request the server handled), running and
waiting are summed, and the KV-cache usage is the fullest engine's (an average
would hide the one that is about to preempt). The result is an ordinary
``VllmMetrics`` with a single ``EngineKey(None, None)``, so ``derive`` and
``histogram_quantile`` apply unchanged.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Iterable, Mapping

import orjson
import polars as pl

from store.health.prometheus import EMPTY_LABELS
from store.health.vllm import CanonicalSample, VllmMetrics

__all__ = ["MAX_METRICS", "merge_samples", "merge_engines", "merge_engine_frame"]

ENGINE_LABELS = ("model_name", "engine")
# Gauges where the endpoint's value is the worst engine's, not the sum.
MAX_METRICS = frozenset({"kv_cache_usage_perc", "server_draining"})


def _without_engine(labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in labels.items() if k not in ENGINE_LABELS))


def merge_samples(samples: Iterable[CanonicalSample]) -> tuple[CanonicalSample, ...]:
    """Samples with the engine labels dropped and equal series combined."""
    totals: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for sample in samples:
        key = (sample.metric, _without_engine(sample.labels))
        before = totals.get(key)
        if before is None:
            totals[key] = sample.value
        elif sample.metric in MAX_METRICS:
            totals[key] = max(before, sample.value)
        else:
            totals[key] = before + sample.value
    return tuple(
        CanonicalSample(metric, MappingProxyType(dict(labels)) if labels else EMPTY_LABELS, value)
        for (metric, labels), value in totals.items()
    )


def merge_engines(metrics: VllmMetrics) -> VllmMetrics:
    """The endpoint total of one scrape (see the module doc)."""
    if metrics.empty:
        return metrics
    return VllmMetrics.from_samples(merge_samples(metrics.samples), deprecated_names=metrics.deprecated_names)


def merge_engine_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """The same over stored HEALTH_SAMPLES rows: vLLM rows get their engine
    labels dropped and are combined per (time, target, metric, labels);
    other rows pass through."""
    if frame.is_empty():
        return frame
    vllm = frame.filter(pl.col("kind") == "vllm")
    rest = frame.filter(pl.col("kind") != "vllm")
    mapping = {text: _merged_label_text(text) for text in vllm["labels"].unique().to_list()}
    merged = (
        vllm.with_columns(pl.col("labels").replace_strict(mapping, return_dtype=pl.String))
        .group_by("time", "target", "kind", "metric", "labels", maintain_order=True)
        .agg(
            pl.when(pl.col("metric").first().is_in(list(MAX_METRICS)))
            .then(pl.col("value").max())
            .otherwise(pl.col("value").sum())
            .alias("value")
        )
    )
    return pl.concat([merged.select(frame.columns), rest], how="vertical")


def _merged_label_text(text: str | None) -> str:
    labels = orjson.loads(text or "{}")
    kept = {k: v for k, v in labels.items() if k not in ENGINE_LABELS}
    return orjson.dumps(kept, option=orjson.OPT_SORT_KEYS).decode() if kept else "{}"
