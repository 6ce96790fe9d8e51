"""Prompts in traces: what each prompt version served, linked by ``prompt.id`` or by fingerprint.

- :func:`linked_stats`: spans that carry ``prompt.id`` (and ``prompt.version``),
  grouped by version: traces served, LLM calls, cost, mean latency, error rate.
- :func:`unlinked_llm_spans` + :func:`fingerprint_stats`: recent LLM spans without
  ``prompt.id``, attributed to a prompt version by :class:`store.prompts.PromptMatcher`
  (CPU work: call it from a worker), with the same figures.
- :func:`trace_versions`: versions of one prompt seen in spans, with a rendered example
  each (for diffs against versions that exist only in traces).
- :func:`first_llm_spans`: one LLM span per trace, for batch replays over a filter.

Replays recorded by the console (service ``llmops-console-replay``) are left out of
the first four: a replay tests a prompt, it is not traffic the prompt served.

Frames come back with the columns of :data:`STATS_COLUMNS`; a version not recorded on
spans is ``""``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import polars as pl

from store.prompts.history import TraceVersion
from store.query.reader import ALL_TIME, StoreReader, TimeRange

STATS_COLUMNS = ("prompt_id", "prompt_version", "traces", "calls", "cost_usd", "unpriced", "mean_latency_ms",
                 "error_rate", "last_seen")
FINGERPRINT_SPANS = 1000  # recent unlinked LLM spans the matcher looks at
# Replays are recorded as traces of this service (console.replay.recording.SERVICE_NAME): they
# are tests of a prompt, not traffic it served, so these queries leave them out.
REPLAY_SERVICE = "llmops-console-replay"
_NOT_REPLAY = f"service IS DISTINCT FROM '{REPLAY_SERVICE}'"

# One aggregate for both linkings: LLM calls are the figures; a version tagged only on
# non-LLM spans (the app annotated its own span) still counts the traces it served.
_STATS_SQL = """
    prompt_id,
    coalesce(prompt_version, '') AS prompt_version,
    count(DISTINCT trace_id)::BIGINT AS traces,
    count(*) FILTER (WHERE kind = 'llm')::BIGINT AS calls,
    sum(cost_usd) AS cost_usd,
    count(*) FILTER (WHERE kind = 'llm' AND cost_usd IS NULL)::BIGINT AS unpriced,
    coalesce(avg(duration_ms) FILTER (WHERE kind = 'llm'), avg(duration_ms)) AS mean_latency_ms,
    coalesce(avg(CASE WHEN status = 'error' THEN 1.0 ELSE 0.0 END) FILTER (WHERE kind = 'llm'),
             avg(CASE WHEN status = 'error' THEN 1.0 ELSE 0.0 END)) AS error_rate,
    max(start_time) AS last_seen
"""


def linked_stats(reader: StoreReader, tr: TimeRange = ALL_TIME) -> pl.DataFrame:
    """Per (prompt_id, prompt_version) over spans carrying ``prompt.id``."""
    sql = (f"SELECT {_STATS_SQL} FROM {reader.scan('spans', tr)} WHERE prompt_id IS NOT NULL AND {_NOT_REPLAY} "
           f"GROUP BY prompt_id, coalesce(prompt_version, '') ORDER BY prompt_id, last_seen DESC")
    return reader.query(sql).select(STATS_COLUMNS)


def unlinked_llm_spans(reader: StoreReader, limit: int = FINGERPRINT_SPANS, tr: TimeRange = ALL_TIME) -> pl.DataFrame:
    """The newest LLM spans without ``prompt.id``, with their input messages.

    Two steps so that the big message column is read for ``limit`` rows only."""
    source = reader.scan("spans", tr)
    newest = reader.query(
        f"SELECT span_id, start_time FROM {source} WHERE prompt_id IS NULL AND kind = 'llm' AND {_NOT_REPLAY} "
        f"AND input_messages IS NOT NULL ORDER BY start_time DESC LIMIT {int(limit)}")
    if not newest.height:
        return reader.query(f"SELECT trace_id, span_id, kind, start_time, duration_ms, status, cost_usd, "
                            f"input_messages FROM {source} LIMIT 0")
    return reader.query(
        f"SELECT trace_id, span_id, kind, start_time, duration_ms, status, cost_usd, input_messages "
        f"FROM {source} WHERE span_id IN (SELECT unnest(?)) AND prompt_id IS NULL AND kind = 'llm' "
        f"ORDER BY start_time DESC", [newest["span_id"].to_list()])


def _messages(raw: Any) -> list[dict[str, Any]]:
    if not raw:
        return []
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return []
    return [m for m in value if isinstance(m, dict)] if isinstance(value, list) else []


def attribute(spans: pl.DataFrame, matcher: Any) -> pl.DataFrame:
    """The spans the matcher recognises, with the prompt_id and prompt_version it found."""
    ids: list[str | None] = []
    versions: list[str | None] = []
    for raw in spans["input_messages"].to_list() if spans.height else []:
        found = matcher.match(_messages(raw))
        ids.append(found.prompt_id if found else None)
        versions.append((found.version or "") if found else None)
    return (spans.with_columns(pl.Series("prompt_id", ids, dtype=pl.String),
                               pl.Series("prompt_version", versions, dtype=pl.String))
            .filter(pl.col("prompt_id").is_not_null()))


def fingerprint_stats(spans: pl.DataFrame, matcher: Any) -> pl.DataFrame:
    """:func:`linked_stats`'s figures for spans attributed by fingerprint."""
    found = attribute(spans, matcher)
    if not found.height:
        return empty_stats()
    is_llm = pl.col("kind") == "llm"
    err = (pl.col("status") == "error").cast(pl.Float64)
    return (found.group_by("prompt_id", "prompt_version")
            .agg(pl.col("trace_id").n_unique().cast(pl.Int64).alias("traces"),
                 is_llm.sum().cast(pl.Int64).alias("calls"),
                 pl.col("cost_usd").sum().alias("cost_usd"),
                 (is_llm & pl.col("cost_usd").is_null()).sum().cast(pl.Int64).alias("unpriced"),
                 pl.col("duration_ms").mean().alias("mean_latency_ms"),
                 err.mean().alias("error_rate"),
                 pl.col("start_time").max().alias("last_seen"))
            .sort("prompt_id", "last_seen", descending=[False, True])
            .select(STATS_COLUMNS))


