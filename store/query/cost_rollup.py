"""Daily rollups of the priced spans, for the cost explorer's whole days.

A rollup holds, per UTC day and per value of a few dimensions (its *grain*), the
measures of the priced-kind spans: the sum of the stored costs, calls, unknown calls,
the token sums. It is built once per immutable segment file (``rollup_select``) and
answers a question exactly for the days the range covers whole; the partial first and
last days, the day the previous period ends in, hour buckets and segments without a
rollup are read span by span, in the same statement (``CostQueries.priced_cte``).

* ``cost_source`` is in every grain (the measures split by it), so a rollup row has
  one source. GPU-time rows also keep their model, server and 5-minute bucket
  (``g_model``, ``g_server``, ``gb``) and token weight ``w``: their price per token is
  the same for every span of a bucket, so ``w * price`` is the sum of the spans' costs.
* Grains, smallest first; a question uses the first that has every dimension it
  groups or filters by, else spans. ``trace`` needs each span's root name, which only
  the hot copy resolves (``cost_cache``).

Over the 90-day benchmark store the ``base`` grain is ~6,000 rows, ``user`` ~370,000
and ``session`` ~150,000, against 2.5 million priced spans.
"""

from __future__ import annotations

from dataclasses import dataclass

from store.pricing.reprice import DEFAULT_GPU_BUCKET

DAY_US = 86_400_000_000
GPU_BUCKET_US = int(DEFAULT_GPU_BUCKET.total_seconds() * 1_000_000)
_WEIGHT = "greatest(coalesce(input_tokens, 0) + coalesce(output_tokens, 0), 0)"  # the gpu_time rule's tokens
TOKENS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens")


@dataclass(frozen=True)
class Grain:
    name: str
    dims: frozenset[str]  # the dimension keys it answers ("attr" for any attr:<key>)
    columns: tuple[str, ...]  # span columns it groups by (besides day and cost_source)
    hot_only: bool = False  # needs a column only the hot copy has


GRAINS: tuple[Grain, ...] = (
    Grain("base", frozenset({"model", "provider", "service", "tag", "prompt", "source"}),
          ("model", "provider", "service", "tags", "prompt_id", "prompt_version")),
    Grain("attr", frozenset({"attr", "source"}), ("attributes",)),
    Grain("trace", frozenset({"trace", "source"}), ("trace_name",), hot_only=True),
    Grain("session", frozenset({"session", "source"}), ("session_id",)),
    Grain("user", frozenset({"model", "provider", "service", "tag", "prompt", "source", "user"}),
          ("model", "provider", "service", "tags", "prompt_id", "prompt_version", "user_id")),
)


def grain_for(keys: set[str], hot: bool) -> Grain | None:
    """The smallest grain with every dimension key in ``keys`` (``attr:x`` as ``attr``)."""
    wanted = {"attr" if k.startswith("attr:") else k for k in keys}
    for g in GRAINS:
        if wanted <= g.dims and (hot or not g.hot_only):
            return g
    return None


def rollup_columns(grain: Grain) -> list[str]:
    """The rollup's columns, in order: ``start_time`` is the day's start."""
    return ["start_time", *grain.columns, "cost_source", "g_model", "g_server", "gb", "cost", "n", "unk", "w",
            *TOKENS]


def rollup_select(grain: Grain, source: str) -> str:
    """SELECT the rollup rows of ``grain`` from ``source`` (spans with the columns the
    grain needs), in ``rollup_columns`` order."""
    gpu = "cost_source = 'gpu_time'"
    cols = "".join(f"{c}, " for c in grain.columns)
    return f"""
        SELECT make_timestamptz(epoch_us(start_time) // {DAY_US} * {DAY_US}) AS start_time, {cols} cost_source,
               CASE WHEN {gpu} THEN model END AS g_model, CASE WHEN {gpu} THEN server_address END AS g_server,
               CASE WHEN {gpu} THEN epoch_us(start_time) // {GPU_BUCKET_US} END AS gb,
               sum(cost_usd) AS cost, count(*)::BIGINT AS n, count(*) FILTER (WHERE cost_usd IS NULL)::BIGINT AS unk,
               sum({_WEIGHT})::DOUBLE AS w, {', '.join(f'sum({t})::BIGINT AS {t}' for t in TOKENS)}
        FROM {source} WHERE cost_source IS NOT NULL
        GROUP BY ALL"""


def whole_days(bounds: list[int]) -> list[tuple[int, int]]:
    """The windows of whole UTC days inside each ``[bounds[i], bounds[i+1])``."""
    out = []
    for lo, hi in zip(bounds, bounds[1:]):
        a, b = -(-lo // DAY_US) * DAY_US, hi // DAY_US * DAY_US
        if a < b:
            out.append((a, b))
    return out
