"""Trigram indexes: never say "absent" for text that matches, and let rare terms skip."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from store.query import StoreReader
from store.query.filters import parse
from store.query.traces import TraceQueries
from store.schema import SPANS
from store.segments import compaction, text_index
from tests.support.stores import T0, hexid, span, write


def _table(texts: list[str]) -> pa.Table:
    rows = [span(hexid(i), hexid("s", i, n=16), None, "x", T0 + timedelta(seconds=i), 1, input_value=t)
            for i, t in enumerate(texts)]
    return pa.Table.from_pylist(rows, schema=SPANS)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="abcXYZ_09 -éß.", min_size=0, max_size=40), min_size=1, max_size=30),
       st.data())
def test_a_substring_of_any_text_is_never_ruled_out(texts: list[str], data: st.DataObject) -> None:
    index = text_index.build(_table(texts), row_group_size=4)
    i = data.draw(st.integers(0, len(texts) - 1))
    t = texts[i]
    a = data.draw(st.integers(0, len(t)))
    b = data.draw(st.integers(a, len(t)))
    groups = text_index.candidate_row_groups(index, text_index.query_trigrams([t[a:b]]))
    assert groups is None or i // 4 in groups


def test_absent_words_skip_row_groups() -> None:
    index = text_index.build(_table(["refund my invoice", "shipping delay", "TimeoutError: upstream"]), 1)
    look = lambda *w: text_index.candidate_row_groups(index, text_index.query_trigrams(list(w)))  # noqa: E731
    assert look("refund") == [0] and look("timeouterror") == [2] and look("zebra") == []
    assert look("in") is None  # nothing of three characters to look up: scan


def test_compacted_segments_are_indexed_and_search_uses_them(tmp_path: Path) -> None:
    store = tmp_path / "store"
    for k in range(16):  # 16 flushes: two levels of merges
        rows = [span(hexid(k, i), hexid("s", k, i, n=16), None, f"chat {k}", T0 + timedelta(minutes=k, seconds=i), 5,
                     kind="llm", input_value=("rare-needle-42 " if (k, i) == (3, 7) else "") + f"common words {i}")
                for i in range(20)]
        w = write(store, rows)
    w = compaction.SegmentWriter(store)
    compaction.full_compaction(w, compaction.CompactionPolicy(fan_in=4))
    assert compaction.seal_old_days(w) == ["trace_parts/2026-01-05", "spans/2026-01-05"]
    spans = [s for s in w.manifest.segments if s.table == "spans"]
    assert any(s.text_index for s in spans)
    assert all((store / (s.path + text_index.SUFFIX)).exists() for s in spans if s.text_index)
    q = TraceQueries(StoreReader(store))
    rows = q.list(parse('"rare-needle-42" since:2026-01-01'), limit=10).rows
    assert rows["trace_id"].to_list() == [hexid(3, 7)]
    assert q.text.row_groups_skipped >= 0 and q.list(parse('"no such thing" since:2026-01-01')).rows.height == 0
    assert q.list(parse('"common words" since:2026-01-01'), limit=500).rows.height == 320
