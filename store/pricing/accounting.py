"""Token-accounting check: spans whose usage numbers cannot all be right.

Runs on SPANS-shaped data, whose conventions are: ``input_tokens`` includes cached
tokens, ``output_tokens`` includes reasoning tokens. A null count means "not
reported" and never trips a check; only numbers that were sent are judged.

Flags (codes are stable; the UI maps them to text):

* ``negative_value``: a token count or the cost is below zero.
* ``cache_exceeds_input``: ``cache_read + cache_write > input`` (cached tokens are
  part of the input, so they cannot outnumber it). The usual cause is an
  Anthropic-style count, which excludes cache tokens, stored without normalizing.
* ``total_mismatch``: ``total`` present and equal to none of
  ``input + output`` (the convention), ``input + output - cache_read - cache_write``
  (totals summed from Anthropic-style uncached input: a convention, not an error,
  so tolerated) or ``input + output + reasoning`` (Gemini's native output count
  leaves thoughts out while its total includes them; tolerated likewise).
* ``reasoning_exceeds_output``: ``reasoning > output`` (output includes reasoning).
* ``output_text_without_tokens``: ``output == 0`` although the span has output text
  or tool calls (``output_messages`` content, ``output_value``).
* ``cost_without_tokens``: a reported cost above zero on a span whose input and
  output counts are both zero or missing.

``check_span(row)`` judges one row (a dict); ``accounting_flags(frame)`` does the
same for a polars frame, vectorized. Tests hold the two to the same answers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import polars as pl

NEGATIVE_VALUE = "negative_value"
CACHE_EXCEEDS_INPUT = "cache_exceeds_input"
TOTAL_MISMATCH = "total_mismatch"
REASONING_EXCEEDS_OUTPUT = "reasoning_exceeds_output"
OUTPUT_TEXT_WITHOUT_TOKENS = "output_text_without_tokens"
COST_WITHOUT_TOKENS = "cost_without_tokens"

FLAG_CODES = (
    NEGATIVE_VALUE,
    CACHE_EXCEEDS_INPUT,
    TOTAL_MISMATCH,
    REASONING_EXCEEDS_OUTPUT,
    OUTPUT_TEXT_WITHOUT_TOKENS,
    COST_WITHOUT_TOKENS,
)

TOKEN_COLUMNS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "total_tokens",
)

# A normalized message with non-empty content or at least one tool call. The same
# patterns run in Python's re and polars' Rust regex, so keep them in the common subset.
_OUTPUT_TEXT_PATTERNS = (r'"content"\s*:\s*"[^"]', r'"tool_calls"\s*:\s*\[\s*\{')
_OUTPUT_TEXT_RE = re.compile("|".join(_OUTPUT_TEXT_PATTERNS))


def _has_output_text(output_messages: str | None, output_value: str | None) -> bool:
    if output_value and output_value.strip():
        return True
    return bool(output_messages) and _OUTPUT_TEXT_RE.search(output_messages) is not None


def check_span(row: Mapping[str, Any]) -> list[str]:
    """The flag codes for one SPANS-shaped row (missing keys count as null)."""
    inp, out, read, write, reasoning, total = (row.get(name) for name in TOKEN_COLUMNS)
    cost = row.get("cost_usd")
    flags: list[str] = []
    if any(v is not None and v < 0 for v in (inp, out, read, write, reasoning, total, cost)):
        flags.append(NEGATIVE_VALUE)
    cached = (read or 0) + (write or 0)
    if inp is not None and cached > 0 and cached > inp:
        flags.append(CACHE_EXCEEDS_INPUT)
    if total is not None and inp is not None and out is not None:
        if total not in (inp + out, inp + out - cached, inp + out + (reasoning or 0)):
            flags.append(TOTAL_MISMATCH)
    if reasoning is not None and out is not None and reasoning > out:
        flags.append(REASONING_EXCEEDS_OUTPUT)
    if out == 0 and _has_output_text(row.get("output_messages"), row.get("output_value")):
        flags.append(OUTPUT_TEXT_WITHOUT_TOKENS)
    if row.get("cost_source") == "reported" and cost is not None and cost > 0 and not (inp or 0) and not (out or 0):
        flags.append(COST_WITHOUT_TOKENS)
    return flags


def accounting_flags_expr(schema: Mapping[str, Any]) -> pl.Expr:
    """A ``list[str]`` expression of flag codes; columns absent from ``schema`` count as null."""

    def col(name: str, dtype: pl.DataType) -> pl.Expr:
        return pl.col(name) if name in schema else pl.lit(None, dtype)

    inp, out, read, write, reasoning, total = (col(name, pl.Int64) for name in TOKEN_COLUMNS)
    cost = col("cost_usd", pl.Float64)
    cached = read.fill_null(0) + write.fill_null(0)
    output_text = (col("output_value", pl.String).str.strip_chars().str.len_chars() > 0).fill_null(False) | col(
        "output_messages", pl.String
    ).str.contains("|".join(_OUTPUT_TEXT_PATTERNS)).fill_null(False)
    negative = pl.any_horizontal([(c < 0).fill_null(False) for c in (inp, out, read, write, reasoning, total, cost)])
    total_ok = (total == inp + out) | (total == inp + out - cached) | (total == inp + out + reasoning.fill_null(0))
    tokenless = (inp.fill_null(0) == 0) & (out.fill_null(0) == 0)
    checks = {
        NEGATIVE_VALUE: negative,
        CACHE_EXCEEDS_INPUT: (cached > 0) & (cached > inp),
        TOTAL_MISMATCH: ~total_ok,
        REASONING_EXCEEDS_OUTPUT: reasoning > out,
        OUTPUT_TEXT_WITHOUT_TOKENS: (out == 0) & output_text,
        COST_WITHOUT_TOKENS: (col("cost_source", pl.String) == "reported") & (cost > 0) & tokenless,
    }
    flags = [pl.when(condition.fill_null(False)).then(pl.lit(code)) for code, condition in checks.items()]
    return pl.concat_list(flags).list.drop_nulls().alias("accounting_flags")


def accounting_flags(frame: pl.DataFrame | pl.LazyFrame) -> pl.Series | pl.LazyFrame:
    """The ``accounting_flags`` column for a frame of spans (a Series; for a LazyFrame,
    a LazyFrame of that one column)."""
    if isinstance(frame, pl.LazyFrame):
        return frame.select(accounting_flags_expr(frame.collect_schema()))
    return frame.select(accounting_flags_expr(frame.schema)).to_series()
