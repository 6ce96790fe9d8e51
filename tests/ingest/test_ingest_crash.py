"""Acknowledged means durable: a collector subprocess under load from concurrent
senders is killed with SIGKILL at random moments and restarted on the same store.
Every span that got a 2xx must be in the store exactly once; no span twice."""

from __future__ import annotations

import os
import random
import threading
import time

import httpx
from ingest_support import pb_request

from store.query import StoreReader
from store.segments import manifest as mf
from tests.support.collector import start_subprocess

SENDERS = 4
SPANS_PER_REQUEST = 20


def _request() -> tuple[bytes, list[str]]:
    trace_id = os.urandom(16)
    spans, ids = [], []
    for i in range(SPANS_PER_REQUEST):
        sid = os.urandom(8)
        ids.append(sid.hex())
        spans.append({"trace_id": trace_id, "span_id": sid, "parent": b"" if i == 0 else bytes.fromhex(ids[0]),
                      "name": f"step-{i}", "kind": 3, "attrs": {
                          "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                          "gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": 100 + i,
                          "gen_ai.usage.output_tokens": 10, "gen_ai.input.messages": '[{"role":"user","content":"hi"}]',
                          "app.request_id": os.urandom(6).hex()}})
    return pb_request(spans, service="crash-test").SerializeToString(), ids


def _sender(url: str, stop: threading.Event, first_ack: threading.Event, acked: list[str],
            refused: list[int]) -> None:
    with httpx.Client(timeout=10) as client:
        while not stop.is_set():
            body, ids = _request()
            try:
                r = client.post(url, content=body, headers={"content-type": "application/x-protobuf"})
            except httpx.HTTPError:
                return  # the collector is gone: this request was never acknowledged
            if 200 <= r.status_code < 300:
                acked.extend(ids)
                first_ack.set()
            elif r.status_code in (429, 503):
                refused.append(r.status_code)
                time.sleep(0.05)
            else:  # recorded for the test thread to fail on
                refused.append(r.status_code)
                acked.append(f"unexpected {r.status_code}: {r.text[:200]}")
                return


def _load_then_kill(store, kill_after: float) -> tuple[list[str], int]:
    """Senders until the first acknowledgement, then ``kill_after`` seconds more of load, then SIGKILL."""
    rc = start_subprocess(store, workers=1)
    stop, first_ack = threading.Event(), threading.Event()
    acked: list[list[str]] = [[] for _ in range(SENDERS)]
    refused: list[int] = []
    threads = [threading.Thread(target=_sender, args=(rc.traces_url, stop, first_ack, acked[i], refused),
                                daemon=True) for i in range(SENDERS)]
    for t in threads:
        t.start()
    assert first_ack.wait(60), "the collector acknowledged nothing"
    time.sleep(kill_after)
    rc.kill9()
    stop.set()
    for t in threads:
        t.join(15)
    assert not any(t.is_alive() for t in threads)
    ids = [sid for part in acked for sid in part]
    unexpected = [i for i in ids if i.startswith("unexpected")]
    assert not unexpected, unexpected[0]
    return ids, len(refused)


def test_kill9_under_load_keeps_every_acknowledged_span_exactly_once(tmp_path):
    store = tmp_path / "store"
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    # seconds after the first acknowledgement: early (mid first flush), and later under load
    kill_moments = [rng.uniform(0.0, 0.1), rng.uniform(0.2, 0.6), rng.uniform(0.8, 1.3)]
    acked: list[str] = []
    for moment in kill_moments:
        ids, _ = _load_then_kill(store, moment)
        acked.extend(ids)
    assert len(acked) > 10 * SPANS_PER_REQUEST, f"too little load to mean anything (seed {seed})"

    rc = start_subprocess(store, workers=1)  # recovery runs before it answers
    try:
        reader = StoreReader(store)
        rows = reader.query(f"SELECT span_id, count(*) AS n FROM {reader.scan('spans')} GROUP BY span_id")
        counts = dict(zip(rows["span_id"].to_list(), rows["n"].to_list()))
        missing = [s for s in acked if s not in counts]
        twice = {s: n for s, n in counts.items() if n > 1}
        context = f"seed {seed}, kills at {[round(m, 2) for m in kill_moments]}s, {len(acked)} acked"
        assert not missing, f"{len(missing)} acknowledged spans lost ({context})"
        assert not twice, f"{len(twice)} spans stored more than once ({context})"
        parts = reader.query(f"SELECT sum(span_count) AS n FROM {reader.scan('trace_parts')}")["n"][0]
        assert parts == len(counts), context  # trace parts agree with the spans
    finally:
        rc.stop()
    # nothing half-written is left on disk (checked once the collector is stopped: a
    # running one may be between writing a segment and publishing it)
    m = mf.load(store)
    known = {s.path for s in m.segments} | {p for p, _ in m.graveyard}
    on_disk = {p.relative_to(store).as_posix() for p in (store / "tables").rglob("*") if p.is_file()}
    assert on_disk <= known, f"orphans: {sorted(on_disk - known)[:3]}"
