"""The traces filter language.

    model:gpt-4o* status:error user:alice cost>0.01 latency>2s tag:prod since:1h "free text"

* ``key:value`` with ``*`` wildcards; ``-key:value`` negates. Keys: model, status (ok, error),
  user, session, service, tag, name, prompt, trace, is (runaway, error, unpriced, demo).
* ``cost``, ``latency``, ``tokens``, ``spans``, ``llm_calls`` with ``> >= < <= =``; latency
  takes ``ms``, ``s`` or ``m`` (default ms), cost is in USD.
* ``since:`` / ``until:`` take a duration back from now (``30s 15m 1h 7d 2w``) or a date
  (``2026-11-20``, ``2026-11-20T10:00``).
* Anything else is free text, matched case-insensitively against span names, inputs,
  outputs and error messages; quote it to keep spaces. Free text searches the last
  24 hours unless since:/until: say otherwise (since:30d searches a month).
"""

from __future__ import annotations

import re
import shlex
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from store.query.reader import TimeRange

KEYS = {"model", "status", "user", "session", "service", "tag", "name", "prompt", "trace", "is"}
NUMERIC = {"cost": "cost_usd", "latency": "latency_ms", "tokens": "total_tokens", "spans": "span_count",
           "llm_calls": "llm_calls"}
IS_VALUES = ("runaway", "error", "unpriced", "demo")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
TEXT_DEFAULT_WINDOW_S = 86400
_CMP = re.compile(r"^(-?)([a-z_]+)(>=|<=|>|<|=)(.+)$")


class FilterError(ValueError):
    """A query the user typed that cannot be understood; the message says how to fix it."""


@dataclass(frozen=True)
class Term:
    key: str
    value: str
    negate: bool = False


@dataclass(frozen=True)
class Comparison:
    column: str
    op: str
    value: float


@dataclass
class TraceFilter:
    terms: list[Term] = field(default_factory=list)
    comparisons: list[Comparison] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    since_us: int | None = None
    until_us: int | None = None
    text_window_defaulted: bool = False  # free text without since:, so the last 24 h

    @property
    def time_range(self) -> TimeRange:
        return TimeRange(self.since_us, self.until_us)

    def is_empty(self) -> bool:
        return not (self.terms or self.comparisons or self.text or self.since_us or self.until_us)


def _parse_duration(v: str) -> float | None:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([smhdw])", v.strip().lower())
    return float(m.group(1)) * _UNITS[m.group(2)] if m else None


