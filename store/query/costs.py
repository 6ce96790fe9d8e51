"""The cost explorer: spend over a time range, bucketed and grouped, with the
previous period for deltas. ``CostQueries.explore`` computes what the costs pane
draws and what ``llmops-console export costs`` writes, so the two always agree.

What is counted (docs/costs.md has the exported columns):

* Spans of the priced kinds only (``cost_source`` not null: LLM and embedding
  calls), so agents and chains that repeat their children's cost are never added.
* ``cost_usd`` sums the known costs. A call whose cost is unknown adds nothing and
  counts in ``unknown_calls``; a group with no known cost at all has a null
  ``cost_usd`` (shown as ``?``, never as $0).
* GPU-hour endpoints: spans with ``cost_source = gpu_time`` are priced here, from
  the current config: each endpoint's cost per 5-minute bucket
  (``reprice.DEFAULT_GPU_BUCKET``, epoch aligned) is spread over the spans that
  started in it, by tokens (the ``gpu_time`` rule). The bucket is always taken
  whole, whatever range was asked, so a span's cost never depends on the question,
  and it equals what ``costs reprice`` stores. Buckets with no traffic between an
  endpoint's first and last busy bucket in the range are idle capacity, reported
  per endpoint apart from the groups (``CostReport.idle``).
* Time buckets are UTC and epoch aligned; weeks start on Monday.
* Group by ``tag`` counts a span under each of its tags (untagged ones under null),
  so those groups can add up to more than the total; the total counts it once.

How it stays fast: one statement per question. DuckDB reads only the columns asked
for, from only the day partitions in range, and aggregates straight to (bucket,
group), sorted; polars folds the groups, totals and deltas out of that small result.
GPU time needs each bucket's token total before any span can be priced: those totals
come from a small per-segment summary (model, server, GPU bucket, tokens, calls of the
GPU-time spans), computed once per immutable segment file and kept in memory, so the
main scan only joins a span to its bucket's price per token. Tags are grouped as lists
and exploded after the aggregation. Day and week buckets read the whole days of
sealed segments from daily rollups (``cost_rollup``: a few thousand rows where there
were millions of spans) and only the partial days from spans. In the console, sealed
segments, their rollups and their spans' trace names are in a hot DuckDB copy
(``cost_cache.HotSpans``); a one-shot command reads rollups from Parquet files in the
user's cache directory (``cost_rollup.RollupFiles``), written the first time.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Sequence

import polars as pl

from store.pricing.pricer import Pricer
from store.pricing.reprice import DEFAULT_GPU_BUCKET
from store.query.cost_cache import HotSpans, hot_sources
from store.query.cost_rollup import Grain, RollupFiles, grain_for, read_parquet, whole_days
from store.query.reader import StoreReader, TimeRange

HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
WEEK_US = 7 * DAY_US
MONDAY_OFFSET_US = 4 * DAY_US  # 1970-01-01 was a Thursday; the first Monday is 4 days later
BUCKETS: dict[str, int] = {"hour": HOUR_US, "day": DAY_US, "week": WEEK_US}
GPU_BUCKET_US = int(DEFAULT_GPU_BUCKET.total_seconds() * 1_000_000)
SOURCES = ("reported", "computed", "override", "gpu_time", "unknown")

# The measures of every row, group and total, in export order.
MEASURES = ("cost_usd", "calls", "unknown_calls", "input_tokens", "output_tokens", "cache_read_tokens",
            "cache_write_tokens", "reasoning_tokens", "reported_usd", "computed_usd", "override_usd",
            "gpu_time_usd")
_COST_MEASURES = ("cost_usd", "reported_usd", "computed_usd", "override_usd", "gpu_time_usd")
_GPU = "cost_source = 'gpu_time'"
_WEIGHT = "greatest(coalesce(input_tokens, 0) + coalesce(output_tokens, 0), 0)"  # the gpu_time rule's tokens
# The measures over ``priced`` rows (``CostQueries.priced_cte``), in MEASURES order.
MEASURES_SQL = f"""
    sum(cost) AS cost_usd,
    coalesce(sum(n), 0)::BIGINT AS calls,
    coalesce(sum(unk), 0)::BIGINT AS unknown_calls,
    coalesce(sum(input_tokens), 0)::BIGINT AS input_tokens,
    coalesce(sum(output_tokens), 0)::BIGINT AS output_tokens,
    coalesce(sum(cache_read_tokens), 0)::BIGINT AS cache_read_tokens,
    coalesce(sum(cache_write_tokens), 0)::BIGINT AS cache_write_tokens,
    coalesce(sum(reasoning_tokens), 0)::BIGINT AS reasoning_tokens,
    sum(cost) FILTER (WHERE cost_source = 'reported') AS reported_usd,
    sum(cost) FILTER (WHERE cost_source = 'computed') AS computed_usd,
    sum(cost) FILTER (WHERE cost_source = 'override') AS override_usd,
    sum(cost) FILTER (WHERE {_GPU}) AS gpu_time_usd
