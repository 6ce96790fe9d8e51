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
  The hot copy also keeps them per day by share of their bucket (``shares_select``),
  priced without the bucket where a segment holds all of it.
* Grains, smallest first; a question uses the first that has every dimension it
  groups or filters by, else spans. ``trace`` needs each span's root name, which only
  the hot copy resolves (``cost_cache``); ``user_all`` is kept in files only.

Over the 90-day benchmark store (2.5 million priced spans) ``base`` is 104,000 rows
(91,000 of them GPU time, by 5-minute bucket), ``session`` 460,000, ``model_user``
564,000, ``user_all`` 900,000.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Iterable

import duckdb
import polars as pl

from store.pricing.reprice import DEFAULT_GPU_BUCKET
from store.query.reader import StoreReader
from store.segments.manifest import Segment

DAY_US = 86_400_000_000
GPU_BUCKET_US = int(DEFAULT_GPU_BUCKET.total_seconds() * 1_000_000)
_WEIGHT = "greatest(coalesce(input_tokens, 0) + coalesce(output_tokens, 0), 0)"  # the gpu_time rule's tokens
TOKENS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens")


@dataclass(frozen=True)
class Grain:
    name: str
    dims: frozenset[str]  # the dimension keys it answers ("attr" for any attr:<key>)
    columns: tuple[str, ...]  # span columns it groups by (besides day and cost_source)
    hot: bool = True  # kept by the hot copy
    files: bool = True  # kept by ``RollupFiles`` (trace names need the hot copy)


GRAINS: tuple[Grain, ...] = (
    Grain("base", frozenset({"model", "provider", "service", "tag", "prompt", "source"}),
          ("model", "provider", "service", "tags", "prompt_id", "prompt_version")),
    Grain("attr", frozenset({"attr", "source"}), ("attributes",)),
    Grain("trace", frozenset({"trace", "source"}), ("trace_name",), files=False),
    Grain("user", frozenset({"user", "source"}), ("user_id",)),
    Grain("session", frozenset({"session", "source"}), ("session_id",)),
    Grain("model_user", frozenset({"model", "provider", "user", "source"}), ("model", "provider", "user_id")),
    # the largest, for exports by user and another dimension only: not worth the hot copy's load time
    Grain("user_all", frozenset({"model", "provider", "service", "tag", "prompt", "source", "user"}),
          ("model", "provider", "service", "tags", "prompt_id", "prompt_version", "user_id"), hot=False),
)


def grain_for(keys: set[str], hot: bool) -> Grain | None:
    """The smallest grain with every dimension key in ``keys`` (``attr:x`` as ``attr``)
    that the hot copy (``hot``) or ``RollupFiles`` keeps."""
    wanted = {"attr" if k.startswith("attr:") else k for k in keys}
    for g in GRAINS:
        if wanted <= g.dims and (g.hot if hot else g.files):
            return g
    return None


def rollup_columns(grain: Grain) -> list[str]:
    """The rollup's columns, in order: ``start_time`` is the day's start."""
    return ["start_time", *grain.columns, "cost_source", "g_model", "g_server", "gb", "cost", "n", "unk", "w",
            *TOKENS]


def sealed(segment: Segment, today: str | None = None) -> bool:
    """A span segment that rarely changes: compacted, or of a day before today (UTC)."""
    today = today or datetime.now(UTC).date().isoformat()
    return segment.table == "spans" and (segment.level >= 1 or segment.day < today)


def rollup_select(grain: Grain, source: str, extra: str = "") -> str:
    """SELECT the rollup rows of ``grain`` from ``source`` (spans with the columns the
    grain needs), in ``rollup_columns`` order (after ``extra`` columns, kept apart)."""
    gpu = "cost_source = 'gpu_time'"
    cols = "".join(f"{c}, " for c in (*([extra] if extra else []), *grain.columns))
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