def parse_when(v: str, now: float) -> int:
    """A duration back from now (``1h``, ``7d``) or a date/time, as unix microseconds."""
    secs = _parse_duration(v)
    if secs is not None:
        return int((now - secs) * 1e6)
    try:
        dt = datetime.fromisoformat(v)
    except ValueError:
        raise FilterError(f"since/until takes a duration like 1h or 7d, or a date like 2026-11-20; got {v!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return int(dt.timestamp() * 1e6)


def _parse_number(key: str, v: str) -> float:
    raw = v.strip().lower()
    scale = 1.0
    if key == "latency":
        for unit, mult in (("ms", 1.0), ("s", 1000.0), ("m", 60000.0)):
            if raw.endswith(unit):
                raw, scale = raw[: -len(unit)], mult
                break
    elif key == "cost":
        raw = raw.lstrip("$")
    elif raw.endswith("k"):
        raw, scale = raw[:-1], 1000.0
    try:
        return float(raw) * scale
    except ValueError:
        hint = " (e.g. latency>2s)" if key == "latency" else " (e.g. cost>0.01)" if key == "cost" else ""
        raise FilterError(f"{key} needs a number{hint}; got {v!r}") from None


def parse(query: str, now: float | None = None) -> TraceFilter:
    now = time.time() if now is None else now
    f = TraceFilter()
    try:
        tokens = shlex.split(query or "")
    except ValueError as e:
        raise FilterError(f"unbalanced quotes: {e}") from None
    for tok in tokens:
        dangling = re.fullmatch(r"([a-z_]+)(>=|<=|>|<|=)", tok)
        if dangling and dangling.group(1) in NUMERIC:
            raise FilterError(f"{tok} needs a number after it, e.g. {dangling.group(1)}{dangling.group(2)}"
                              f"{'2s' if dangling.group(1) == 'latency' else '0.01' if dangling.group(1) == 'cost' else '10'}")
        m = _CMP.match(tok)
        if m and m.group(2) in NUMERIC and not m.group(1):
            key, op, val = m.group(2), m.group(3), m.group(4)
            f.comparisons.append(Comparison(NUMERIC[key], op, _parse_number(key, val)))
            continue
        if ":" in tok and not tok.startswith(("http:", "https:")):
            key, _, val = tok.partition(":")
            negate = key.startswith("-")
            key = key.lstrip("-").lower()
            if key in ("since", "until"):
                if not val:
                    raise FilterError(f"{key}: needs a value, e.g. {key}:1h")
                us = parse_when(val, now)
                if key == "since":
                    f.since_us = us
                else:
                    f.until_us = us
                continue
            if key in KEYS:
                if not val:
                    raise FilterError(f"{key}: needs a value, e.g. {key}:{'error' if key == 'status' else 'x*'}")
                if key == "status" and val.lower() not in ("ok", "error", "unset"):
                    raise FilterError("status: is ok, error or unset")
                if key == "is" and val.lower() not in IS_VALUES:
                    raise FilterError(f"is: takes {', '.join(IS_VALUES)}")
                f.terms.append(Term(key, val, negate))
                continue
            if re.fullmatch(r"-?[a-z_]+", key):
                known = ", ".join(sorted(KEYS | {"since", "until"}))
                raise FilterError(f"unknown filter {key + ':'!r}; known: {known}; or cost>, latency>, tokens>")
        if m and m.group(2) not in NUMERIC and re.fullmatch(r"[a-z_]+", m.group(2)):
            raise FilterError(f"cannot compare {m.group(2)!r}; comparable: {', '.join(NUMERIC)}")
        f.text.append(tok)
    if f.since_us and f.until_us and f.since_us >= f.until_us:
        raise FilterError("since: must be before until:")
    if f.text and f.since_us is None and f.until_us is None:
        f.since_us = int((now - TEXT_DEFAULT_WINDOW_S) * 1e6)
        f.text_window_defaulted = True
    return f


def _like_literal(text: str) -> str:
    """Text matched literally by LIKE: its own wildcards escaped."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def like_pattern(glob: str) -> str:
    """``gpt-4o*`` -> ``gpt-4o%`` for ILIKE."""
    return _like_literal(glob).replace("*", "%").replace("?", "_")


# The per-trace measures as aggregates over trace parts (one trace may have several).
AGG = {
    "span_count": "sum(span_count)",
    "llm_calls": "sum(llm_calls)",
    "total_tokens": "sum(total_tokens)",
    "cost_usd": "sum(cost_usd)",
    "latency_ms": "(epoch_us(max(end_time)) - epoch_us(min(start_time))) / 1000.0",
    "error_count": "sum(error_count)",
    "unpriced_llm_calls": "sum(unpriced_llm_calls)",
    "repeated_tool_calls": ("(len(flatten(list(tool_signatures))) "
                            "- len(list_distinct(flatten(list(tool_signatures)))))"),
}
_LIST_TERMS = {"model": "models", "tag": "tags", "prompt": "prompt_ids", "service": "services"}
_TEXT_TERMS = {"user": "user_id", "session": "session_id", "name": "root_name", "trace": "trace_id"}


def runaway_sql(runaway_llm_calls: int, repeats: int = 3) -> str:
    return f"({AGG['llm_calls']} > {int(runaway_llm_calls)} OR {AGG['repeated_tool_calls']} >= {int(repeats)})"


def trace_predicates(f: TraceFilter, runaway_llm_calls: int) -> tuple[list[str], list[Any]]:
    """HAVING conditions over trace parts grouped by trace: every term is an aggregate,
    so a trace matches on all of its parts together."""
    sql: list[str] = []
    params: list[Any] = []
    for t in f.terms:
        pat = like_pattern(t.value)
        if t.key in _LIST_TERMS:
            clause = f"bool_or(len(list_filter({_LIST_TERMS[t.key]}, lambda x: x ILIKE ? ESCAPE '\\')) > 0)"
        elif t.key == "status":
            v = t.value.lower()
            clause = f"{AGG['error_count']} > 0" if v == "error" else f"{AGG['error_count']} = 0"
            sql.append(f"NOT ({clause})" if t.negate else clause)
            continue
        elif t.key == "is":
            v = t.value.lower()
            clause = {"runaway": runaway_sql(runaway_llm_calls),
                      "error": f"{AGG['error_count']} > 0", "unpriced": f"{AGG['unpriced_llm_calls']} > 0",
                      "demo": "bool_or(list_contains(tags, 'demo'))"}[v]
            sql.append(f"NOT ({clause})" if t.negate else clause)
            continue
        else:
            clause = f"bool_or(coalesce({_TEXT_TERMS[t.key]}, '') ILIKE ? ESCAPE '\\')"
        sql.append(f"NOT ({clause})" if t.negate else clause)
        params.append(pat)
    for c in f.comparisons:
        sql.append(f"coalesce({AGG[c.column]}, 0) {c.op} ?")
        params.append(c.value)
    return sql, params


TEXT_COLUMNS = ("name", "input_messages", "output_messages", "input_value", "output_value", "status_message")


def text_predicate(words: list[str]) -> tuple[str, list[Any]]:
    """Every word must appear in one of the text columns of a span (ILIKE: about twice
    as fast as lower() + contains() here, as it needs no lowered copy)."""
    clauses, params = [], []
    for w in words:
        pat = "%" + _like_literal(w) + "%"
        ors = " OR ".join(f"{c} ILIKE ? ESCAPE '\\'" for c in TEXT_COLUMNS)
        clauses.append(f"({ors})")
        params.extend([pat] * len(TEXT_COLUMNS))
    return " AND ".join(clauses), params

