"""Token-accounting flags, per row and vectorized, giving the same answers."""

from __future__ import annotations

import json

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from store.pricing.accounting import TOKEN_COLUMNS, accounting_flags, check_span

TEXT = json.dumps([{"role": "assistant", "content": "Hello"}])
TOOL_CALL = json.dumps([{"role": "assistant", "content": None, "tool_calls": [{"id": "1", "name": "f", "arguments": "{}"}]}])
EMPTY = json.dumps([{"role": "assistant", "content": ""}])

CASES = [
    ({"input_tokens": 100, "output_tokens": 20, "total_tokens": 120, "output_messages": TEXT}, []),
    ({}, []),  # nothing reported: nothing to judge
    ({"input_tokens": 100, "cache_read_tokens": 80, "cache_write_tokens": 30}, ["cache_exceeds_input"]),
    ({"input_tokens": 100, "output_tokens": 20, "total_tokens": 121}, ["total_mismatch"]),
    # tolerated: total summed from uncached input, and Gemini-native output without thoughts
    ({"input_tokens": 100, "output_tokens": 20, "cache_read_tokens": 60, "total_tokens": 60}, []),
    ({"input_tokens": 100, "output_tokens": 20, "reasoning_tokens": 50, "total_tokens": 170}, ["reasoning_exceeds_output"]),
    ({"input_tokens": 10, "output_tokens": 20, "reasoning_tokens": 21}, ["reasoning_exceeds_output"]),
    ({"input_tokens": 10, "output_tokens": 0, "output_messages": TEXT}, ["output_text_without_tokens"]),
    ({"input_tokens": 10, "output_tokens": 0, "output_messages": TOOL_CALL}, ["output_text_without_tokens"]),
    ({"input_tokens": 10, "output_tokens": 0, "output_value": "done"}, ["output_text_without_tokens"]),
    ({"input_tokens": 10, "output_tokens": 0, "output_messages": EMPTY, "output_value": "  "}, []),
    ({"input_tokens": 10, "output_tokens": None, "output_messages": TEXT}, []),  # not reported is not zero
    ({"input_tokens": -1, "output_tokens": 5}, ["negative_value"]),
    ({"input_tokens": 1, "output_tokens": 1, "cost_usd": -0.5, "cost_source": "reported"}, ["negative_value"]),
    ({"input_tokens": 0, "output_tokens": 0, "cost_usd": 0.02, "cost_source": "reported"}, ["cost_without_tokens"]),
    ({"cost_usd": 0.02, "cost_source": "reported"}, ["cost_without_tokens"]),
    ({"cost_usd": 0.02, "cost_source": "gpu_time", "input_tokens": 0, "output_tokens": 0}, []),  # even split, fine
    (
        {"input_tokens": 5, "output_tokens": 0, "cache_read_tokens": 9, "total_tokens": 7, "output_value": "x"},
        ["cache_exceeds_input", "total_mismatch", "output_text_without_tokens"],
    ),
]

SCHEMA = {
    **{name: pl.Int64 for name in TOKEN_COLUMNS},
    "cost_usd": pl.Float64,
    "cost_source": pl.String,
    "output_messages": pl.String,
    "output_value": pl.String,
}


def frame_of(rows):
    return pl.DataFrame([{name: row.get(name) for name in SCHEMA} for row in rows], schema=SCHEMA)


@pytest.mark.parametrize(("row", "expected"), CASES)
def test_check_span(row, expected):
    assert check_span(row) == expected


def test_vectorized_flags_match_the_row_check():
    flags = accounting_flags(frame_of([row for row, _ in CASES]))
    assert flags.to_list() == [expected for _, expected in CASES]


def test_missing_columns_count_as_null_and_lazy_frames_work():
    frame = pl.DataFrame({"input_tokens": [5, 5], "cache_read_tokens": [9, 1]})
    assert accounting_flags(frame).to_list() == [["cache_exceeds_input"], []]
    lazy = accounting_flags(frame.lazy()).collect()
    assert lazy.get_column("accounting_flags").to_list() == [["cache_exceeds_input"], []]


counts = st.one_of(st.none(), st.integers(min_value=-3, max_value=40))


@settings(max_examples=200, deadline=None)
@given(
    st.fixed_dictionaries({name: counts for name in TOKEN_COLUMNS}),
    st.sampled_from([None, 0.0, 0.5, -1.0]),
    st.sampled_from([None, "reported", "computed"]),
    st.sampled_from([None, TEXT, EMPTY, TOOL_CALL]),
)
def test_row_and_vectorized_agree_on_any_counts(tokens, cost, source, messages):
    row = {**tokens, "cost_usd": cost, "cost_source": source, "output_messages": messages}
    assert accounting_flags(frame_of([row])).to_list() == [check_span(row)]
