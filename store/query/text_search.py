"""Free-text search over span text, using the segments' trigram indexes.

Indexed segments read only the row groups their index says may match; others are
scanned. Either way the match itself is DuckDB's ILIKE, so an index can only save
reading, never change an answer.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
import pyarrow.parquet as pq

from store.query.filters import TEXT_COLUMNS, text_predicate
from store.query.reader import StoreReader, TimeRange, time_bounds
from store.segments import text_index
from store.segments.manifest import Segment

_INDEX_CACHE_MAX = 256


class TextSearch:
    def __init__(self, reader: StoreReader):
        self.r = reader
        self._indexes: OrderedDict[str, bytes] = OrderedDict()
        self.row_groups_read = 0
        self.row_groups_skipped = 0

    def _index(self, path: Path) -> bytes | None:
        key = str(path)
        data = self._indexes.get(key)
        if data is None:
            try:
                data = (path.parent / (path.name + text_index.SUFFIX)).read_bytes()
            except OSError:
                return None
            self._indexes[key] = data
            if len(self._indexes) > _INDEX_CACHE_MAX:
                self._indexes.popitem(last=False)
        return data

    def trace_ids(self, segments: list[Segment], words: list[str], since_us: int | None,
                  until_us: int | None) -> list[str]:
        """Traces with a span in these segments whose text contains every word."""
        pred, params = text_predicate(words)
        bounds, bound_params = time_bounds("start_time", since_us, until_us)
        where = [pred, *bounds]
        params += bound_params
        trigrams = text_index.query_trigrams(words)
        scan: list[str] = []
        found: set[str] = set()
        cur = self.r.cursor()
        for seg in segments:
            path = self.r.root / seg.path
            index = self._index(path) if seg.text_index else None
            groups = text_index.candidate_row_groups(index, trigrams) if index is not None else None
            if groups is None:
                scan.append(str(path))
                continue
            with pq.ParquetFile(path) as pf:
                groups = [g for g in groups if _overlaps(pf, g, since_us, until_us)]
                self.row_groups_skipped += pf.metadata.num_row_groups - len(groups)
                self.row_groups_read += len(groups)
                if not groups:
                    continue
                table = pf.read_row_groups(groups, columns=["trace_id", "start_time", *TEXT_COLUMNS])
            cur.register("_text_rows", table)
            try:
                rows = cur.execute(f"SELECT DISTINCT trace_id FROM _text_rows WHERE {' AND '.join(where)}",
                                   params).fetchall()
            finally:
                cur.unregister("_text_rows")
            found.update(r[0] for r in rows)
        if scan:
            df = self.r.query(f"SELECT DISTINCT trace_id FROM {self.r.scan('spans', files=scan)} "
                              f"WHERE {' AND '.join(where)}", params)
            found.update(df["trace_id"].to_list())
        return sorted(found)


def _overlaps(pf: pq.ParquetFile, group: int, since_us: int | None, until_us: int | None) -> bool:
    """Whether a row group's start times (its statistics) reach into the window."""
    meta = pf.metadata.row_group(group)
    for i in range(meta.num_columns):
        col = meta.column(i)
        if col.path_in_schema == "start_time" and col.statistics is not None and col.statistics.has_min_max:
            lo, hi = col.statistics.min, col.statistics.max
            return TimeRange(since_us, until_us).overlaps(int(lo.timestamp() * 1e6), int(hi.timestamp() * 1e6))
    return True