"""
_GPU_CACHE_LIMIT = 20_000  # segment summaries kept (a few KB each)
_GPU_PRICES_KEPT = 8  # ranges' GPU prices kept (a current and a previous period each)
_names = itertools.count()


class Superseded(Exception):
    """A newer question made this one moot before it was answered."""


class CostQueryError(ValueError):
    """A question the explorer cannot answer; the message says how to ask it."""


@dataclass(frozen=True)
class Dimension:
    key: str  # as asked: "model", "attr:app.team"
    column: str  # the output column: "model", "attr.app.team"
    label: str  # for people: "prompt version"
    sql: str  # expression over a spans row (``tag`` groups the list; ``trace`` is joined in)
    params: tuple[Any, ...] = ()
    trace_key: str | None = None  # the traces filter key that selects the same traces


_FIXED: dict[str, Dimension] = {
    d.key: d
    for d in (
        Dimension("model", "model", "model", "model", trace_key="model"),
        Dimension("provider", "provider", "provider", "provider"),
        Dimension("service", "service", "service", "service", trace_key="service"),
        Dimension("user", "user", "user", "user_id", trace_key="user"),
        Dimension("session", "session", "session", "session_id", trace_key="session"),
        Dimension("tag", "tag", "tag", "tags", trace_key="tag"),
        Dimension("prompt", "prompt", "prompt version",
                  "CASE WHEN prompt_id IS NULL THEN NULL ELSE prompt_id || coalesce('@' || prompt_version, '') END",
                  trace_key="prompt"),
        Dimension("trace", "trace_name", "trace name", "_roots.trace_name", trace_key="name"),
        Dimension("source", "cost_source", "cost source", "cost_source"),
    )
}
DIMENSION_KEYS = tuple(_FIXED) + ("attr:<key>",)
_ALIASES = {"user_id": "user", "session_id": "session", "prompt_version": "prompt", "trace_name": "trace",
            "name": "trace", "cost_source": "source", "tags": "tag"}


def dimension(key: str) -> Dimension:
    """``model``, ``provider``, ``service``, ``user``, ``session``, ``tag``, ``prompt``,
    ``trace``, ``source`` or ``attr:<attribute key>`` (a raw span attribute)."""
    key = key.strip()
    if key.startswith(("attr:", "attr.")):
        name = key[5:].strip()
        if not name:
            raise CostQueryError("attr: needs an attribute key, e.g. attr:app.team")
        path = '$."' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return Dimension(f"attr:{name}", f"attr.{name}", name, "json_extract_string(attributes, ?)", (path,))
    found = _FIXED.get(_ALIASES.get(key, key))
    if found is None:
        raise CostQueryError(f"cannot group by {key!r}; use one of {', '.join(DIMENSION_KEYS)}")
    return found


@dataclass(frozen=True)
class CostQuery:
    """Spend in ``[since_us, until_us)``, per ``bucket`` and per value of each ``by``
    dimension; ``where`` keeps only rows whose dimension equals a value (None: null)."""

    since_us: int
    until_us: int
    bucket: str = "day"
    by: tuple[str, ...] = ("model",)
    where: tuple[tuple[str, str | None], ...] = ()

    def __post_init__(self) -> None:
        if self.bucket not in BUCKETS:
            raise CostQueryError(f"bucket is one of {', '.join(BUCKETS)}, not {self.bucket!r}")
        if self.until_us <= self.since_us:
            raise CostQueryError("the range must end after it starts")
        object.__setattr__(self, "by", tuple(dimension(k).key for k in self.by))
        object.__setattr__(self, "where", tuple((dimension(k).key, v) for k, v in self.where))
        if len(set(self.by)) != len(self.by):
            raise CostQueryError("group by each dimension at most once")

    @property
    def previous(self) -> tuple[int, int]:
        """The period of the same length just before, for deltas."""
        return 2 * self.since_us - self.until_us, self.since_us

    @property
    def dimensions(self) -> list[Dimension]:
        return [dimension(k) for k in self.by]

    def with_changes(self, **changes: Any) -> CostQuery:
        return replace(self, **changes)


@dataclass
class CostReport:
    """What the explorer answers. ``rows`` and ``group_frame`` come in no set order;
    ``sorted_rows``, ``groups`` and ``top_groups`` order them (sorting 200,000 sessions
    takes longer than the pane has, and the pane shows only the first few)."""

    query: CostQuery
    rows: pl.DataFrame  # per bucket and group: bucket_start, <dimension columns>, MEASURES
    group_frame: pl.DataFrame  # per group over the range: <dimension columns>, MEASURES, prev_cost_usd, delta_usd, share
    totals: dict[str, Any]  # MEASURES over the range, each span once, plus prev_cost_usd, delta_usd, delta_pct
    idle: pl.DataFrame  # endpoint, buckets, cost_usd: GPU capacity nobody used (not in the totals)
    elapsed_ms: float = 0.0
    notes: list[str] = field(default_factory=list)
    rows_sorted: bool = False  # ``rows`` already in ``sorted_rows`` order

    @property
    def columns(self) -> list[str]:
        return [d.column for d in self.query.dimensions]

    @cached_property
    def groups(self) -> pl.DataFrame:
        """Every group, most expensive first (then most calls, then by value)."""
        return _sort_groups(self.group_frame, self.columns)

    def top_groups(self, n: int) -> pl.DataFrame:
        """The first ``n`` rows of ``groups``, without sorting them all."""
        if "groups" in self.__dict__ or self.group_frame.height <= 4 * n:
            return self.groups.head(n)
        # every group that can be among the first n: at least as costly (and busy) as
        # the n-th by cost and calls; ties with it are all kept, then sorted in full
        key = pl.col("cost_usd").fill_null(float("-inf"))
        nth = self.group_frame.select(key.alias("_k"), "calls").top_k(n, by=["_k", "calls"]).sort(
            ["_k", "calls"]).row(0)
        near = self.group_frame.filter((key > nth[0]) | ((key == nth[0]) & (pl.col("calls") >= nth[1])))
        return _sort_groups(near, self.columns).head(n)

    def sorted_rows(self) -> pl.DataFrame:
        """``rows`` by bucket, then by group value (nulls last)."""
        return self.rows if self.rows_sorted else self.rows.sort(["bucket_start", *self.columns], nulls_last=True)

    def export_frame(self) -> pl.DataFrame:
        """The stable export layout (docs/costs.md): one row per bucket and group, in order."""
        return self.sorted_rows().select(["bucket_start", *self.columns, *MEASURES])


def floor_bucket(us: int, bucket: str) -> int:
    size = BUCKETS[bucket]
    offset = MONDAY_OFFSET_US if bucket == "week" else 0
    return (us - offset) // size * size + offset


def bucket_sql(bucket: str, column: str = "start_time") -> str:
    size = BUCKETS[bucket]
    offset = MONDAY_OFFSET_US if bucket == "week" else 0
    return f"make_timestamptz((epoch_us({column}) - {offset}) // {size} * {size} + {offset})"


@dataclass(frozen=True)
class Key:
    """A grouping key of the priced spans: SQL over a spans row (aliased ``s``), named;
    ``hot_sql`` over the hot copy's rows and rollups when it differs (``roots``: ``sql``
    needs the ``_roots`` join, which the hot copy does without)."""

    sql: str
    name: str
    params: tuple[Any, ...] = ()
    hot: str | None = None
    roots: bool = False

    @property
    def hot_sql(self) -> str:
        return self.sql if self.hot is None else self.hot


@dataclass(frozen=True)
class Source:
    """Spans to read: ``sql`` a FROM-clause source; ``gpu`` whether GPU-time rows may be
    in it ("mixed", "none", "only"); ``parquet``: the store's files (keys use ``Key.sql``)
    rather than the hot copy's; ``rolled``: its segments' whole days are in the rollup."""

    sql: str
    gpu: str
    parquet: bool
    rolled: bool


@dataclass(frozen=True)
class Rolled:
    """FROM-clause sources of rollup rows: ``rows`` (its stored costs are read from
    rows without a GPU bucket), ``gpu`` (GPU-time rows by bucket, priced by it) and
    ``shares`` (GPU-time rows by share of their bucket, ``cost_rollup.shares_select``)."""

    rows: str
    gpu: str | None
    shares: str | None


@dataclass(frozen=True)
class Rollup:
    """Read the whole days in ``windows`` ([lo, hi) µs, day aligned) from the rollups
    of ``grain`` (the hot copy's, or ``RollupFiles``') where a segment has them."""

    grain: Grain
    windows: list[tuple[int, int]]


@dataclass
class GpuPrices:
    """What a GPU-time span costs, per (model, server, 5-minute bucket): ``per_token``
    (the bucket's cost over its tokens; null when it has none) or ``per_call`` (the
    bucket's cost over its calls), from the endpoint the Pricer matches. ``busy`` is
    each endpoint's busy buckets (for idle time)."""

    prices: pl.DataFrame  # _model, _server, _gb, _per_token, _per_call
    busy: pl.DataFrame  # endpoint, gb
    # the segments where every endpoint's bucket is theirs alone (one model and server, no
    # other segment): there a span's cost is the endpoint's bucket cost times its share of
    # the bucket (``cost_cache``'s ``share``), which needs no bucket prices
    exclusive: frozenset[str] = frozenset()
    rates: list[tuple[str | None, str | None, float]] = field(default_factory=list)  # model, server, $/bucket

    @property
    def empty(self) -> bool:
        return self.prices.height == 0


class CostQueries:
    """``hot``: a ``HotSpans`` copy the explorer reads sealed segments from (the console
    keeps one warm); without it every question reads Parquet, and the whole days of
    sealed segments from ``rollup_files`` when given (one-shot commands)."""

    def __init__(self, reader: StoreReader, pricer: Pricer | None = None, hot: HotSpans | None = None,
                 rollup_files: RollupFiles | None = None):
        self.r = reader
        self.pricer = pricer or Pricer()
        self.hot = hot
        self.rollup_files = rollup_files
        self._gpu_segments: dict[str, pl.DataFrame] = {}  # segment path -> its GPU-time summary
        self._gpu_lock = threading.Lock()
        self._gpu_prices: dict[tuple[Any, ...], tuple[Pricer, GpuPrices]] = {}  # the last few ranges priced

    # -- GPU time --------------------------------------------------------------------------
    def gpu_prices(self, lo_us: int, hi_us: int) -> GpuPrices:
        """Prices for the GPU-time spans of every bucket that ``[lo_us, hi_us)`` touches."""
        schema = {"_model": pl.String, "_server": pl.String, "_gb": pl.Int64, "_per_token": pl.Float64,
                  "_per_call": pl.Float64}
        none = GpuPrices(pl.DataFrame(schema=schema), pl.DataFrame(schema={"endpoint": pl.String, "gb": pl.Int64}))
        if not self.pricer.gpu_endpoints:
            return none
        first_gb, end_gb = lo_us // GPU_BUCKET_US, -(-hi_us // GPU_BUCKET_US)
        # the same buckets of the same segment files under the same prices: the same answer
        # (a pane switching group-by asks again for the range it just priced)
        key = (first_gb, end_gb, id(self.pricer), tuple(
            (s.path, s.rows) for s in self.r.manifest().segments
            if s.table == "spans" and TimeRange(first_gb * GPU_BUCKET_US, end_gb * GPU_BUCKET_US).overlaps(
                s.min_us, s.max_us)))
        with self._gpu_lock:
            known = self._gpu_prices.get(key)
        if known is None:  # (the entry keeps its pricer alive, so no other pricer gets its id)
            known = (self.pricer, self._price_gpu_buckets(first_gb, end_gb, none))
            with self._gpu_lock:
                if len(self._gpu_prices) >= _GPU_PRICES_KEPT:
                    self._gpu_prices.pop(next(iter(self._gpu_prices)))
                self._gpu_prices[key] = known
        return known[1]

    def _price_gpu_buckets(self, first_gb: int, end_gb: int, none: GpuPrices) -> GpuPrices:
        summary, parts = self._gpu_summary(first_gb * GPU_BUCKET_US, end_gb * GPU_BUCKET_US)
        summary = summary.filter((pl.col("gb") >= first_gb) & (pl.col("gb") < end_gb))
        if not summary.height:
            return none
        pairs = summary.select("model", "server_address").unique()
        hours = GPU_BUCKET_US / HOUR_US
        names, rates = [], []
        for model, server in pairs.iter_rows():
            endpoint = self.pricer.gpu_endpoint_for(model, server)
            names.append(endpoint.name if endpoint else None)
            rates.append(endpoint.usd_per_hour * hours if endpoint else None)
        mapping = pairs.with_columns(pl.Series("endpoint", names, pl.String), pl.Series("_rate", rates, pl.Float64))
        rows = summary.join(mapping, on=["model", "server_address"], how="left", nulls_equal=True).filter(
            pl.col("endpoint").is_not_null())
        bucket = ["endpoint", "gb"]
        ws, n = pl.col("w").sum().over(bucket), pl.col("n").sum().over(bucket)
        prices = rows.select(
            pl.col("model").alias("_model"), pl.col("server_address").alias("_server"), pl.col("gb").alias("_gb"),
            pl.when(ws > 0).then(pl.col("_rate") / ws).alias("_per_token"), (pl.col("_rate") / n).alias("_per_call"),
        ).unique(["_model", "_server", "_gb"])
        # an endpoint's bucket held by one (model, server) of one segment
        alone = rows.group_by(bucket).agg(pl.len().alias("_pairs"), pl.col("n").sum().alias("_n"))
        mine = pl.concat([f.with_columns(pl.lit(p).alias("_path")) for p, f in parts.items()]).join(
            mapping, on=["model", "server_address"], how="left", nulls_equal=True).filter(
            pl.col("endpoint").is_not_null()).join(alone, on=bucket, how="inner")
        shared = set(mine.filter((pl.col("_pairs") != 1) | (pl.col("_n") != pl.col("n"))).get_column("_path"))
        return GpuPrices(prices, rows.select(bucket).unique(), frozenset(set(parts) - shared),
                         [r for r in mapping.select("model", "server_address", "_rate").iter_rows()])

    def _gpu_summary(self, lo_us: int, hi_us: int) -> tuple[pl.DataFrame, dict[str, pl.DataFrame]]:
        """model, server_address, gb, w, n of the GPU-time spans of every segment that
        overlaps the range, and per segment path (with GPU-time spans); computed once per
        segment file (they never change)."""
        segments = [s for s in self.r.manifest().segments
                    if s.table == "spans" and TimeRange(lo_us, hi_us).overlaps(s.min_us, s.max_us)]
        with self._gpu_lock:
            missing = [s for s in segments if s.path not in self._gpu_segments]
        if missing and self.rollup_files is not None:  # a one-shot command: from the cache directory
            kept = self.rollup_files.gpu_summaries(missing)
            with self._gpu_lock:
                self._gpu_segments.update(kept)
            missing = [s for s in missing if s.path not in kept]
        if missing:
            files = [str(self.r.root / s.path) for s in missing]
            found = self.r.query(
                f"SELECT filename, model, server_address, epoch_us(start_time) // {GPU_BUCKET_US} AS gb, "
                f"sum({_WEIGHT})::DOUBLE AS w, count(*)::BIGINT AS n "
                f"FROM {read_parquet(files, union_by_name=True, filename=True)} WHERE {_GPU} GROUP BY ALL")
            parts = dict(iter(found.partition_by("filename", as_dict=True, include_key=False).items()))
            empty = found.clear().drop("filename")
            with self._gpu_lock:
                if len(self._gpu_segments) > _GPU_CACHE_LIMIT:
                    self._gpu_segments.clear()
                for s, f in zip(missing, files):
                    self._gpu_segments[s.path] = parts.get((f,), empty)
            if self.rollup_files is not None:
                self.rollup_files.save_gpu_summaries({s: parts.get((f,), empty) for s, f in zip(missing, files)})
        with self._gpu_lock:
            parts = {s.path: self._gpu_segments[s.path] for s in segments if s.path in self._gpu_segments}
        parts = {p: f for p, f in parts.items() if f.height}
        if not parts:
            return pl.DataFrame(schema={"model": pl.String, "server_address": pl.String, "gb": pl.Int64,
                                        "w": pl.Float64, "n": pl.Int64}), {}
        summary = pl.concat(parts.values()).group_by("model", "server_address", "gb").agg(
            pl.col("w").sum(), pl.col("n").sum())
        return summary, parts

    # -- priced spans ----------------------------------------------------------------------
    def priced_cte(self, lo_us: int, hi_us: int, keys: Sequence[Key], join: str = "",
                   gpu_table: str | None = None, hot: bool = False, rollup: Rollup | None = None,
                   gpu: GpuPrices | None = None) -> tuple[str, list[Any]]:
        """A CTE ``priced`` (after ``_roots`` when a key needs trace names): rows of
        priced-kind spans starting in ``[lo_us, hi_us)``, with ``start_time``,
        ``cost_source``, the token columns, ``cost`` (GPU time priced from ``gpu_table``,
        a registered ``GpuPrices.prices``; without one, GPU time is unknown), ``n`` (the
        calls a row stands for), ``unk`` (of them, with an unknown cost) and ``keys``.
        Aggregate it with ``MEASURES_SQL``. ``join`` is joined to Parquet spans only.
        ``hot``: read sealed segments from the hot copy, on its cursor (``run(...,
        hot=True)``). ``rollup``: the whole days of ``rollup.windows`` come from the
        rollups of ``rollup.grain`` (one row per day and group; keys over its columns)
        for the segments that have them, the rest of the range from their spans."""
        gpu_join = (f" LEFT JOIN {gpu_table} AS g ON s.cost_source = 'gpu_time' "
                    f"AND g._gb = epoch_us(s.start_time) // {GPU_BUCKET_US} "
                    f"AND g._model IS NOT DISTINCT FROM s.model AND g._server IS NOT DISTINCT FROM s.server_address")
        gpu_cost = (f"CASE WHEN {_GPU} THEN CASE WHEN g._per_token IS NOT NULL THEN {_WEIGHT} * g._per_token "
                    f"ELSE g._per_call END ELSE cost_usd END")
        tokens = "input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens"
        roots = any(k.roots for k in keys)
        sources, rolled_up = self._sources(lo_us, hi_us, hot, rollup.grain if rollup is not None else None,
                                           gpu.exclusive if gpu is not None and gpu_table else frozenset())
        windows = rollup.windows if rollup is not None and rolled_up else []
        edges = _outside(lo_us, hi_us, windows)  # what spans of rolled-up segments answer: all but whole days
        branches, params, parquet = [], [], False
        for source in sources:
            parquet |= source.parquet
            cols = "".join(f'{k.sql if source.parquet else k.hot_sql} AS "{k.name}", ' for k in keys)
            key_params = [p for k in keys for p in k.params]
            if source.gpu == "none":
                cost, extra = "cost_usd", ""
            elif gpu_table:
                cost, extra = gpu_cost, gpu_join
            else:  # no GPU endpoint prices this range: GPU time is unknown
                cost, extra = f"CASE WHEN {_GPU} THEN NULL ELSE cost_usd END", ""
            for a, b in edges if source.rolled else [(lo_us, hi_us)]:  # one range each: zone maps skip the rest
                branches.append(f"""
                    SELECT *, 1::BIGINT AS n, (cost IS NULL)::BIGINT AS unk FROM (
                    SELECT {cols} s.start_time, s.cost_source, {cost} AS cost, {tokens}
                    FROM {source.sql} AS s {join if source.parquet else ''} {extra}
                    WHERE s.cost_source IS NOT NULL
                      AND s.start_time >= make_timestamptz(?) AND s.start_time < make_timestamptz(?))""")
                params += key_params + [a, b]
        if windows:
            assert rolled_up is not None
            cols = "".join(f'{k.hot_sql} AS "{k.name}", ' for k in keys)
            inside = " OR ".join("(s.start_time >= make_timestamptz(?) AND s.start_time < make_timestamptz(?))"
                                 for _ in windows)
            rollup_params = [p for k in keys for p in k.params] + [b for w in windows for b in w]
            # stored costs as they are; GPU time (its rows have a bucket) priced per bucket
            branches.append(f"""
                SELECT {cols} s.start_time, s.cost_source, s.cost, {tokens}, s.n, s.unk
                FROM {rolled_up.rows} AS s WHERE s.gb IS NULL AND ({inside})""")
            params += rollup_params
            if rolled_up.gpu is not None:
                if gpu_table:  # the bucket's price per token is the same for every span: w * price is their sum
                    cost = "CASE WHEN g._per_token IS NOT NULL THEN s.w * g._per_token ELSE s.n * g._per_call END"
                    priced_by = (f"LEFT JOIN {gpu_table} AS g ON g._gb = s.gb AND g._model IS NOT DISTINCT FROM "
                                 f"s.g_model AND g._server IS NOT DISTINCT FROM s.g_server")
                else:
                    cost, priced_by = "NULL::DOUBLE", ""
                branches.append(f"""
                    SELECT *, CASE WHEN cost IS NULL THEN n ELSE 0 END AS unk
                    FROM (SELECT {cols} s.start_time, s.cost_source, {cost} AS cost, {tokens}, s.n
                          FROM {rolled_up.gpu} AS s {priced_by} WHERE s.gb IS NOT NULL AND ({inside}))""")
                params += rollup_params
            if rolled_up.shares is not None and gpu is not None and gpu.rates:
                rates = ", ".join("(?::VARCHAR, ?::VARCHAR, ?::DOUBLE)" for _ in gpu.rates)
                branches.append(f"""
                    SELECT *, CASE WHEN cost IS NULL THEN n ELSE 0 END AS unk
                    FROM (SELECT {cols} s.start_time, s.cost_source, r._rate * s.share AS cost, {tokens}, s.n
                          FROM {rolled_up.shares} AS s
                          LEFT JOIN (VALUES {rates}) AS r(_model, _server, _rate)
                            ON r._model IS NOT DISTINCT FROM s.g_model AND r._server IS NOT DISTINCT FROM s.g_server
                          WHERE {inside})""")
                params += [p for k in keys for p in k.params] + [v for rate in gpu.rates for v in rate] + \
                    [b for w in windows for b in w]
        cte = f"priced AS ({' UNION ALL '.join(branches)})"
        if roots and parquet:
            cte = self._trace_names(lo_us, hi_us) + ", " + cte
        return cte, params

    def _sources(self, lo_us: int, hi_us: int, hot: bool, grain: Grain | None = None,
                 exclusive: frozenset[str] = frozenset()) -> tuple[list[Source], Rolled | None]:
        """FROM-clause sources of the spans in range: Parquet, or the hot copy's tables
        and Parquet for what it does not hold yet; and, with a ``grain``, the rollups of
        the segments whose spans are marked ``rolled`` (the hot copy's, or
        ``rollup_files``' for a one-shot question), or None. ``exclusive``: segments whose
        GPU time the hot copy's rollups by share may price (``GpuPrices.exclusive``)."""
        tr = TimeRange(lo_us, hi_us)
        segments = [s for s in self.r.manifest().segments if s.table == "spans" and tr.overlaps(s.min_us, s.max_us)]
        if hot and self.hot is not None:
            ids = self.hot.ids(segments)
            found, cached = hot_sources(self.hot, self.r, segments, ids)
            use = grain is not None and bool(cached)
            sources = [Source(sql, gpu, gpu == "mixed", use and gpu != "mixed") for sql, gpu in found]
            if not use or grain is None:
                return sources, None
            shared = sorted(i for p, i in ids.items() if p not in exclusive)
            alone = sorted(i for p, i in ids.items() if p in exclusive)
            return sources, Rolled(self.hot.rollup(grain, cached), self.hot.rollup(grain, shared) if shared else None,
                                   self.hot.rollup(grain, alone, shares=True) if alone else None)
        files = self.rollup_files.files(grain, segments) if grain is not None and self.rollup_files else {}
        if not files:
            return [Source(self.r.scan("spans", files=[str(self.r.root / s.path) for s in segments]), "mixed",
                           True, False)], None
        sources = [Source(self.r.scan("spans", files=[str(self.r.root / s.path) for s in segments if s.path in files]),
                          "mixed", True, True)]
        rest = [str(self.r.root / s.path) for s in segments if s.path not in files]
        if rest:
            sources.append(Source(self.r.scan("spans", files=rest), "mixed", True, False))
        rollups = read_parquet(files.values())
        return sources, Rolled(rollups, rollups, None)

    def run(self, build: Any, gpu: GpuPrices | None, hot: bool = False) -> pl.DataFrame:
        """``build(gpu_table)`` -> (sql, params), run with ``gpu.prices`` registered as
        ``gpu_table`` on this thread's cursor (the hot copy's, with ``hot``). A file that
        compaction removed meanwhile makes it build the statement again."""
        import duckdb

        cursor = self.hot.cursor() if hot and self.hot is not None else self.r.cursor()
        name = None
        if gpu is not None and not gpu.empty:
            name = f"_gpu_prices_{next(_names)}"
            cursor.register(name, gpu.prices.to_arrow())
        try:
            for attempt in range(3):
                sql, params = build(name)
                try:
                    return cursor.sql(sql, params=params or None).pl()
                except duckdb.IOException as e:
                    if attempt == 2 or not any(m in str(e) for m in ("No files found", "No such file", "not exist")):
                        raise
                    time.sleep(0.05)
            raise AssertionError("unreachable")
        finally:
            if name is not None:
                cursor.unregister(name)

    def priced_groups(self, lo_us: int, hi_us: int, keys: Sequence[Key], join: str = "") -> pl.DataFrame:
        """MEASURES of the priced-kind spans starting in ``[lo_us, hi_us)`` per ``keys``."""
        group = ", ".join(f'"{k.name}"' for k in keys)

        def build(gpu_table: str | None) -> tuple[str, list[Any]]:
            cte, params = self.priced_cte(lo_us, hi_us, keys, join, gpu_table)
            return (f"WITH {cte} SELECT {group + ',' if group else ''} {MEASURES_SQL} FROM priced "
                    f"{'GROUP BY ' + group if group else ''}"), params

        return self.run(build, self.gpu_prices(lo_us, hi_us))

    # -- the explorer --------------------------------------------------------------------
    def explore(self, q: CostQuery, superseded: Any = None, ordered: bool = False) -> CostReport:
        """The report for ``q``. ``superseded()``, when given, is checked before the scan:
        true means nobody wants this answer any more (``Superseded`` is raised).
        ``ordered``: the statement sorts the rows (an export wants them all in order, and
        DuckDB sorts 400,000 of them in ~80 ms where polars takes ~130; the pane wants
        none of them sorted)."""
        t0 = time.perf_counter()
        prev_lo, _ = q.previous
        dims = q.dimensions
        names = [d.column for d in dims]
        gpu = self.gpu_prices(prev_lo, q.until_us)
        if superseded is not None and superseded():
            raise Superseded()
        ordered = ordered and "tag" not in q.by  # tags are exploded and folded after the statement
        out = self.run(lambda table: self._explore_sql(q, table, gpu, ordered=ordered), gpu, hot=True)
        out = out.with_columns(pl.col("bucket_start").dt.convert_time_zone("UTC"))
        flat_current = out.filter(pl.col("bucket_start").is_not_null())
        flat_previous = out.filter(pl.col("bucket_start").is_null())
        totals = _totals(flat_current, flat_previous)
        if "tag" in q.by:
            out = out.with_columns(
                pl.when(pl.col("tag").list.len() > 0).then(pl.col("tag")).otherwise(pl.lit([None], pl.List(pl.String)))
            ).explode("tag")
            out = _fold(out, ["bucket_start", *names])
        # in no set order: the report sorts when asked (the statement's ORDER BY took 40 ms
        # over 200,000 sessions, and the pane charts only the top groups)
        rows = out.filter(pl.col("bucket_start").is_not_null()).select(["bucket_start", *names, *MEASURES])
        groups = _groups(rows, out.filter(pl.col("bucket_start").is_null()), names)
        total_cost = totals["cost_usd"] or 0.0
        groups = groups.with_columns(
            (pl.col("cost_usd") / total_cost if total_cost else pl.lit(None, pl.Float64)).alias("share"))
        notes = ["a span with several tags counts under each of them"] if "tag" in q.by else []
        return CostReport(q, rows, groups, totals, self._idle(gpu, q), (time.perf_counter() - t0) * 1000, notes,
                          rows_sorted=ordered)

    def _explore_sql(self, q: CostQuery, gpu_table: str | None, gpu: GpuPrices | None = None,
                     ordered: bool = False) -> tuple[str, list[Any]]:
        prev_lo, _ = q.previous
        wanted = list({d.key: d for d in [*q.dimensions, *(dimension(k) for k, _ in q.where)]}.values())
        keys = [Key(f"CASE WHEN s.start_time >= make_timestamptz(?) THEN {bucket_sql(q.bucket, 's.start_time')} END",
                    "bucket_start", (q.since_us,))]
        for d in wanted:
            if d.key == "trace":
                keys.append(Key(d.sql, d.column, d.params, hot="s.trace_name", roots=True))
            else:
                keys.append(Key(d.sql, d.column, d.params))
        join = "LEFT JOIN _roots ON _roots.trace_id = s.trace_id" if any(k.roots for k in keys) else ""
        rollup = None
        grain = grain_for({d.key for d in wanted}, hot=self.hot is not None) if q.bucket != "hour" else None
        if grain is not None:  # days and weeks are made of whole days
            rollup = Rollup(grain, whole_days([prev_lo, q.since_us, q.until_us]))
        cte, params = self.priced_cte(prev_lo, q.until_us, keys, join, gpu_table, hot=True, rollup=rollup, gpu=gpu)
        where, where_params = [], []
        for key, value in q.where:
            d = dimension(key)
            if d.key == "tag":
                where.append("(len(tag) = 0 OR tag IS NULL)" if value is None else "list_contains(tag, ?)")
            else:
                where.append(f'"{d.column}" IS NULL' if value is None else f'"{d.column}" = ?')
            if value is not None:
                where_params.append(value)
        group = "".join(f', "{d.column}"' for d in q.dimensions)
        sql = f"""
            WITH {cte}
            SELECT bucket_start {group}, {MEASURES_SQL}
            FROM priced WHERE {' AND '.join(where) or 'TRUE'}
            GROUP BY bucket_start {group}
        """
        if ordered:  # bucket first: the previous period's rows (no bucket) last
            sql += "ORDER BY " + ", ".join(f"{c} NULLS LAST" for c in ["bucket_start", *(
                f'"{d.column}"' for d in q.dimensions)])
        return sql, params + where_params

    def _idle(self, gpu: GpuPrices, q: CostQuery) -> pl.DataFrame:
        schema = {"endpoint": pl.String, "buckets": pl.Int64, "cost_usd": pl.Float64}
        first, end = q.since_us // GPU_BUCKET_US, -(-q.until_us // GPU_BUCKET_US)
        busy = gpu.busy.filter((pl.col("gb") >= first) & (pl.col("gb") < end)).group_by("endpoint").agg(
            (pl.col("gb").max() - pl.col("gb").min() + 1 - pl.col("gb").n_unique()).cast(pl.Int64).alias("buckets"))
        if not busy.height:
            return pl.DataFrame(schema=schema)
        hours = GPU_BUCKET_US / HOUR_US
        rates = {e.name: e.usd_per_hour * hours for e in self.pricer.gpu_endpoints}
        return busy.select(
            "endpoint", "buckets",
            (pl.col("buckets") * pl.col("endpoint").replace_strict(rates, return_dtype=pl.Float64)).alias("cost_usd"),
        ).sort("endpoint")

    def _trace_names(self, lo_us: int, hi_us: int) -> str:
        """A CTE ``_roots`` (trace_id, trace_name), read once for every source of the spans."""
        lo = lo_us - DAY_US  # the root's part can start up to a day before the spans asked about
        files = self.r.files("trace_parts", TimeRange(lo, hi_us))
        # (a literal empty source when there are none: this may run on the hot copy's connection)
        parts = self.r.scan("trace_parts", files=files) if files else \
            "(SELECT NULL::VARCHAR AS trace_id, NULL::VARCHAR AS root_name, NULL::TIMESTAMPTZ AS start_time)"
        return (f"_roots AS MATERIALIZED (SELECT trace_id, any_value(root_name) AS trace_name "
                f"FROM {parts} WHERE root_name IS NOT NULL "
                f"AND start_time >= make_timestamptz({int(lo)}) GROUP BY trace_id)")


def _outside(lo_us: int, hi_us: int, windows: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``[lo_us, hi_us)`` less the (sorted, disjoint) ``windows``, as ranges."""
    out, at = [], lo_us
    for a, b in windows:
        if a > at:
            out.append((at, a))
        at = max(at, b)
    if at < hi_us:
        out.append((at, hi_us))
    return out


def _sum_known(column: str) -> pl.Expr:
    """A sum that stays null when every value is null: unknown is not $0."""
    return pl.when(pl.col(column).is_not_null().any()).then(pl.col(column).sum()).alias(column)


def _measure_aggs() -> list[pl.Expr]:
    return [_sum_known(m) if m in _COST_MEASURES else pl.col(m).sum().alias(m) for m in MEASURES]


def _fold(frame: pl.DataFrame, keys: list[str], measures: Sequence[str] = MEASURES) -> pl.DataFrame:
    """``measures`` summed per ``keys`` (a cost that is null in every row stays null)."""
    return frame.group_by(keys).agg(_sum_known(m) if m in _COST_MEASURES else pl.col(m).sum() for m in measures)


def _groups(rows: pl.DataFrame, previous: pl.DataFrame, dims: list[str]) -> pl.DataFrame:
    if dims:
        current = _fold(rows, dims)
        prev = _fold(previous, dims, ("cost_usd",)).rename({"cost_usd": "prev_cost_usd"})
        out = current.join(prev, on=dims, how="left", nulls_equal=True)
    else:
        prev_cost = previous.select(_sum_known("cost_usd")).item() if previous.height else None
        out = rows.select(_measure_aggs()).with_columns(pl.lit(prev_cost, pl.Float64).alias("prev_cost_usd"))
    return out.with_columns((pl.col("cost_usd").fill_null(0) - pl.col("prev_cost_usd")).alias("delta_usd"))


def _sort_groups(groups: pl.DataFrame, dims: list[str]) -> pl.DataFrame:
    return groups.sort(["cost_usd", "calls", *dims], descending=[True, True, *([False] * len(dims))],
                       nulls_last=True)


def _totals(current: pl.DataFrame, previous: pl.DataFrame) -> dict[str, Any]:
    """The range's totals and the previous period's (each span once: before tags explode)."""
    if current.height:
        out = current.select(_measure_aggs()).row(0, named=True)
    else:
        out = {m: (None if m in _COST_MEASURES else 0) for m in MEASURES}
    prev_cost, prev_calls = (previous.select(_sum_known("cost_usd"), pl.col("calls").sum()).row(0)
                             if previous.height else (None, 0))
    out["prev_cost_usd"], out["prev_calls"] = prev_cost, prev_calls
    out["delta_usd"] = (out["cost_usd"] or 0.0) - prev_cost if prev_cost is not None else None
    out["delta_pct"] = out["delta_usd"] / prev_cost if prev_cost else None
    return out


def spend_frame(queries: CostQueries, since_us: int, until_us: int) -> pl.DataFrame:
    """Known spend in ``[since_us, until_us)`` per second, user, model, service and tags:
    the frame ``store.alerts.budgets`` evaluates (times cut to the second keep it small)."""
    keys = [Key("make_timestamptz(epoch_us(s.start_time) // 1000000 * 1000000)", "time"),
            Key("user_id", "user_id"), Key("s.model", "model"), Key("service", "service"), Key("tags", "tags")]
    frame = queries.priced_groups(since_us, until_us, keys)
    return (frame.filter(pl.col("cost_usd").is_not_null())
            .select(pl.col("time").dt.convert_time_zone("UTC"), "user_id", "model", "service", "tags", "cost_usd")
            .sort("time"))


def first_span_us(reader: StoreReader) -> int | None:
    """When the store's spend history starts (from the manifest; no file is read)."""
    starts = [s.min_us for s in reader.manifest().segments if s.table == "spans"]
    return min(starts) if starts else None
