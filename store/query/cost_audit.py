"""The token audit behind the costs pane: where the tokens and the money go.

* **Top traces** by cost and by input tokens, and **top prompts** (prompt id and
  version) the same two ways; costs as in the explorer (GPU time allocated).
* **Token composition**: the share of input tokens that is system prompt, and the
  share that is retrieved context. A span's message text says which characters are
  which, its ``input_tokens`` how many tokens they make, so per LLM call:
  ``system ≈ input_tokens × system chars / all message chars``. Retrieved context is
  the text retriever spans of the same trace returned (``output_value``); it is
  pasted into the calls that follow it, so per call it is
  ``min(retrieved chars, non-system chars)`` in the same proportion. Calls whose
  messages were not recorded are left out of both the numerator and denominator.
* **Cache opportunity**: requests that were sent before, identically or nearly.
  A request is the model plus its input messages (or input value), normalized:
  lowercased, every run of digits and every hex run of 8+ characters (ids, UUID
  parts, hashes) replaced by ``#``, whitespace collapsed; then hashed. Per group of
  two or more: how many calls, what they cost, and what a cache would have saved
  (every call but the first free), with example traces.
* **Token-accounting flags** (``store.pricing.accounting``): spans whose numbers
  cannot be right, counted by flag, with the list.

The text analyses read message bodies, the heaviest columns in the store, so over a
long range they look at the most recent calls only (``TEXT_SPAN_LIMIT``), and say so.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from store.pricing.accounting import TOKEN_COLUMNS, accounting_flags_expr
from store.query.cost_rollup import read_parquet
from store.query.costs import CostQueries, CostQuery, Key, MEASURES_SQL, DAY_US
from store.query.reader import TimeRange

TEXT_SPAN_LIMIT = 150_000  # priced calls the text analyses read at most (the newest)
CHARS_PER_TOKEN = 4.0  # only for retrieved text, which has no token count of its own
FLAGGED_LIMIT = 500
# digits, hex-ish ids (runs of hex characters and dashes holding a digit) and whitespace go
_NORMALIZED = "regexp_replace(lower({col}), '[0-9a-f]*[0-9][0-9a-f-]*|\\s+', '', 'g')"


@dataclass
class Composition:
    calls: int  # LLM calls with recorded messages
    input_tokens: int  # their input tokens
    system_tokens: float  # estimated
    retrieved_tokens: float  # estimated
    since_us: int  # the part of the range the text analyses covered
    sampled: bool  # True when that part is shorter than the range

    @property
    def system_share(self) -> float | None:
        return self.system_tokens / self.input_tokens if self.input_tokens else None

    @property
    def retrieved_share(self) -> float | None:
        return self.retrieved_tokens / self.input_tokens if self.input_tokens else None


@dataclass
class AuditReport:
    top_traces_cost: pl.DataFrame  # trace_id, start_time, trace_name, user, cost_usd, input_tokens, calls, ...
    top_traces_input: pl.DataFrame
    top_prompts_cost: pl.DataFrame  # prompt, cost_usd, input_tokens, calls, unknown_calls
    top_prompts_input: pl.DataFrame
    composition: Composition
    cache: pl.DataFrame  # model, calls, cost_usd, saving_usd, first_seen, example_traces, example_text
    cache_saving_usd: float
    elapsed_ms: float = 0.0
    notes: list[str] = field(default_factory=list)


@dataclass
class FlaggedReport:
    counts: dict[str, int]  # flag code -> spans
    spans: pl.DataFrame  # the newest flagged spans, FLAGGED_LIMIT at most
    total: int


def _top(frame: pl.DataFrame, measure: str, key: str, limit: int) -> pl.DataFrame:
    """The ``limit`` rows largest in ``measure``; ties broken by ``key`` so that the same store
    always gives the same list (a UNION upstream returns rows in no fixed order)."""
    return frame.sort([measure, key], descending=[True, False], nulls_last=True).head(limit)


class CostAudit:
    def __init__(self, queries: CostQueries):
        self.q = queries
        self.r = queries.r
        self._candidates: dict[str, pl.DataFrame] = {}  # segment path -> its flagged-span candidates
        self._candidates_lock = threading.Lock()

    def audit(self, q: CostQuery, limit: int = 10) -> AuditReport:
        import time

        t0 = time.perf_counter()
        traces = self.top_traces(q, limit)
        prompts = self.q.explore(q.with_changes(by=("prompt",))).groups.filter(pl.col("prompt").is_not_null())
        cols = ["prompt", "cost_usd", "input_tokens", "output_tokens", "calls", "unknown_calls"]
        text_since = self.text_window(q)
        composition = self.composition(q, text_since)
        cache = self.cache_opportunity(q, text_since)
        notes = []
        if composition.sampled:
            notes.append(f"text analyses cover the newest {TEXT_SPAN_LIMIT:,} calls of the range")
        return AuditReport(
            _top(traces, "cost_usd", "trace_id", limit),
            _top(traces, "input_tokens", "trace_id", limit),
            _top(prompts, "cost_usd", "prompt", limit).select(cols),
            _top(prompts, "input_tokens", "prompt", limit).select(cols),
            composition, cache, float(cache.get_column("saving_usd").sum() or 0.0) if cache.height else 0.0,
            (time.perf_counter() - t0) * 1000, notes)

    # -- top traces ----------------------------------------------------------------------
    def top_traces(self, q: CostQuery, limit: int) -> pl.DataFrame:
        """The ``limit`` most expensive traces and the ``limit`` with most input tokens."""
        def build(gpu_table: str | None) -> tuple[str, list[Any]]:
            cte, params = self.q.priced_cte(q.since_us, q.until_us, [Key("s.trace_id", "trace_id")],
                                            gpu_table=gpu_table)
            sql = f"""
                WITH {cte}, per_trace AS MATERIALIZED (
                    SELECT trace_id, {MEASURES_SQL} FROM priced GROUP BY trace_id)
                (SELECT * FROM per_trace ORDER BY cost_usd DESC NULLS LAST, trace_id LIMIT {int(limit)})
                UNION
                (SELECT * FROM per_trace ORDER BY input_tokens DESC, trace_id LIMIT {int(limit)})
            """
            return sql, params

        top = self.q.run(build, self.q.gpu_prices(q.since_us, q.until_us))
        if not top.height:
            return top.with_columns(pl.lit(None, pl.Datetime("us", "UTC")).alias("start_time"),
                                    pl.lit(None, pl.String).alias("trace_name"), pl.lit(None, pl.String).alias("user"))
        ids = top.get_column("trace_id").to_list()
        tr = TimeRange(q.since_us - DAY_US, q.until_us)
        names = self.r.query(
            f"SELECT trace_id, min(start_time) AS start_time, any_value(root_name) AS trace_name, "
            f"any_value(user_id) AS user FROM {self.r.scan('trace_parts', tr)} "
            f"WHERE trace_id IN (SELECT unnest(?)) GROUP BY trace_id", [ids])
        names = names.with_columns(pl.col("start_time").dt.convert_time_zone("UTC"))
        return top.join(names, on="trace_id", how="left")

    # -- text analyses -------------------------------------------------------------------
    def text_window(self, q: CostQuery) -> int:
        """Where the text analyses start: the range's start, or later so that they read
        at most TEXT_SPAN_LIMIT LLM calls (whole days, newest first, from the manifest)."""
        m = self.r.manifest()
        days: dict[str, int] = {}
        for s in m.segments:
            if s.table == "spans" and TimeRange(q.since_us, q.until_us).overlaps(s.min_us, s.max_us):
                days[s.day] = days.get(s.day, 0) + s.rows
        # the manifest counts all spans; about one in four is an LLM call in typical traffic,
        # so this over-counts and stays on the safe side
        total, since = 0, q.since_us
        for day in sorted(days, reverse=True):
            total += days[day]
            if total > TEXT_SPAN_LIMIT * 2:
                from datetime import date, datetime, UTC

                start = datetime.combine(date.fromisoformat(day), datetime.min.time(), UTC)
                since = max(q.since_us, int(start.timestamp() * 1_000_000) + DAY_US)
                break
        return since

    def composition(self, q: CostQuery, since_us: int) -> Composition:
        tr = TimeRange(since_us, q.until_us)
        scan = self.r.scan("spans", tr)
        sql = f"""
            WITH calls AS (
                SELECT trace_id, input_tokens,
                       from_json(input_messages, '[{{"role": "VARCHAR", "content": "VARCHAR"}}]') AS m
                FROM {scan}
                WHERE kind = 'llm' AND input_messages IS NOT NULL AND input_tokens > 0
                  AND start_time >= make_timestamptz(?) AND start_time < make_timestamptz(?)),
            sized AS (
                SELECT trace_id, input_tokens,
                       coalesce(list_sum(list_transform(list_filter(m, lambda x: x.role = 'system'),
                                                        lambda x: length(coalesce(x.content, '')))), 0) AS sys_chars,
                       coalesce(list_sum(list_transform(m, lambda x: length(coalesce(x.content, '')))), 0) AS all_chars
                FROM calls),
            retrieved AS (
                SELECT trace_id, sum(length(output_value)) AS ctx_chars FROM {scan}
                WHERE kind = 'retriever' AND output_value IS NOT NULL
                  AND start_time >= make_timestamptz(?) AND start_time < make_timestamptz(?)
                GROUP BY trace_id)
            SELECT count(*)::BIGINT AS calls, coalesce(sum(input_tokens), 0)::BIGINT AS input_tokens,
                   coalesce(sum(input_tokens * sys_chars / all_chars), 0) AS system_tokens,
                   coalesce(sum(input_tokens * least(coalesce(ctx_chars, 0), all_chars - sys_chars) / all_chars), 0)
                       AS retrieved_tokens
            FROM sized LEFT JOIN retrieved USING (trace_id) WHERE all_chars > 0
        """
        row = self.r.query(sql, [since_us, q.until_us, since_us, q.until_us]).row(0)
        return Composition(int(row[0]), int(row[1]), float(row[2]), float(row[3]), since_us, since_us > q.since_us)

    def cache_opportunity(self, q: CostQuery, since_us: int, limit: int = 50) -> pl.DataFrame:
        """Groups of requests a cache could have answered (see the module docstring)."""
        tr = TimeRange(since_us, q.until_us)

        def build(gpu_table: str | None) -> tuple[str, list[Any]]:
            cte, params = self.q.priced_cte(since_us, q.until_us, [Key("s.span_id", "span_id")],
                                            gpu_table=gpu_table)
            sql = f"""
                WITH {cte},
                costs AS (SELECT span_id, {MEASURES_SQL} FROM priced GROUP BY span_id),
                parsed AS (
                    SELECT span_id, trace_id, start_time, model, json_array_length(input_messages) AS n,
                           json_extract_string(input_messages, ['$[0].content', '$[#-1].content']) AS ends,
                           input_value
                    FROM {self.r.scan('spans', tr)}
                    WHERE cost_source IS NOT NULL AND (input_messages IS NOT NULL OR input_value IS NOT NULL)
                      AND start_time >= make_timestamptz(?) AND start_time < make_timestamptz(?)),
                texts AS (
                    SELECT span_id, trace_id, start_time, model,
                           CASE WHEN n > 1 THEN md5(coalesce(ends[1], '')) || n ELSE '' END AS head,
                           coalesce(ends[2], input_value, '') AS last
                    FROM parsed),
                norm AS (
                    SELECT last, md5({_NORMALIZED.format(col="last")}) AS tail FROM (SELECT DISTINCT last FROM texts)),
                calls AS (
                    SELECT t.trace_id, t.start_time, t.model, t.last, c.cost_usd,
                           md5(coalesce(t.model, '') || '|' || t.head || '|' || norm.tail) AS request
                    FROM texts t JOIN norm USING (last) JOIN costs c USING (span_id)),
                repeated AS (
                    SELECT model, request, count(*)::BIGINT AS calls, sum(cost_usd) AS cost_usd,
                           sum(cost_usd) - arg_min(cost_usd, start_time) AS saving_usd,
                           min(start_time) AS first_seen,
                           list(DISTINCT trace_id ORDER BY trace_id)[1:3] AS example_traces,
                           left(arg_min(last, start_time), 300) AS example_text
                    FROM calls GROUP BY model, request HAVING count(*) > 1)
                SELECT * EXCLUDE (request) FROM repeated
                ORDER BY saving_usd DESC NULLS LAST, calls DESC, model, request LIMIT {int(limit)}
            """
            return sql, params + [since_us, q.until_us]

        out = self.q.run(build, self.q.gpu_prices(since_us, q.until_us))
        return out.with_columns(pl.col("first_seen").dt.convert_time_zone("UTC"))

    # -- token accounting ----------------------------------------------------------------
    def flagged(self, q: CostQuery, limit: int = FLAGGED_LIMIT) -> FlaggedReport:
        """Spans whose token numbers cannot be right (``store.pricing.accounting``). SQL
        picks the candidates (any check could trip; once per segment file, which never
        changes, kept in memory); the accounting module decides."""
        tr = TimeRange(q.since_us, q.until_us)
        segments = [s for s in self.r.manifest().segments if s.table == "spans" and tr.overlaps(s.min_us, s.max_us)]
        with self._candidates_lock:
            missing = [s for s in segments if s.path not in self._candidates]
        if missing:
            found = self._flagged_candidates([str(self.r.root / s.path) for s in missing])
            parts = found.partition_by("filename", as_dict=True, include_key=False)
            empty = found.clear().drop("filename")
            live = {s.path for s in self.r.manifest().segments}
            with self._candidates_lock:
                for path in [p for p in self._candidates if p not in live]:  # compacted away
                    del self._candidates[path]
                for s in missing:
                    self._candidates[s.path] = parts.get((str(self.r.root / s.path),), empty)
        with self._candidates_lock:
            frames = [self._candidates[s.path] for s in segments if s.path in self._candidates]
        candidates = pl.concat(frames) if frames else self._flagged_candidates([]).drop("filename")
        since, until = (pl.lit(us, pl.Int64).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
                        for us in (q.since_us, q.until_us))
        candidates = candidates.filter((pl.col("start_time") >= since) & (pl.col("start_time") < until)).sort(
            "start_time", descending=True)
        flagged = candidates.with_columns(accounting_flags_expr(candidates.schema)).filter(
            pl.col("accounting_flags").list.len() > 0).drop("output_messages", "output_value")
        flagged = flagged.with_columns(pl.col("start_time").dt.convert_time_zone("UTC"))
        counts = flagged.select(pl.col("accounting_flags").explode()).group_by("accounting_flags").len()
        return FlaggedReport({code: int(n) for code, n in counts.iter_rows()}, flagged.head(limit), flagged.height)

    def _flagged_candidates(self, files: list[str]) -> pl.DataFrame:
        """The LLM and embedding spans of ``files`` that any accounting check could flag,
        with the file they are in (``filename``)."""
        inp, out, read, write, reasoning, total = TOKEN_COLUMNS
        if files:
            source = read_parquet(files, union_by_name=True, filename=True)
        else:
            source = "(SELECT *, NULL::VARCHAR AS filename FROM _empty_spans)"
        sql = f"""
            SELECT filename, trace_id, span_id, start_time, name, model, provider, service, user_id, cost_usd,
                   cost_source, {', '.join(TOKEN_COLUMNS)},
                   CASE WHEN {out} = 0 THEN output_messages END AS output_messages,
                   CASE WHEN {out} = 0 THEN output_value END AS output_value
            FROM {source}
            WHERE kind IN ('llm', 'embedding')
              AND (least({inp}, {out}, {read}, {write}, {reasoning}, {total}, cost_usd) < 0
                   OR coalesce({read}, 0) + coalesce({write}, 0) > {inp}
                   OR ({total} IS NOT NULL AND {inp} IS NOT NULL AND {out} IS NOT NULL
                       AND {total} NOT IN ({inp} + {out}, {inp} + {out} - coalesce({read}, 0) - coalesce({write}, 0),
                                           {inp} + {out} + coalesce({reasoning}, 0)))
                   OR {reasoning} > {out}
                   OR ({out} = 0 AND (output_messages IS NOT NULL OR output_value IS NOT NULL))
                   OR (cost_source = 'reported' AND cost_usd > 0 AND coalesce({inp}, 0) = 0
                       AND coalesce({out}, 0) = 0))
        """
        return self.r.query(sql)


def alert_log(reader: Any, since_us: int | None = None, limit: int = 200) -> pl.DataFrame:
    """ALERTS rows, newest first."""
    tr = TimeRange(since_us, None)
    where = "WHERE time >= make_timestamptz(?)" if since_us is not None else ""
    df = reader.query(f"SELECT * FROM {reader.scan('alerts', tr)} {where} ORDER BY time DESC LIMIT {int(limit)}",
                      [since_us] if since_us is not None else None)
    return df.with_columns(pl.col("time").dt.convert_time_zone("UTC"))
