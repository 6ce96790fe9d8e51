"""Decoder processes: parse, normalize and price OTLP bodies off the event loop.

The per-span Python work is what limits ingest, so it runs in worker processes
(one per core by default) and the collector's own process only moves bytes:
bodies go out, Arrow IPC batches come back. Only redaction runs here (it must
precede the WAL); flag-mode detection runs behind ingest (``detection``).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import multiprocessing as mp
import os
import pickle
import queue
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class Decoded:
    accepted: int
    rejected: int
    errors: list[str]
    payload: bytes | None  # Arrow IPC stream of SPANS rows
    events: bytes | None = None  # guardrail events of the redaction pass (redaction mode only)


class DecodeFailed(Exception):
    """A request the collector refuses; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str):
        super().__init__(status, message)
        self.status = status
        self.message = message


@dataclass
class DecoderSettings:
    max_body: int = 64 << 20
    pricing: dict[str, Any] = field(default_factory=dict)
    guardrails: dict[str, Any] = field(default_factory=dict)


class Decoder:
    """The work itself; runs in a worker process, or inline for tests and tiny setups."""

    def __init__(self, settings: DecoderSettings):
        from store.collector.enrich import make_price_fn
        from store.collector.guardrail_stage import GuardrailStage
        from store.collector.normalize import SpanBatchBuilder

        self.settings = settings
        self.builder = SpanBatchBuilder(price=make_price_fn(settings.pricing))
        self.guardrails = GuardrailStage.from_config(settings.guardrails)

    def decode(self, encoding: str, content_encoding: str | None, body: bytes) -> Decoded:
        from store.collector import otlp
        from store.segments.wal import ipc_bytes

        try:
            payload = otlp.decompress(body, content_encoding, self.settings.max_body)
            request = otlp.parse_request(payload, encoding)
        except otlp.TooLarge as e:
            raise DecodeFailed(413, str(e)) from None
        except otlp.UnsupportedMediaType as e:
            raise DecodeFailed(415, str(e)) from None
        except otlp.BadRequest as e:
            raise DecodeFailed(400, str(e)) from None
        result = self.builder.build(request)
        batch, events = result.batch, None
        if result.accepted and self.guardrails.redacts:
            # Redaction must happen before the WAL: the raw text never reaches disk.
            batch, ev = self.guardrails.redact(batch)
            events = ipc_bytes(ev) if ev is not None and ev.num_rows else None
        data = ipc_bytes(batch) if result.accepted else None
        return Decoded(result.accepted, result.rejected, result.errors, data, events)


def _worker_main(conn: Connection, settings: DecoderSettings) -> None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    from store.segments.memory import use_returning_pool

    use_returning_pool()
    decoder = Decoder(settings)
    while True:
        try:
            msg = conn.recv_bytes()
        except (EOFError, OSError):
            return
        req_id, encoding, content_encoding, body = pickle.loads(msg)
        try:
            out: Any = decoder.decode(encoding, content_encoding, body)
        except DecodeFailed as e:
            out = e
        except Exception as e:  # a decoder bug must cost one request, not the collector
            log.exception("decoder failed")
            out = DecodeFailed(400, f"could not decode the request: {type(e).__name__}: {e}")
        conn.send_bytes(pickle.dumps((req_id, "ack", out), protocol=5))


