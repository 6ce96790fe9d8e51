"""A trace whose spans arrive on both sides of UTC midnight is listed once, whole."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from store.query import StoreReader
from store.query.filters import parse
from store.query.traces import TraceQueries
from tests.support.stores import agent_trace, hexid, span, write

MIDNIGHT = datetime(2026, 3, 2, tzinfo=timezone.utc)


def test_trace_across_midnight_is_whole_and_listed_once(tmp_path: Path) -> None:
    store = tmp_path / "store"
    tid, root = hexid("loop"), hexid("loop-root", n=16)
    before = [span(tid, hexid("c", i, n=16), root, "chat gpt-4o", MIDNIGHT - timedelta(minutes=60 - i), 500,
                   kind="llm", model="gpt-4o", cost_usd=0.01, cost_source="computed") for i in range(15)]
    after = [span(tid, hexid("d", i, n=16), root, "chat gpt-4o", MIDNIGHT + timedelta(minutes=i + 1), 500,
                  kind="llm", model="gpt-4o", cost_usd=0.01, cost_source="computed") for i in range(15)]
    root_span = span(tid, root, None, "invoke_agent nightly", MIDNIGHT - timedelta(minutes=61), 7_500_000,
                     kind="agent")
    write(store, before)  # an earlier flush, before midnight
    write(store, after + [root_span])  # the root ends last, after midnight
    write(store, agent_trace(1, MIDNIGHT + timedelta(hours=2)) + agent_trace(2, MIDNIGHT - timedelta(hours=3)))
    q = TraceQueries(StoreReader(store))
    rows = q.list(limit=10).rows
    assert rows["trace_id"].to_list().count(tid) == 1
    row = rows.filter(rows["trace_id"] == tid).row(0, named=True)
    assert row["llm_calls"] == 30 and row["root_name"] == "invoke_agent nightly" and row["runaway"]
    assert row["start_time"] == MIDNIGHT - timedelta(minutes=61)
    assert rows.height == 3
    # paging one trace at a time never repeats or skips it
    seen, cursor = [], None
    while True:
        page = q.list(limit=1, cursor=cursor)
        seen += page.rows["trace_id"].to_list()
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == rows["trace_id"].to_list()
    assert q.list(parse("is:runaway"), limit=10).rows["trace_id"].to_list() == [tid]
