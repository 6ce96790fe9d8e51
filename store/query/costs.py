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

How it stays fast: one scan and one statement per question. DuckDB reads only the
columns asked for, from only the day partitions in range, aggregates to (group
key, GPU bucket), allocates GPU time per bucket on that small result (a span's share
is linear in its tokens, so a group's share is its summed tokens over the bucket's),
and folds rows, groups, totals and idle time out of it with grouping sets. Tags are
grouped as lists and unnested after the first aggregation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, Sequence

import polars as pl

from store.pricing.pricer import Pricer
from store.pricing.reprice import DEFAULT_GPU_BUCKET
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
# per (key, GPU bucket): everything but the GPU-time cost, which needs the bucket's totals
_LEVEL1_SQL = f"""
    count(*) AS calls,
    count(*) FILTER (WHERE cost_usd IS NULL AND NOT {_GPU}) AS _unknown,
    sum(cost_usd) FILTER (WHERE NOT {_GPU}) AS _cost,
    coalesce(sum(input_tokens), 0) AS input_tokens,
    coalesce(sum(output_tokens), 0) AS output_tokens,
    coalesce(sum(cache_read_tokens), 0) AS cache_read_tokens,
    coalesce(sum(cache_write_tokens), 0) AS cache_write_tokens,
    coalesce(sum(reasoning_tokens), 0) AS reasoning_tokens,
    sum(cost_usd) FILTER (WHERE cost_source = 'reported') AS reported_usd,
    sum(cost_usd) FILTER (WHERE cost_source = 'computed') AS computed_usd,
    sum(cost_usd) FILTER (WHERE cost_source = 'override') AS override_usd,
    sum(greatest(coalesce(input_tokens, 0) + coalesce(output_tokens, 0), 0)::DOUBLE) FILTER (WHERE {_GPU}) AS _gpu_w,
    count(*) FILTER (WHERE {_GPU}) AS _gpu_n
"""


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
    query: CostQuery
    rows: pl.DataFrame  # per bucket and group: bucket_start, <dimension columns>, MEASURES
    groups: pl.DataFrame  # per group over the range: <dimension columns>, MEASURES, prev_cost_usd, delta_usd, share
    totals: dict[str, Any]  # MEASURES over the range, each span once, plus prev_cost_usd, delta_usd, delta_pct
    idle: pl.DataFrame  # endpoint, buckets, cost_usd: GPU capacity nobody used (not in the totals)
    elapsed_ms: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        return [d.column for d in self.query.dimensions]

    def export_frame(self) -> pl.DataFrame:
        """The stable export layout (docs/costs.md): one row per bucket and group."""
        return self.rows.select(["bucket_start", *self.columns, *MEASURES])


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
    """A grouping key of the priced spans: SQL over a spans row (aliased ``s``), named."""

    sql: str
    name: str
    params: tuple[Any, ...] = ()


# The measures over ``priced`` rows (see ``CostQueries.priced_cte``), in MEASURES order.
MEASURES_SQL = """
    CASE WHEN count(_cost) + count(_gpu_cost) > 0
         THEN coalesce(sum(_cost), 0) + coalesce(sum(_gpu_cost), 0) END AS cost_usd,
    sum(calls)::BIGINT AS calls,
    sum(_unknown)::BIGINT AS unknown_calls,
    sum(input_tokens)::BIGINT AS input_tokens,
    sum(output_tokens)::BIGINT AS output_tokens,
    sum(cache_read_tokens)::BIGINT AS cache_read_tokens,
    sum(cache_write_tokens)::BIGINT AS cache_write_tokens,
    sum(reasoning_tokens)::BIGINT AS reasoning_tokens,
    sum(reported_usd) AS reported_usd,
    sum(computed_usd) AS computed_usd,
    sum(override_usd) AS override_usd,
    sum(_gpu_cost) AS gpu_time_usd
"""


