"""A reader process for test_ingest_concurrency (spawned, so importable on its own):
queries the store in a loop, as a console would, while the collector writes and compacts."""

from __future__ import annotations

import time
import traceback
from typing import Any


def snapshot_counts(reader: Any) -> dict[str, Any]:
    """Spans and trace parts of ONE manifest snapshot: they must agree exactly."""
    m = reader.manifest()
    spans = reader.scan("spans", files=reader.files("spans", manifest=m))
    parts = reader.scan("trace_parts", files=reader.files("trace_parts", manifest=m))
    a = reader.query(f"SELECT count(*) AS n, count(DISTINCT span_id) AS distinct_ids, "
                     f"coalesce(sum(cost_usd), 0) AS cost FROM {spans}").row(0, named=True)
    b = reader.query(f"SELECT coalesce(sum(span_count), 0) AS n, coalesce(sum(cost_usd), 0) AS cost "
                     f"FROM {parts}").row(0, named=True)
    return {"spans": a["n"], "distinct": a["distinct_ids"], "span_cost": a["cost"], "parts_spans": b["n"],
            "parts_cost": b["cost"], "generation": m.generation}


def run(store: str, stop: Any, out: Any) -> None:
    from store.query import StoreReader
    from store.query.traces import TraceQueries

    try:
        reader = StoreReader(store, threads=1)
        queries = TraceQueries(reader)
        out.put(("ready", None))
        iterations, last = 0, 0
        while not stop.is_set():
            c = snapshot_counts(reader)
            problems = []
            if c["spans"] != c["distinct"]:
                problems.append("a span counted twice")
            if c["spans"] != c["parts_spans"]:
                problems.append("trace parts disagree with spans")
            if abs(c["span_cost"] - c["parts_cost"]) > 1e-9:
                problems.append("trace cost disagrees with span cost")
            if c["spans"] < last:
                problems.append(f"spans went from {last} to {c['spans']}")
            if problems:
                out.put(("error", f"{problems} in {c}"))
                return
            last = c["spans"]
            page = queries.list(limit=20)
            if page.rows.height:
                queries.spans(page.rows["trace_id"][0])
            iterations += 1
            time.sleep(0.01)
        out.put(("done", (iterations, last)))
    except Exception:
        out.put(("error", traceback.format_exc()))
