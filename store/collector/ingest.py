"""The collector's single-writer core: WAL with group commit, periodic flush to
segments, background compaction and retention.

``submit`` resolves once the records are fsynced in the WAL, which is when the
HTTP layer may answer 2xx. A flusher publishes everything acknowledged so far as
segments every ``flush_interval`` seconds, with the WAL position in the manifest,
so a restart replays exactly what was not yet published.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import logging
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from store.collector.detection import Detection
from store.segments import compaction, migrations
from store.segments.layout import WAL_DIR
from store.segments.lock import WriterLock
from store.segments.wal import WalWriter, ipc_batch, replay
from store.segments.writer import SegmentWriter

log = logging.getLogger(__name__)


@dataclass
class IngestSettings:
    flush_interval: float = 0.5
    max_pending_rows: int = 400_000  # acknowledged but unpublished; beyond this, 503
    compact_interval: float = 15.0
    retention_days: int = 0  # 0 keeps everything
    policy: compaction.CompactionPolicy = field(default_factory=compaction.CompactionPolicy)


@dataclass
class IngestStats:
    spans_received: int = 0
    spans_rejected: int = 0
    spans_stored: int = 0
    requests: int = 0
    requests_refused: int = 0
    records_by_table: dict[str, int] = field(default_factory=dict)
    flushes: int = 0
    last_flush_ms: float = 0.0
    compactions: int = 0
    started_at: float = field(default_factory=time.time)


class _Pending:
    __slots__ = ("table", "payload", "rows", "future")

    def __init__(self, table: str, payload: bytes, rows: int, future: cf.Future | None):
        self.table, self.payload, self.rows, self.future = table, payload, rows, future


class IngestCore:
    def __init__(self, root: Path, settings: IngestSettings | None = None, listen: str = "",
                 guardrails: dict | None = None):
        self.root = Path(root)
        self.settings = settings or IngestSettings()
        self.lock = WriterLock(self.root, listen)
        self.stats = IngestStats()
        self.guardrails_config = guardrails or {}
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._pending: list[tuple[int, str, pa.RecordBatch]] = []
        self._pending_rows = 0
        self._pending_lock = threading.Lock()
        self._rotate = threading.Event()
        self._stop = threading.Event()
        self._flush_now = threading.Event()
        self._threads: list[threading.Thread] = []
        self._rate: deque[tuple[float, int]] = deque(maxlen=64)
        self.writer: SegmentWriter | None = None
        self.wal: WalWriter | None = None
        self.detection: Detection | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        self.lock.acquire()
        try:
            self.writer = SegmentWriter(self.root)
            migrations.migrate(self.writer)
            self.writer.remove_orphans()
            self.detection = Detection(self.root, self.guardrails_config, self.submit_nowait_payload)
            self._recover()
            self.detection.start(self.writer.manifest.segments)
        except BaseException:
            self.lock.release()
            raise
        for target, name in ((self._wal_loop, "wal-writer"), (self._flush_loop, "flusher"),
                             (self._maintenance_loop, "compactor")):
            t = threading.Thread(target=target, name=f"llmops-{name}", daemon=True)
            t.start()
            self._threads.append(t)

    def _recover(self) -> None:
        assert self.writer is not None
        checkpoint = self.writer.manifest.wal_checkpoint
        wal_dir = self.root / WAL_DIR
        tables: dict[str, list[pa.RecordBatch]] = {}
        last = checkpoint
        for rec in replay(wal_dir, checkpoint):
            tables.setdefault(rec.table, []).append(rec.batch())
            last = max(last, rec.seq)
        if tables:
            n = sum(b.num_rows for bs in tables.values() for b in bs)
            log.info("recovering %d rows from the WAL (records %d..%d)", n, checkpoint + 1, last)
            self.writer.append({t: pa.Table.from_batches(bs) for t, bs in tables.items()}, wal_checkpoint=last)
        self.wal = WalWriter(wal_dir, next_seq=last + 1)
        self.wal.drop_upto(last)

    def stop(self, drain_detection_s: float = 10.0) -> None:
        """Publish what is pending, let detection finish its backlog (for a while), and
        release the store."""
        if self._stop.is_set():
            return
        self._flush_now.set()
        if self.detection is not None:
            self._flush()
            self.detection.drain(drain_detection_s)
        self._queue.put(None)
        self._stop.set()
        self._flush_now.set()
        for t in self._threads:
            t.join(timeout=30)
        if self.detection is not None:
            self.detection.stop()
        self._flush()
        if self.wal:
            self.wal.close()
        self.lock.release()

    # -- write path ------------------------------------------------------------------------
    def overloaded(self) -> bool:
        return self._pending_rows + self._queue.qsize() * 100 > self.settings.max_pending_rows

    def submit_nowait(self, table: str, payload: bytes, rows: int) -> cf.Future:
        fut: cf.Future = cf.Future()
        self._queue.put(_Pending(table, payload, rows, fut))
        return fut

    async def submit(self, table: str, payload: bytes, rows: int) -> None:
        """Returns once the record is fsynced in the WAL."""
        await asyncio.wrap_future(self.submit_nowait(table, payload, rows))

    def submit_nowait_payload(self, table: str, payload: bytes) -> cf.Future:
        if self._stop.is_set() and not any(t.is_alive() for t in self._threads):
            fut: cf.Future = cf.Future()
            fut.set_exception(RuntimeError("collector stopped"))
            return fut
        return self.submit_nowait(table, payload, 0)

    def submit_batch(self, table: str, batch: pa.RecordBatch) -> cf.Future:
        from store.segments.wal import ipc_bytes

        return self.submit_nowait(table, ipc_bytes(batch), batch.num_rows)

    def _wal_loop(self) -> None:
        assert self.wal is not None
        while True:
            try:
                first = self._queue.get(timeout=0.2)
            except queue.Empty:
                if self._rotate.is_set():
                    self._rotate.clear()
                    self.wal.rotate()
                if self._stop.is_set():
                    return
                continue
            items = [first]
            while True:  # group commit: everything that is waiting goes in one fsync
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = any(i is None for i in items)
            work = [i for i in items if i is not None]
            if work:
                try:
                    seqs = self.wal.append([(i.table, i.payload) for i in work])
                except OSError as e:
                    log.exception("WAL write failed")
                    for i in work:
                        if i.future:
                            i.future.set_exception(e)
                    continue
                batches = [(s, i.table, ipc_batch(i.payload)) for s, i in zip(seqs, work)]
                with self._pending_lock:
                    self._pending.extend(batches)
                    self._pending_rows += sum(i.rows for i in work)
                for i in work:
                    self.stats.records_by_table[i.table] = self.stats.records_by_table.get(i.table, 0) + 1
                    if i.future:
                        i.future.set_result(None)
                if self._rotate.is_set():
                    self._rotate.clear()
                    self.wal.rotate()
            if stop:
                return

    def _flush_loop(self) -> None:
        while not self._stop.is_set():
            self._flush_now.wait(self.settings.flush_interval)
            self._flush_now.clear()
            try:
                self._flush()
            except Exception:
                log.exception("flush failed; will retry")
                time.sleep(0.5)

    def _flush(self) -> None:
        assert self.writer is not None
        with self._pending_lock:
            work, self._pending = self._pending, []
            rows, self._pending_rows = self._pending_rows, 0
        if not work:
            return
        t0 = time.perf_counter()
        by_table: dict[str, list[pa.RecordBatch]] = {}
        for _, table, batch in work:
            by_table.setdefault(table, []).append(batch)
        checkpoint = max(s for s, _, _ in work)
        try:
            new = self.writer.append({t: pa.Table.from_batches(bs) for t, bs in by_table.items()},
                                     wal_checkpoint=checkpoint)
        except BaseException:
            with self._pending_lock:  # keep it for the next try; the WAL still has it
                self._pending = work + self._pending
                self._pending_rows += rows
            raise
        if self.detection is not None and new:
            self.detection.published(new[0].generation, new)
        spans = sum(b.num_rows for b in by_table.get("spans", []))
        self.stats.spans_stored += spans
        self.stats.flushes += 1
        self.stats.last_flush_ms = (time.perf_counter() - t0) * 1000
        self._rate.append((time.monotonic(), self.stats.spans_stored))
        self._rotate.set()
        assert self.wal is not None
        self.wal.drop_upto(checkpoint)

    def _maintenance_loop(self) -> None:
        assert self.writer is not None
        last_retention = 0.0
        while not self._stop.wait(self.settings.compact_interval):
            try:
                if self.settings.retention_days and time.time() - last_retention > 3600:
                    compaction.drop_older_than(self.writer, self.settings.retention_days)
                    last_retention = time.time()
                keep = self.detection.must_keep if self.detection is not None else None
                n = compaction.compact_once(self.writer, self.settings.policy, keep)
                if not n and self.pending_rows == 0:  # quiet: seal a finished day (text index)
                    compaction.seal_old_days(self.writer, keep=keep)
                if n:
                    self.stats.compactions += 1
            except Exception:
                log.exception("compaction failed; will retry")

    # -- observability ---------------------------------------------------------------------
    @property
    def pending_rows(self) -> int:
        return self._pending_rows

    def spans_per_second(self) -> float:
        now = time.monotonic()
        pts = [p for p in self._rate if now - p[0] <= 10]
        if len(pts) < 2:
            return 0.0
        (t0, n0), (t1, n1) = pts[0], pts[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0
