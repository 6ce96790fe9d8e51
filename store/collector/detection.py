"""Guardrail detection behind ingest, in its own low-priority process.

Detectors read what was already published: each flush's new span segments are
scanned in order by a detector process running at a lower CPU priority, and the
events it finds go through the WAL like everything else. Ingest never waits for
detection; under a burst detection falls behind and catches up afterwards, and
nothing is lost because the backlog is on disk. The only state is a watermark:
every span segment of a publish at or below it has been scanned. Segments above
it are kept out of compaction until scanned, so no row is scanned twice.
"""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import os
import pickle
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Callable

from store.segments.layout import STATE_DIR
from store.segments.manifest import Segment

log = logging.getLogger(__name__)

STATE_FILE = "detection.json"
NICE = 10


def _detector_main(conn: Connection, config: dict[str, Any]) -> None:
    try:
        os.nice(NICE)
    except OSError:
        pass
    from store.collector.guardrail_stage import ROW_COLUMNS, GuardrailStage
    from store.segments.batches import batches
    from store.segments.memory import use_returning_pool
    from store.segments.wal import ipc_bytes

    use_returning_pool()

    stage = GuardrailStage.from_config(config)
    while True:
        try:
            paths = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):
            return
        out: list[bytes] = []
        for path in paths:
            try:  # a batch at a time: a big segment never sits in memory whole
                for batch in batches(path, 2000, ROW_COLUMNS):
                    events = stage.flag(batch)
                    if events is not None and events.num_rows:
                        out.append(ipc_bytes(events))
            except OSError as e:  # removed by retention before we got to it
                log.warning("detection skipped %s: %s", path, e)
        conn.send_bytes(pickle.dumps(out, protocol=5))


class Detection:
    """Feeds published span segments to the detector process, one publish at a time."""

    def __init__(self, root: Path, config: dict[str, Any], submit: Callable[[str, bytes], Any]):
        self.root = Path(root)
        self.config = dict(config or {})
        self.enabled = self.config.get("enabled", True) is not False
        self._submit = submit  # (table, ipc payload) -> concurrent Future, resolved when durable
        self._state = self.root / STATE_DIR / STATE_FILE
        self.watermark = self._load()
        self._pending: dict[int, list[str]] = {}
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.scanned_segments = 0
        self.events_found = 0

    # -- state -----------------------------------------------------------------------------
    def _load(self) -> int:
        try:
            return int(json.loads(self._state.read_text())["watermark"])
        except (OSError, ValueError, KeyError):
            return 0

    def _save(self) -> None:
        self._state.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._state.with_suffix(".tmp")
        tmp.write_text(json.dumps({"watermark": self.watermark}))
        os.replace(tmp, self._state)

    def must_keep(self, seg: Segment) -> bool:
        """Compaction leaves alone the span segments detection has not reached."""
        return self.enabled and seg.table == "spans" and seg.level == 0 and seg.generation > self.watermark

    @property
    def backlog(self) -> int:
        with self._cond:
            return sum(len(v) for v in self._pending.values())

    # -- feeding ---------------------------------------------------------------------------
    def start(self, segments: list[Segment]) -> None:
        """Resume: everything published above the watermark is still to scan."""
        if not self.enabled:
            return
        for seg in segments:
            if self.must_keep(seg):
                self._pending.setdefault(seg.generation, []).append(seg.path)
        self._thread = threading.Thread(target=self._loop, name="llmops-detection", daemon=True)
        self._thread.start()

    def published(self, generation: int, segments: list[Segment]) -> None:
        if not self.enabled:
            return
        paths = [s.path for s in segments if s.table == "spans"]
        with self._cond:
            self._pending[generation] = paths
            self._cond.notify()

    def drain(self, timeout: float) -> bool:
        """Wait (up to ``timeout``) for the backlog to be scanned: a clean stop leaves
        nothing for the next start when it can."""
        deadline = time.monotonic() + timeout
        while self.enabled and self._thread is not None and self._thread.is_alive():
            with self._cond:
                if not self._pending:
                    return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        ctx = mp.get_context("spawn")
        conn = proc = None
        restarts = 0
        while not self._stop.is_set():
            with self._cond:
                while not self._pending and not self._stop.is_set():
                    self._cond.wait(1.0)
                if self._stop.is_set():
                    break
                generation = min(self._pending)
                paths = self._pending[generation]
            try:
                if proc is None or not proc.is_alive():
                    parent, child = ctx.Pipe()
                    proc = ctx.Process(target=_detector_main, args=(child, self.config), daemon=True,
                                       name="llmops-detector")
                    proc.start()
                    child.close()
                    conn = parent
                assert conn is not None
                conn.send_bytes(pickle.dumps([str(self.root / p) for p in paths], protocol=5))
                payloads = pickle.loads(conn.recv_bytes())
                futures = [self._submit("guardrail_events", p) for p in payloads]
                for f in futures:
                    f.result()  # durable before the watermark moves past this publish
                self.events_found += len(payloads)
                self.scanned_segments += len(paths)
                with self._cond:
                    del self._pending[generation]
                self.watermark = max(self.watermark, generation)
                self._save()
                restarts = 0
            except Exception:
                if self._stop.is_set():
                    break  # stopping: the watermark stays, the next start resumes here
                restarts += 1
                log.exception("guardrail detection failed on publish %d; retrying", generation)
                if proc is not None:
                    proc.kill()
                    proc = None
                time.sleep(min(30.0, 0.5 * 2 ** min(restarts, 6)))
        if proc is not None:
            try:
                assert conn is not None
                conn.close()
            except OSError:
                pass
            proc.join(2)
            if proc.is_alive():
                proc.kill()
