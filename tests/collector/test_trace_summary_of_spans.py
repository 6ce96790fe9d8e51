"""Opening a trace from the list derives its summary from the spans it reads: the row
must be the one the store's trace parts give, field for field."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from store.query import StoreReader
from store.query.traces import TraceQueries
from tests.support.stores import hexid, small_store, span, write


def _us(v: datetime) -> int:
    return int(v.timestamp() * 1_000_000)


def test_summary_of_spans_equals_the_stored_summary(tmp_path: Path) -> None:
    store = small_store(tmp_path / "store")  # errors, tags, a runaway loop, repeated tool calls
    # and a trace flushed in two parts across midnight, with an unpriced call
    midnight = datetime(2026, 3, 2, tzinfo=timezone.utc)
    tid, root = hexid("split"), hexid("split-root", n=16)
    write(store, [span(tid, hexid("a", n=16), root, "chat", midnight - timedelta(minutes=5), 400, kind="llm",
                       model="gpt-4o", cost_usd=0.02, cost_source="computed", input_tokens=10, output_tokens=5)])
    write(store, [span(tid, hexid("b", n=16), root, "chat", midnight + timedelta(minutes=1), 400, kind="llm",
                       model="mystery", cost_source="unknown", input_tokens=7, output_tokens=3),
                  span(tid, root, None, "invoke_agent split", midnight - timedelta(minutes=6), 480_000,
                       kind="agent")])
    q = TraceQueries(StoreReader(store))
    rows = q.list(limit=100).rows
    assert tid in rows["trace_id"].to_list()
    for row in rows.iter_rows(named=True):
        start, end = _us(row["start_time"]), _us(row["end_time"])
        stored = q.summary(row["trace_id"], start)
        derived = q.summary_of(q.spans(row["trace_id"], start, end))
        assert stored is not None and derived is not None
        assert derived.keys() == stored.keys()
        for key, value in stored.items():
            if isinstance(value, float):
                assert abs(derived[key] - value) < 1e-12, (row["trace_id"], key)
            else:
                assert derived[key] == value, (row["trace_id"], key)
    assert q.summary_of(q.spans("0" * 32, 0, 1)) is None
