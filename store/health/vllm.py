"""vLLM ``/metrics`` semantics: canonical names, per-engine values, and rates.

Pipeline: ``parse_metrics(text)`` -> ``canonical_samples(snapshot)`` ->
``VllmMetrics.from_samples(samples)`` (``VllmMetrics.from_snapshot`` does both)
-> ``derive(prev, cur, dt)``. Stored history goes through the same
``from_samples`` (see ``samples.py``), so live and replayed figures agree.

Canonical names are the exposed sample names without the ``vllm:`` prefix,
after the renames vLLM made (the deprecated name is read only when the new one
is absent for that model/engine):

- ``gpu_cache_usage_perc`` -> ``kv_cache_usage_perc``
- ``time_per_output_token_seconds`` -> ``inter_token_latency_seconds``
- ``gpu_prefix_cache_{queries,hits}_total`` -> ``prefix_cache_{queries,hits}_total``

Series are grouped per ``EngineKey(model_name, engine)``; either label may be
absent (V0 servers have no ``engine``), which gives ``None``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Iterable, Mapping, NamedTuple

from store.health.histogram import Bucket, bucket_deltas, histogram_quantile
from store.health.prometheus import EMPTY_LABELS, MetricsSnapshot

__all__ = [
    "EngineKey",
    "CanonicalSample",
    "Histogram",
    "EngineMetrics",
    "VllmMetrics",
    "LatencySummary",
    "EngineStats",
    "canonical_samples",
    "without_unread_families",
    "derive",
    "GAUGES",
    "COUNTERS",
    "HISTOGRAMS",
    "LATENCY_HISTOGRAMS",
    "QUANTILES",
]

# canonical name -> exposed names, preferred first. Gauges and histograms are
# named by family; counters by their exposed ``_total`` sample name.
GAUGES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "num_requests_running": ("vllm:num_requests_running",),
        "num_requests_waiting": ("vllm:num_requests_waiting",),
        "kv_cache_usage_perc": ("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"),
        # 1 while a server started with --enable-graceful-shutdown drains.
        "server_draining": ("vllm:server_draining",),
    }
)
COUNTERS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "prompt_tokens_total": ("vllm:prompt_tokens_total",),
        "generation_tokens_total": ("vllm:generation_tokens_total",),
        "num_preemptions_total": ("vllm:num_preemptions_total",),
        "request_success_total": ("vllm:request_success_total",),
        "prefix_cache_queries_total": ("vllm:prefix_cache_queries_total", "vllm:gpu_prefix_cache_queries_total"),
        "prefix_cache_hits_total": ("vllm:prefix_cache_hits_total", "vllm:gpu_prefix_cache_hits_total"),
    }
)
HISTOGRAMS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "time_to_first_token_seconds": ("vllm:time_to_first_token_seconds",),
        "inter_token_latency_seconds": ("vllm:inter_token_latency_seconds", "vllm:time_per_output_token_seconds"),
        "e2e_request_latency_seconds": ("vllm:e2e_request_latency_seconds",),
        "request_queue_time_seconds": ("vllm:request_queue_time_seconds",),
    }
)
# Short names used in EngineStats.latency and by the UI.
LATENCY_HISTOGRAMS: Mapping[str, str] = MappingProxyType(
    {
        "ttft": "time_to_first_token_seconds",
        "itl": "inter_token_latency_seconds",
        "e2e": "e2e_request_latency_seconds",
        "queue": "request_queue_time_seconds",
    }
)
QUANTILES: tuple[float, ...] = (0.5, 0.9, 0.99)

_GAUGE_FIELDS = {
    "num_requests_running": "running",
    "num_requests_waiting": "waiting",
    "kv_cache_usage_perc": "kv_cache_usage",
}
_COUNTER_FIELDS = {
    "prompt_tokens_total": "prompt_tokens",
    "generation_tokens_total": "generation_tokens",
    "num_preemptions_total": "preemptions",
    "prefix_cache_queries_total": "prefix_cache_queries",
    "prefix_cache_hits_total": "prefix_cache_hits",
}


class _Spec(NamedTuple):
    family: str  # canonical family (gauge/histogram name, counter sample name)
    sample: str  # canonical sample name
    priority: int  # 0 = current name, 1 = deprecated name


def _sample_specs() -> dict[str, _Spec]:
    specs: dict[str, _Spec] = {}
    for table in (GAUGES, COUNTERS):
        for canonical, exposed in table.items():
            for priority, name in enumerate(exposed):
                specs[name] = _Spec(canonical, canonical, priority)
    for canonical, exposed in HISTOGRAMS.items():
        for priority, name in enumerate(exposed):
            for suffix in ("_bucket", "_sum", "_count"):
                specs[name + suffix] = _Spec(canonical, canonical + suffix, priority)
    return specs


_SPECS = _sample_specs()
# Names a HELP/TYPE line may give a family the console reads (counters with and without _total).
_READ_FAMILIES = frozenset(
    [name for table in (GAUGES, HISTOGRAMS) for names in table.values() for name in names]
    + [name for names in COUNTERS.values() for name in names]
    + [name[: -len("_total")] for names in COUNTERS.values() for name in names]
)
_CANONICAL_SAMPLE_NAMES = frozenset(spec.sample for spec in _SPECS.values())
_DEPRECATED = {name: spec for name, spec in _SPECS.items() if spec.priority}


class EngineKey(NamedTuple):
    """Which model/engine a series belongs to; ``None`` when the label is absent."""

    model_name: str | None
    engine: str | None

    @classmethod
    def of(cls, labels: Mapping[str, str]) -> "EngineKey":
        return cls(labels.get("model_name"), labels.get("engine"))

    @property
    def label(self) -> str:
        """Short text for a UI or a message: ``model``, ``model engine=0``, or ``-``."""
        parts = [self.model_name] if self.model_name else []
        if self.engine is not None:
            parts.append(f"engine={self.engine}")
        return " ".join(parts) or "-"

    def sort_key(self) -> tuple[str, str]:
        return (self.model_name or "", self.engine or "")


@dataclass(frozen=True, slots=True)
class CanonicalSample:
    """A vLLM sample under its canonical name (``kv_cache_usage_perc``,
    ``prompt_tokens_total``, ``time_to_first_token_seconds_bucket``), with all its
    labels (``model_name``, ``engine``, ``le``, ``finished_reason``)."""

    metric: str
    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True, slots=True)
class Histogram:
    """A cumulative histogram: ``buckets`` are (upper bound, cumulative count)
    sorted by bound. ``inf_from_count`` says the ``+Inf`` bucket was missing and
    was made from ``_count``."""

    buckets: tuple[Bucket, ...]
    count: float | None = None
    sum: float | None = None
    inf_from_count: bool = False


@dataclass(frozen=True, slots=True)
class EngineMetrics:
    """Raw values for one model/engine at one scrape; ``None`` = not exposed."""

    key: EngineKey
    running: float | None = None
    waiting: float | None = None
    kv_cache_usage: float | None = None  # 0..1
    prompt_tokens: float | None = None  # counters, cumulative
    generation_tokens: float | None = None
    preemptions: float | None = None
    prefix_cache_queries: float | None = None  # in tokens
    prefix_cache_hits: float | None = None
    request_success: Mapping[str, float] = field(default_factory=lambda: EMPTY_LABELS)  # by finished_reason
    histograms: Mapping[str, Histogram] = field(default_factory=lambda: EMPTY_LABELS)  # by canonical family


@dataclass(frozen=True, slots=True)
class VllmMetrics:
    """The vLLM view of one scrape.

    ``samples`` are the canonical samples it was built from (what ``samples.py``
    stores). ``draining`` is True/False when the server exposes
    ``vllm:server_draining``, else None. ``deprecated_names`` lists the old names
    that were read because the new ones were absent.
    """

    engines: Mapping[EngineKey, EngineMetrics] = field(default_factory=lambda: EMPTY_LABELS)
    samples: tuple[CanonicalSample, ...] = ()
    draining: bool | None = None
    deprecated_names: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.samples

    @classmethod
    def from_snapshot(cls, snapshot: MetricsSnapshot) -> "VllmMetrics":
        samples, deprecated = _canonical(snapshot)
        return cls.from_samples(samples, deprecated_names=deprecated)

    @classmethod
    def from_samples(
        cls, samples: Iterable[CanonicalSample], *, deprecated_names: tuple[str, ...] = ()
    ) -> "VllmMetrics":
        """Build from canonical samples (from a scrape or from stored rows)."""
        samples = tuple(samples)
        builders: dict[EngineKey, _EngineBuilder] = {}
        draining: bool | None = None
        for sample in samples:
            if sample.metric not in _CANONICAL_SAMPLE_NAMES:
                continue  # stored rows also hold endpoint-level metrics (up, ...)
            key = EngineKey.of(sample.labels)
            if sample.metric == "server_draining":
                draining = bool(draining) or sample.value >= 1
                continue
            builder = builders.get(key)
            if builder is None:
                builder = builders[key] = _EngineBuilder(key)
            builder.add(sample)
        engines = {key: builders[key].build() for key in sorted(builders, key=EngineKey.sort_key)}
        return cls(MappingProxyType(engines), samples, draining, deprecated_names)


def without_unread_families(text: str) -> str:
    """The body less the lines of ``vllm:`` families the console does not read
    (iteration tokens, request sizes, prefill/decode times...: two thirds of a V1
    scrape), so parsing costs a third. Everything else stays, debris included, so
    what is read and what is reported as unreadable do not change; only a
    malformed line of an unread vLLM family goes unreported."""
    kept = []
    for line in text.split("\n"):
        head = line.lstrip()
        if head.startswith("vllm:"):
            end = len(head)
            for stop in ("{", " "):
                at = head.find(stop)
                if 0 <= at < end:
                    end = at
            if head[:end] not in _SPECS:
                continue
        elif head.startswith(("# HELP vllm:", "# TYPE vllm:")):
            parts = head.split(None, 3)
            if len(parts) > 2 and parts[2] not in _READ_FAMILIES:
                continue
        kept.append(line)
    return "\n".join(kept)


def canonical_samples(snapshot: MetricsSnapshot) -> tuple[CanonicalSample, ...]:
    """The vLLM samples of a parsed body, renamed, deprecated duplicates dropped.

    For each canonical family and model/engine, only the best-named source is
    kept, so a histogram is never a mix of old and new buckets (the DataDog
    fixture has both ``time_per_output_token_seconds`` and
    ``inter_token_latency_seconds`` with different bucket lists).
    """
    return _canonical(snapshot)[0]


def _canonical(snapshot: MetricsSnapshot) -> tuple[tuple[CanonicalSample, ...], tuple[str, ...]]:
    found: list[tuple[_Spec, str, CanonicalSample]] = []
    best: dict[tuple[str, EngineKey], int] = {}
    for family in snapshot.families.values():
        # Skip python_*/process_* and other exporters' families wholesale; an
        # untyped family may hold a vllm sample whose TYPE line was lost.
        if not family.name.startswith("vllm:") and family.type != "untyped":
            continue
        for s in family.samples:
            spec = _SPECS.get(s.name)
            if spec is None:
                continue
            slot = (spec.family, EngineKey.of(s.labels))
            if best.get(slot, 99) > spec.priority:
                best[slot] = spec.priority
            found.append((spec, s.name, CanonicalSample(spec.sample, s.labels, s.value)))
    kept: list[CanonicalSample] = []
    deprecated: set[str] = set()
    for spec, exposed, sample in found:
        if best[(spec.family, EngineKey.of(sample.labels))] != spec.priority:
            continue
        kept.append(sample)
        if spec.priority:
            deprecated.add(_base_name(exposed))
    return tuple(kept), tuple(sorted(deprecated))


def _base_name(exposed: str) -> str:
    for suffix in ("_bucket", "_sum", "_count"):
        if exposed.endswith(suffix) and exposed[: -len(suffix)] in _HISTOGRAM_EXPOSED:
            return exposed[: -len(suffix)]
    return exposed


_HISTOGRAM_EXPOSED = frozenset(name for names in HISTOGRAMS.values() for name in names)


class _EngineBuilder:
    __slots__ = ("key", "values", "success", "hist")

    def __init__(self, key: EngineKey) -> None:
        self.key = key
        self.values: dict[str, float] = {}
        self.success: dict[str, float] = {}
        self.hist: dict[str, dict] = {}

    def add(self, sample: CanonicalSample) -> None:
        metric = sample.metric
        if metric in _GAUGE_FIELDS:
            self.values[_GAUGE_FIELDS[metric]] = sample.value
        elif metric in _COUNTER_FIELDS:
            self.values[_COUNTER_FIELDS[metric]] = sample.value
        elif metric == "request_success_total":
            reason = sample.labels.get("finished_reason", "unknown")
            self.success[reason] = self.success.get(reason, 0.0) + sample.value
        else:
            family, _, part = metric.rpartition("_")
            parts = self.hist.setdefault(family, {"buckets": {}})
            if part == "bucket":
                le = sample.labels.get("le")
                try:
                    parts["buckets"][float(le)] = sample.value  # float("+Inf") is inf
                except (TypeError, ValueError):
                    pass  # a bucket without a readable bound cannot be placed
            else:
                parts[part] = sample.value

    def build(self) -> EngineMetrics:
        histograms = {}
        for family, parts in self.hist.items():
            buckets = sorted(parts["buckets"].items())
            count = parts.get("count")
            inf_from_count = False
            if count is not None and buckets and not math.isinf(buckets[-1][0]):
                buckets.append((math.inf, count))
                inf_from_count = True
            histograms[family] = Histogram(tuple(buckets), count, parts.get("sum"), inf_from_count)
        return EngineMetrics(
            key=self.key,
            request_success=MappingProxyType(self.success),
            histograms=MappingProxyType(histograms),
            **self.values,
        )


@dataclass(frozen=True, slots=True)
class LatencySummary:
    """One latency histogram over a window. ``count`` = observations in the
    window, ``mean`` = Δsum/Δcount; quantiles ``None`` when the window is empty."""

    p50: float | None = None
    p90: float | None = None
    p99: float | None = None
    count: float | None = None
    mean: float | None = None


@dataclass(frozen=True, slots=True)
class EngineStats:
    """What the console shows for one model/engine: gauges now, rates and
    latency quantiles over the window since the previous snapshot.

    ``latency`` is keyed by the short names of ``LATENCY_HISTOGRAMS``
    (ttft, itl, e2e, queue). ``counter_reset`` says some counter or histogram
    went down in the window (a restart); its rate then counts from zero.
    """

    key: EngineKey
    running: float | None = None
    waiting: float | None = None
    kv_cache_usage: float | None = None
    prompt_tokens_per_s: float | None = None
    generation_tokens_per_s: float | None = None
    preemptions_per_s: float | None = None
    requests_per_s: float | None = None
    request_success_per_s: Mapping[str, float] = field(default_factory=lambda: EMPTY_LABELS)
    prefix_cache_hit_rate: float | None = None  # Δhits/Δqueries, None when nothing was queried
    latency: Mapping[str, LatencySummary] = field(default_factory=lambda: EMPTY_LABELS)
    window_s: float | None = None
    counter_reset: bool = False


def derive(
    prev: VllmMetrics | MetricsSnapshot | None,
    cur: VllmMetrics | MetricsSnapshot,
    dt: float | None,
) -> tuple[EngineStats, ...]:
    """Rates and quantiles for each model/engine in ``cur`` over ``dt`` seconds.

    Rates are counter increases divided by ``dt``; a counter that went down is
    taken to have restarted from zero (its increase is its current value), as
    PromQL's ``rate`` does. Quantiles come from the bucket increases
    (``histogram_quantile`` on the window, not on the lifetime totals). With no
    ``prev``, no matching model/engine in it, or ``dt`` not > 0, rates and
    quantiles are ``None``; gauges are always the current values.
    """
    cur_m = cur if isinstance(cur, VllmMetrics) else VllmMetrics.from_snapshot(cur)
    prev_m = prev if isinstance(prev, VllmMetrics) or prev is None else VllmMetrics.from_snapshot(prev)
    window = dt if dt is not None and dt > 0 and prev_m is not None else None
    return tuple(
        _engine_stats(prev_m.engines.get(key) if window else None, engine, window)
        for key, engine in cur_m.engines.items()
    )


def _engine_stats(prev: EngineMetrics | None, cur: EngineMetrics, dt: float | None) -> EngineStats:
    gauges = dict(running=cur.running, waiting=cur.waiting, kv_cache_usage=cur.kv_cache_usage)
    if prev is None or dt is None:
        return EngineStats(cur.key, **gauges)
    reset = False

    def increase(before: float | None, after: float | None) -> float | None:
        nonlocal reset
        if before is None or after is None:
            return None
        if after < before:
            reset = True
            return after
        return after - before

    def rate(before: float | None, after: float | None) -> float | None:
        delta = increase(before, after)
        return None if delta is None else delta / dt

    success = {}
    for reason, after in cur.request_success.items():
        # A reason first seen now started from zero within the window.
        success[reason] = rate(prev.request_success.get(reason, 0.0), after)
    queries = increase(prev.prefix_cache_queries, cur.prefix_cache_queries)
    hits = increase(prev.prefix_cache_hits, cur.prefix_cache_hits)
    hit_rate = hits / queries if hits is not None and queries else None

    latency = {}
    for short, family in LATENCY_HISTOGRAMS.items():
        hist = cur.histograms.get(family)
        if hist is None:
            continue
        before = prev.histograms.get(family)
        summary, hist_reset = _window_latency(before, hist)
        reset = reset or hist_reset
        latency[short] = summary
    return EngineStats(
        cur.key,
        **gauges,
        prompt_tokens_per_s=rate(prev.prompt_tokens, cur.prompt_tokens),
        generation_tokens_per_s=rate(prev.generation_tokens, cur.generation_tokens),
        preemptions_per_s=rate(prev.preemptions, cur.preemptions),
        requests_per_s=sum(success.values()) if success else None,
        request_success_per_s=MappingProxyType(success),
        prefix_cache_hit_rate=hit_rate,
        latency=MappingProxyType(latency),
        window_s=dt,
        counter_reset=reset,
    )


def _window_latency(prev: Histogram | None, cur: Histogram) -> tuple[LatencySummary, bool]:
    if prev is None:
        return LatencySummary(), False
    deltas, reset = bucket_deltas(prev.buckets, cur.buckets)
    if reset:
        count, total = cur.count, cur.sum
    else:
        count = _minus(cur.count, prev.count)
        total = _minus(cur.sum, prev.sum)
    if count is None and deltas and math.isinf(deltas[-1][0]):
        count = deltas[-1][1]
    quantiles = [histogram_quantile(q, deltas) for q in QUANTILES]
    mean = total / count if total is not None and count else None
    return LatencySummary(*quantiles, count=count, mean=mean), reset


def _minus(after: float | None, before: float | None) -> float | None:
    return None if after is None or before is None else after - before


def __getattr__(name: str):
    # The scraper lives in endpoint.py (it imports this module); offer it here too.
    if name in ("VllmEndpoint", "EndpointScrape", "EndpointState", "ModelInfo"):
        from store.health import endpoint

        return getattr(endpoint, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