class CostQueries:
    def __init__(self, reader: StoreReader, pricer: Pricer | None = None):
        self.r = reader
        self.pricer = pricer or Pricer()

    # -- priced spans, grouped ------------------------------------------------------------
    def priced_cte(self, lo_us: int, hi_us: int, keys: Sequence[Key], join: str = "") -> tuple[str, list[Any]]:
        """CTEs ending in ``priced``: the priced-kind spans starting in ``[lo_us, hi_us)``
        aggregated per ``keys`` and GPU bucket, with ``_cost`` (known non-GPU cost),
        ``_gpu_cost`` (allocated GPU time), ``_unknown`` and the other measures' parts;
        aggregate them with ``MEASURES_SQL``. ``join`` adds tables after the spans."""
        endpoints = self.pricer.gpu_endpoints
        gpu = bool(endpoints)
        scan_lo = lo_us // GPU_BUCKET_US * GPU_BUCKET_US if gpu else lo_us
        scan_hi = -(-hi_us // GPU_BUCKET_US) * GPU_BUCKET_US if gpu else hi_us
        params: list[Any] = []
        cols = []
        for k in keys:
            cols.append(f'{k.sql} AS "{k.name}"')
            params.extend(k.params)
        names = "".join(f', "{k.name}"' for k in keys)
        if not gpu:
            cols += ["TRUE AS _in", "NULL::VARCHAR AS _endpoint", "NULL::BIGINT AS _gb"]
            rate = "NULL::DOUBLE"
        else:
            # the Pricer's rule (first endpoint in config order whose server or model glob
            # matches, case-insensitively) as SQL, so no span leaves DuckDB to be matched
            cols.append("(start_time >= make_timestamptz(?) AND start_time < make_timestamptz(?)) AS _in")
            params += [lo_us, hi_us]
            whens = []
            for e in endpoints:
                tests = []
                if e.server:
                    tests.append("lower(server_address) GLOB ?")
                    params.append(e.server.lower())
                if e.model:
                    tests.append("lower(model) GLOB ?")
                    params.append(e.model.lower())
                whens.append(f"WHEN {' OR '.join(tests)} THEN ?")
                params.append(e.name)
            cols += [f"CASE WHEN {_GPU} THEN CASE {' '.join(whens)} END END AS _endpoint",
                     f"CASE WHEN {_GPU} THEN epoch_us(start_time) // {GPU_BUCKET_US} END AS _gb"]
            hours = GPU_BUCKET_US / HOUR_US
            rate = "CASE l._endpoint " + " ".join(
                f"WHEN '{e.name.replace(chr(39), chr(39) * 2)}' THEN {float(e.usd_per_hour * hours)!r}"
                for e in endpoints) + " END"
        params += [scan_lo, scan_hi]
        sql = f"""
            level1 AS MATERIALIZED (
                SELECT {', '.join(cols)}, {_LEVEL1_SQL}
                FROM {self.r.scan('spans', TimeRange(scan_lo, scan_hi))} AS s {join}
                WHERE cost_source IS NOT NULL
                  AND start_time >= make_timestamptz(?) AND start_time < make_timestamptz(?)
                GROUP BY ALL),
            gpu_buckets AS (
                SELECT _endpoint, _gb, sum(_gpu_w) AS _ws, sum(_gpu_n) AS _wn FROM level1
                WHERE _endpoint IS NOT NULL GROUP BY ALL),
            priced AS (
                SELECT l.* EXCLUDE (_unknown), l._unknown + CASE WHEN l._endpoint IS NULL THEN l._gpu_n ELSE 0 END
                       AS _unknown,
                       CASE WHEN l._endpoint IS NOT NULL AND l._gpu_n > 0 THEN ({rate})
                            * CASE WHEN b._ws > 0 THEN l._gpu_w / b._ws ELSE l._gpu_n / b._wn END END AS _gpu_cost
                FROM level1 l LEFT JOIN gpu_buckets b ON l._endpoint = b._endpoint AND l._gb = b._gb
                WHERE l._in)"""
        return sql, params

    def priced_groups(self, lo_us: int, hi_us: int, keys: Sequence[Key], join: str = "") -> pl.DataFrame:
        """MEASURES of the priced-kind spans starting in ``[lo_us, hi_us)`` per ``keys``."""
        def build() -> tuple[str, list[Any]]:
            cte, params = self.priced_cte(lo_us, hi_us, keys, join)
            group = ", ".join(f'"{k.name}"' for k in keys)
            return (f"WITH {cte} SELECT {group + ',' if group else ''} {MEASURES_SQL} FROM priced "
                    f"{'GROUP BY ' + group if group else ''}"), params

        return self.r.query_fresh(build)

    # -- the explorer --------------------------------------------------------------------
    def explore(self, q: CostQuery) -> CostReport:
        t0 = time.perf_counter()
        prev_lo, _ = q.previous
        dims = q.dimensions
        names = [d.column for d in dims]
        out = self.r.query_fresh(self._explore_sql, q)
        out = out.with_columns(pl.col("bucket_start").dt.convert_time_zone("UTC"))
        sets = {name: out.filter(pl.col("_set") == name).drop("_set") for name in ("row", "group", "total", "idle")}
        rows = sets["row"].filter(pl.col("_cur")).sort(["bucket_start", *names], nulls_last=True)
        rows = rows.select(["bucket_start", *names, *MEASURES])
        groups = sets["group"]
        current = groups.filter(pl.col("_cur")).select([*names, *MEASURES])
        previous = groups.filter(~pl.col("_cur")).select([*names, pl.col("cost_usd").alias("prev_cost_usd")])
        groups = current.join(previous, on=names, how="left", nulls_equal=True) if names else \
            current.with_columns(pl.lit(previous.get_column("prev_cost_usd").first() if previous.height else None,
                                        pl.Float64).alias("prev_cost_usd"))
        totals = _totals(sets["total"])
        total_cost = totals["cost_usd"] or 0.0
        groups = groups.with_columns(
            (pl.col("cost_usd").fill_null(0) - pl.col("prev_cost_usd")).alias("delta_usd"),
            (pl.col("cost_usd") / total_cost if total_cost else pl.lit(None, pl.Float64)).alias("share"),
        ).sort(["cost_usd", "calls", *names], descending=[True, True, *([False] * len(names))], nulls_last=True)
        idle = sets["idle"].filter(pl.col("_busy") > 0).select(
            pl.col("_idle_endpoint").alias("endpoint"),
            (pl.col("_gb_max") - pl.col("_gb_min") + 1 - pl.col("_busy")).cast(pl.Int64).alias("buckets"),
        )
        rates = {e.name: e.usd_per_hour * GPU_BUCKET_US / HOUR_US for e in self.pricer.gpu_endpoints}
        idle = idle.with_columns(
            (pl.col("buckets") * pl.col("endpoint").replace_strict(rates, default=None, return_dtype=pl.Float64))
            .alias("cost_usd")).sort("endpoint")
        notes = ["a span with several tags counts under each of them"] if "tag" in q.by else []
        return CostReport(q, rows, groups, totals, idle, (time.perf_counter() - t0) * 1000, notes)

    def _explore_sql(self, q: CostQuery) -> tuple[str, list[Any]]:
        prev_lo, _ = q.previous
        dims = q.dimensions
        wanted = list({d.key: d for d in [*dims, *(dimension(k) for k, _ in q.where)]}.values())
        keys = [Key(f"CASE WHEN start_time >= make_timestamptz(?) THEN {bucket_sql(q.bucket)} END", "bucket_start",
                    (q.since_us,))]
        keys += [Key(d.sql, d.column, d.params) for d in wanted]
        join = self._trace_names_join(prev_lo, q.until_us) if any(d.key == "trace" for d in wanted) else ""
        cte, params = self.priced_cte(prev_lo, q.until_us, keys, join)
        where, where_params = [], []
        for key, value in q.where:
            d = dimension(key)
            if d.key == "tag":
                where.append("len(tag) = 0 OR tag IS NULL" if value is None else "list_contains(tag, ?)")
            else:
                where.append(f'"{d.column}" IS NULL' if value is None else f'"{d.column}" = ?')
            if value is not None:
                where_params.append(value)
        names = [d.column for d in dims]
        dim_cols = "".join(f', "{n}"' for n in names)
        tag_unnest = ("SELECT * REPLACE (unnest(CASE WHEN len(tag) > 0 THEN tag ELSE [NULL::VARCHAR] END) AS tag) "
                      "FROM filtered") if "tag" in q.by else "SELECT * FROM filtered"
        sql = f"""
            WITH {cte},
            filtered AS (SELECT *, bucket_start IS NOT NULL AS _cur FROM priced
                         WHERE {' AND '.join(f'({w})' for w in where) or 'TRUE'}),
            grouped AS ({tag_unnest})
            SELECT CASE WHEN grouping(bucket_start) = 0 THEN 'row' ELSE 'group' END AS _set,
                   _cur, bucket_start {dim_cols}, {MEASURES_SQL}
            FROM grouped GROUP BY GROUPING SETS ((_cur, bucket_start {dim_cols}), (_cur {dim_cols}))
            UNION ALL BY NAME
            SELECT 'total' AS _set, _cur, {MEASURES_SQL} FROM filtered GROUP BY _cur
            UNION ALL BY NAME
            SELECT 'idle' AS _set, _endpoint AS _idle_endpoint, count(DISTINCT _gb) AS _busy,
                   min(_gb) AS _gb_min, max(_gb) AS _gb_max
            FROM priced WHERE bucket_start IS NOT NULL AND _endpoint IS NOT NULL GROUP BY _endpoint
        """
        return sql, params + where_params

    def _trace_names_join(self, lo_us: int, hi_us: int) -> str:
        # the root's part can start up to a day before the spans asked about
        lo = lo_us - DAY_US
        return (f"LEFT JOIN (SELECT trace_id, any_value(root_name) AS trace_name "
                f"FROM {self.r.scan('trace_parts', TimeRange(lo, hi_us))} WHERE root_name IS NOT NULL "
                f"AND start_time >= make_timestamptz({int(lo)}) GROUP BY trace_id) AS _roots "
                f"ON _roots.trace_id = s.trace_id")


def _totals(totals: pl.DataFrame) -> dict[str, Any]:
    """The range's totals and the previous period's, from the ``total`` rows (one per period)."""
    current = totals.filter(pl.col("_cur"))
    if current.height:
        out = current.select(MEASURES).row(0, named=True)
    else:
        out = {m: (None if m in _COST_MEASURES else 0) for m in MEASURES}
    previous = totals.filter(~pl.col("_cur"))
    prev_cost, prev_calls = previous.select("cost_usd", "calls").row(0) if previous.height else (None, 0)
    out["prev_cost_usd"], out["prev_calls"] = prev_cost, prev_calls
    out["delta_usd"] = (out["cost_usd"] or 0.0) - prev_cost if prev_cost is not None else None
    out["delta_pct"] = out["delta_usd"] / prev_cost if prev_cost else None
    return out


def spend_frame(queries: CostQueries, since_us: int, until_us: int) -> pl.DataFrame:
    """Known spend in ``[since_us, until_us)`` per second, user, model, service and tags:
    the frame ``store.alerts.budgets`` evaluates (times cut to the second keep it small)."""
    keys = [Key("make_timestamptz(epoch_us(start_time) // 1000000 * 1000000)", "time"), Key("user_id", "user_id"),
            Key("model", "model"), Key("service", "service"), Key("tags", "tags")]
    frame = queries.priced_groups(since_us, until_us, keys)
    return (frame.filter(pl.col("cost_usd").is_not_null())
            .select(pl.col("time").dt.convert_time_zone("UTC"), "user_id", "model", "service", "tags", "cost_usd")
            .sort("time"))


def first_span_us(reader: StoreReader) -> int | None:
    """When the store's spend history starts (from the manifest; no file is read)."""
    starts = [s.min_us for s in reader.manifest().segments if s.table == "spans"]
    return min(starts) if starts else None