class DecoderPool:
    """Round-robin over worker processes, with futures resolved on the event loop."""

    def __init__(self, settings: DecoderSettings, workers: int):
        self.settings = settings
        self.n = workers
        self._ctx = mp.get_context("spawn")
        self._procs: list[Any] = []
        self._conns: list[Connection] = []
        self._outboxes: list[queue.SimpleQueue] = []
        self._inflight: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Future, int]] = {}
        self._load: list[int] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._inline: Decoder | None = None
        self._closed = False
        self._restarts = 0

    def start(self) -> None:
        if self.n <= 0:
            self._inline = Decoder(self.settings)
            return
        for i in range(self.n):
            self._spawn(i)

    def _spawn(self, i: int) -> None:
        parent, child = self._ctx.Pipe(duplex=True)
        proc = self._ctx.Process(target=_worker_main, args=(child, self.settings), daemon=True,
                                 name=f"llmops-decoder-{i}")
        proc.start()
        child.close()
        if i < len(self._procs):
            self._procs[i], self._conns[i] = proc, parent
        else:
            self._procs.append(proc)
            self._conns.append(parent)
            self._outboxes.append(queue.SimpleQueue())
            self._load.append(0)
        threading.Thread(target=self._reader, args=(i, parent), daemon=True, name=f"decoder-reader-{i}").start()
        threading.Thread(target=self._sender, args=(i, parent), daemon=True, name=f"decoder-sender-{i}").start()

    def _sender(self, i: int, conn: Connection) -> None:
        # A 200 KB body does not fit a socket buffer: writing it from the event loop
        # would stall every request while the decoder is busy, so a thread writes.
        box = self._outboxes[i]
        while True:
            item = box.get()
            if item is None or self._conns[i] is not conn:
                box.put(item) if item is not None else None
                return
            req_id, data = item
            try:
                conn.send_bytes(data)
            except OSError:
                self._fail(req_id, i)
                return

    def _reader(self, i: int, conn: Connection) -> None:
        while True:
            try:
                req_id, kind, out = pickle.loads(conn.recv_bytes())
            except (EOFError, OSError):
                break
            with self._lock:
                entry = self._inflight.pop(req_id, None)
                if entry:
                    self._load[entry[2]] -= 1
            if entry:
                loop, fut, _ = entry
                loop.call_soon_threadsafe(_settle, fut, out)
        self._worker_died(i, conn)

    def _worker_died(self, i: int, conn: Connection) -> None:
        with self._lock:
            lost = [(k, v) for k, v in self._inflight.items() if v[2] == i]
            for k, _ in lost:
                del self._inflight[k]
            self._load[i] = 0
        for _, (loop, fut, _) in lost:
            loop.call_soon_threadsafe(_settle, fut, DecodeFailed(503, "decoder restarted; retry"))
        if not self._closed and self._conns[i] is conn:
            # Back off so a decoder that dies at start-up cannot spin the CPU.
            self._restarts += 1
            delay = min(30.0, 0.2 * 2 ** min(self._restarts, 8))
            log.error("decoder %d exited; restarting it in %.1fs", i, delay)
            time.sleep(delay)
            if not self._closed:
                self._spawn(i)

    @property
    def backlog(self) -> int:
        return len(self._inflight)

    async def decode(self, encoding: str, content_encoding: str | None, body: bytes) -> Decoded:
        if self._inline is not None:
            out = await asyncio.to_thread(self._decode_inline, encoding, content_encoding, body)
            if isinstance(out, DecodeFailed):
                raise out
            return out
        loop = asyncio.get_running_loop()
        fut: asyncio.Future = loop.create_future()
        req_id = next(self._ids)
        with self._lock:
            i = min(range(self.n), key=self._load.__getitem__)
            self._load[i] += 1
            self._inflight[req_id] = (loop, fut, i)
        self._outboxes[i].put((req_id, pickle.dumps((req_id, encoding, content_encoding, body), protocol=5)))
        return await fut

    def _fail(self, req_id: int, i: int) -> None:
        with self._lock:
            entry = self._inflight.pop(req_id, None)
            if entry:
                self._load[i] -= 1
        if entry:
            entry[0].call_soon_threadsafe(_settle, entry[1], DecodeFailed(503, "decoder unavailable; retry"))

    def _decode_inline(self, encoding: str, content_encoding: str | None, body: bytes) -> Decoded | DecodeFailed:
        assert self._inline is not None
        try:
            return self._inline.decode(encoding, content_encoding, body)
        except DecodeFailed as e:
            return e
        except Exception as e:  # as in a worker process: one bad request, not a 500
            log.exception("decoder failed")
            return DecodeFailed(400, f"could not decode the request: {type(e).__name__}: {e}")

    def close(self) -> None:
        self._closed = True
        for box in self._outboxes:
            box.put(None)
        for c in self._conns:
            try:
                c.close()
            except OSError:
                pass
        deadline = time.monotonic() + 2
        for p in self._procs:
            p.join(max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.kill()


def _settle(fut: asyncio.Future, out: Any) -> None:
    if fut.done():
        return
    if isinstance(out, BaseException):
        fut.set_exception(out)
    else:
        fut.set_result(out)