def sql_string(text: str) -> str:
    """``text`` as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def read_parquet(files: Iterable[str | Path], **options: bool) -> str:
    """A ``read_parquet`` source of ``files`` (``union_by_name``, ``filename``, ...)."""
    opts = "".join(f", {k} = {str(v).lower()}" for k, v in options.items())
    return f"read_parquet([{', '.join(sql_string(str(f)) for f in files)}]{opts})"


def cache_root() -> Path:
    """Where readers keep what they compute from the store, outside it: ``LLMOPS_CACHE_DIR``,
    else ``$XDG_CACHE_HOME/llmops-console``, else ``~/.cache/llmops-console``."""
    if os.environ.get("LLMOPS_CACHE_DIR"):
        return Path(os.environ["LLMOPS_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "llmops-console"


class RollupFiles:
    """The rollups of sealed segments as Parquet files in a cache directory outside the
    store (the collector alone writes the store), one per segment file and grain, for
    one-shot commands that have no hot copy: the first question over a segment writes
    its file (in one statement for all that are missing), later ones read it. Segment
    files never change, so a file named after one stays right; the files of segments
    the manifest dropped are removed when new ones are written."""

    VERSION = 1  # of the rollup layout: a new one starts a new directory

    def __init__(self, reader: StoreReader, root: Path | None = None):
        self.reader = reader
        key = hashlib.sha1(str(reader.root).encode()).hexdigest()[:16]
        self.dir = (root or cache_root()) / f"cost-rollups-v{self.VERSION}" / key

    def path(self, kind: str, segment: Segment) -> Path:
        """The file of ``segment``'s rollup of grain ``kind`` (or "gpu": its GPU-time summary)."""
        return self.dir / kind / (segment.path.replace("/", "--") + f".{segment.rows}.parquet")

    def files(self, grain: Grain, segments: list[Segment]) -> dict[str, str]:
        """segment path -> its rollup file, for the sealed ``segments`` (written when
        missing); a segment it could not write one for is left out (read as spans)."""
        today = datetime.now(UTC).date().isoformat()
        wanted = {s.path: self.path(grain.name, s) for s in segments if s.table == "spans" and sealed(s, today)}
        missing = [s for s in segments if s.path in wanted and not wanted[s.path].exists()]
        if missing:
            try:
                self._write(grain, missing, wanted)
            except (OSError, duckdb.Error):
                pass  # a read-only or full disk: those segments are read span by span
        return {p: str(f) for p, f in wanted.items() if f.exists()}

    def gpu_summaries(self, segments: list[Segment]) -> dict[str, pl.DataFrame]:
        """segment path -> the GPU-time summary kept for it (``CostQueries._gpu_summary``)."""
        today = datetime.now(UTC).date().isoformat()
        files = {str(self.path("gpu", s)): s.path for s in segments if sealed(s, today)}
        files = {f: p for f, p in files.items() if os.path.exists(f)}
        if not files:
            return {}
        try:
            found = self.reader.query(f"SELECT * FROM {read_parquet(files, filename=True)}")
        except duckdb.Error:
            return {}
        parts = found.partition_by("filename", as_dict=True, include_key=False)
        empty = found.clear().drop("filename")
        return {p: parts.get((f,), empty) for f, p in files.items()}

    def save_gpu_summaries(self, summaries: dict[Segment, pl.DataFrame]) -> None:
        today = datetime.now(UTC).date().isoformat()
        try:
            for segment, frame in summaries.items():
                if sealed(segment, today):
                    target = self.path("gpu", segment)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
                    frame.write_parquet(tmp)
                    os.replace(tmp, target)
            self._prune("gpu")
        except OSError:
            pass  # a read-only or full disk: computed again next time

    def _write(self, grain: Grain, missing: list[Segment], wanted: dict[str, Path]) -> None:
        folder = self.dir / grain.name
        folder.mkdir(parents=True, exist_ok=True)
        files = {str(self.reader.root / s.path): s for s in missing}
        cur = self.reader.cursor()
        name = f"_rollup_{uuid.uuid4().hex}"
        source = read_parquet(files, union_by_name=True, filename=True)
        cur.execute(f"CREATE TEMP TABLE {name} AS {rollup_select(grain, source, extra='filename')}")
        try:
            for f, s in files.items():
                target = wanted[s.path]
                tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
                cur.execute(f"COPY (SELECT * EXCLUDE (filename) FROM {name} WHERE filename = ?) "
                            f"TO {sql_string(str(tmp))} (FORMAT parquet)", [f])
                os.replace(tmp, target)
        finally:
            cur.execute(f"DROP TABLE IF EXISTS {name}")
        self._prune(grain.name)

    def _prune(self, kind: str) -> None:
        """Remove the files of segments the manifest no longer lists."""
        live = {self.path(kind, s).name for s in self.reader.manifest().segments if s.table == "spans"}
        for old in (self.dir / kind).iterdir():
            if old.name not in live and not old.name.startswith("."):
                old.unlink(missing_ok=True)


def shares_columns(grain: Grain) -> list[str]:
    """The columns of the GPU-time rollup by share (``shares_select``), in order."""
    return ["start_time", *grain.columns, "cost_source", "g_model", "g_server", "share", "n", *TOKENS]


def with_shares(source: str) -> str:
    """SELECT the GPU-time spans of ``source`` (one segment) with ``share``: each span's
    share of its 5-minute bucket in the segment (by tokens, or by calls when the bucket
    has none; the gpu_time rule)."""
    bucket = f"PARTITION BY model, server_address, epoch_us(start_time) // {GPU_BUCKET_US}"
    return f"""
        SELECT *, CASE WHEN sum({_WEIGHT}) OVER b > 0 THEN {_WEIGHT} / sum({_WEIGHT}) OVER b
                       ELSE 1.0 / count(*) OVER b END AS share
        FROM {source} WHERE cost_source = 'gpu_time' WINDOW b AS ({bucket})"""


def shares_select(grain: Grain, source: str) -> str:
    """SELECT the GPU-time spans of ``source`` (``with_shares``) per day, ``grain`` and
    (model, server), with the sum of their shares. Where the segment holds all of an
    endpoint's bucket (``GpuPrices.exclusive``) a span costs the bucket's cost times its
    share, so these rows are priced without the bucket: ``rate * share``."""
    cols = "".join(f"{c}, " for c in grain.columns)
    return f"""
        SELECT make_timestamptz(epoch_us(start_time) // {DAY_US} * {DAY_US}) AS start_time, {cols} cost_source,
               model AS g_model, server_address AS g_server, sum(share)::DOUBLE AS share, count(*)::BIGINT AS n,
               {', '.join(f'sum({t})::BIGINT AS {t}' for t in TOKENS)}
        FROM {source} GROUP BY ALL"""