def empty_stats() -> pl.DataFrame:
    return pl.DataFrame(schema={"prompt_id": pl.String, "prompt_version": pl.String, "traces": pl.Int64,
                                "calls": pl.Int64, "cost_usd": pl.Float64, "unpriced": pl.Int64,
                                "mean_latency_ms": pl.Float64, "error_rate": pl.Float64,
                                "last_seen": pl.Datetime("us", "UTC")})


def messages_text(messages: Sequence[dict[str, Any]]) -> str:
    """A span's input messages as one readable text (role headers, contents)."""
    parts = []
    for m in messages:
        content = m.get("content")
        if isinstance(content, list):
            content = "".join(str(p.get("text") or "") for p in content if isinstance(p, dict))
        parts.append(f"[{m.get('role') or '?'}]\n{content or ''}".rstrip())
    return "\n\n".join(parts) + "\n"


def trace_versions(reader: StoreReader, prompt_id: str, tr: TimeRange = ALL_TIME) -> list[TraceVersion]:
    """Versions of ``prompt_id`` seen on spans, newest first, each with one rendered example."""
    df = reader.query(
        f"SELECT prompt_version, count(DISTINCT trace_id)::BIGINT AS traces, "
        f"arg_max(input_messages, start_time) AS example, max(start_time) AS last_seen "
        f"FROM {reader.scan('spans', tr)} WHERE prompt_id = ? AND prompt_version IS NOT NULL AND {_NOT_REPLAY} "
        f"AND prompt_version <> '' GROUP BY prompt_version ORDER BY last_seen DESC", [prompt_id])
    out = []
    for row in df.iter_rows(named=True):
        example = _messages(row["example"])
        out.append(TraceVersion(row["prompt_version"], (messages_text(example),) if example else (), row["traces"]))
    return out


def prompt_spans(reader: StoreReader, prompt_id: str, version: str | None = None, limit: int = 50,
                 tr: TimeRange = ALL_TIME) -> pl.DataFrame:
    """The newest LLM spans made with a prompt (optionally one version)."""
    where, params = ["prompt_id = ?", "kind = 'llm'", _NOT_REPLAY], [prompt_id]
    if version is not None:
        where.append("coalesce(prompt_version, '') = ?")
        params.append(version)
    return reader.query(
        f"SELECT trace_id, span_id, start_time, model, prompt_version, status, cost_usd, duration_ms "
        f"FROM {reader.scan('spans', tr)} WHERE {' AND '.join(where)} ORDER BY start_time DESC LIMIT {int(limit)}",
        params)


def first_llm_spans(reader: StoreReader, trace_ids: Sequence[str], tr: TimeRange = ALL_TIME,
                    prompt_id: str | None = None) -> list[dict[str, Any]]:
    """One LLM span row per trace, in the order of ``trace_ids`` (traces without one are
    left out): the first made with ``prompt_id`` when given, else the trace's first."""
    if not trace_ids:
        return []
    df = reader.query(
        f"SELECT * FROM {reader.scan('spans', tr)} WHERE trace_id IN (SELECT unnest(?)) AND kind = 'llm' "
        f"ORDER BY trace_id, start_time, span_id", [list(trace_ids)])
    by_trace: dict[str, dict[str, Any]] = {}
    for row in df.iter_rows(named=True):
        current = by_trace.get(row["trace_id"])
        if current is None or (prompt_id and row.get("prompt_id") == prompt_id and current.get("prompt_id") != prompt_id):
            by_trace[row["trace_id"]] = row
    return [by_trace[t] for t in trace_ids if t in by_trace]
