"""The collector's HTTP front end, a plain ASGI app (served by uvicorn).

Routes:
  POST /v1/traces, /api/public/otel/v1/traces   OTLP/HTTP, protobuf or JSON, gzip ok
  POST /v1/scores                               scores (replay judges, humans, apps)
  POST /v1/guardrail-events                     an app's own guardrail results
  GET  /healthz                                 liveness, and proof that this is our collector
  GET  /v1/stats                                counters for the console's status bar
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any, Awaitable, Callable

import orjson

from store.collector import otlp
from store.collector.auth import AuthPolicy
from store.collector.decoders import DecodeFailed, DecoderPool
from store.collector.ingest import IngestCore
from store.collector.records import parse_scores

log = logging.getLogger(__name__)

SERVICE = "llmops-collector"
TRACE_PATHS = ("/v1/traces", "/api/public/otel/v1/traces")
Send = Callable[[dict[str, Any]], Awaitable[None]]


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _status_pb(code: int, message: str) -> bytes:
    """google.rpc.Status {code, message}, encoded by hand to avoid a dependency."""
    msg = message.encode()[:4000]
    return b"\x08" + _varint(code) + b"\x12" + _varint(len(msg)) + msg


_GRPC_CODE = {400: 3, 401: 16, 413: 8, 415: 3, 429: 8, 503: 14, 404: 5, 405: 12, 500: 13}


class CollectorApp:
    def __init__(self, core: IngestCore, pool: DecoderPool, auth: AuthPolicy, store_path: str,
                 max_body: int = 16 << 20, version: str = "0", extra_routes: dict[str, Any] | None = None):
        self.core = core
        self.pool = pool
        self.auth = auth
        self.store_path = store_path
        self.max_body = max_body
        self.version = version
        self.started = time.time()
        self.extra_routes = extra_routes or {}
        self.alerts: Any = None  # the collector's AlertService, when running

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif msg["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if path == "/healthz" and method == "GET":
            await _json(send, 200, {"status": "ok", "service": SERVICE, "version": self.version,
                                    "store": self.store_path, "pid": os.getpid()})
            return
        if not self.auth.allows(headers.get("authorization")):
            await _json(send, 401, {"error": "missing or wrong credentials: send 'Authorization: Bearer <token>'"},
                        extra=[(b"www-authenticate", b'Bearer realm="llmops-collector"')])
            return
        if path == "/v1/stats" and method == "GET":
            await _json(send, 200, self.stats())
            return
        if path in TRACE_PATHS:
            if method != "POST":
                await _json(send, 405, {"error": "use POST"})
                return
            await self.traces(headers, receive, send)
            return
        if path == "/v1/scores" and method == "POST":
            await self.records(headers, receive, send, "scores", parse_scores)
            return
        handler = self.extra_routes.get((method, path))
        if handler is not None:
            await handler(self, headers, receive, send)
            return
        await _json(send, 404, {"error": f"no route {method} {path}"})

    def stats(self) -> dict[str, Any]:
        s = self.core.stats
        return {
            "service": SERVICE, "uptime_s": round(time.time() - self.started, 1),
            "spans_received": s.spans_received, "spans_rejected": s.spans_rejected,
            "spans_stored": s.spans_stored, "spans_per_s": round(self.core.spans_per_second(), 1),
            "requests": s.requests, "requests_refused": s.requests_refused,
            "queue_depth": self.core.pending_rows, "decoder_backlog": self.pool.backlog,
            "flushes": s.flushes, "last_flush_ms": round(s.last_flush_ms, 1), "compactions": s.compactions,
            "records": dict(s.records_by_table),
            "alerts_firing": self.alerts.firing if self.alerts is not None else 0,
            "detection_backlog": self.core.detection.backlog if self.core.detection is not None else 0,
            "detection_watermark": self.core.detection.watermark if self.core.detection is not None else 0,
        }

    async def _read_body(self, headers: dict[str, str], receive: Any, send: Send) -> bytes | None:
        declared = headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_body:
            await _json(send, 413, {"error": f"body of {declared} bytes exceeds the {self.max_body}-byte limit"})
            return None
        chunks, size = [], 0
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return None
            chunk = msg.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await _json(send, 413, {"error": f"body exceeds the {self.max_body}-byte limit"})
                return None
            chunks.append(chunk)
            if not msg.get("more_body"):
                return b"".join(chunks)

    async def _refuse_if_overloaded(self, send: Send, encoding: str | None = None) -> bool:
        if self.core.overloaded() or self.pool.backlog > 64:
            self.core.stats.requests_refused += 1
            await _error(send, 503, "collector is catching up; retry after 1 s", encoding,
                         extra=[(b"retry-after", b"1")])
            return True
        return False

    async def traces(self, headers: dict[str, str], receive: Any, send: Send) -> None:
        self.core.stats.requests += 1
        try:
            encoding = otlp.encoding_of(headers.get("content-type"))
        except otlp.UnsupportedMediaType as e:
            await _json(send, 415, {"error": str(e)})
            return
        if await self._refuse_if_overloaded(send, encoding):
            return
        body = await self._read_body(headers, receive, send)
        if body is None:
            return
        try:
            out = await self.pool.decode(encoding, headers.get("content-encoding"), body)
        except DecodeFailed as e:
            if e.status == 503:
                await _error(send, 503, e.message, encoding, extra=[(b"retry-after", b"1")])
            else:
                await _error(send, e.status, e.message, encoding)
            return
        self.core.stats.spans_rejected += out.rejected
        if out.payload is None and out.rejected:
            await _error(send, 400, "no valid spans: " + "; ".join(out.errors), encoding)
            return
        if out.payload is not None:
            self.core.stats.spans_received += out.accepted
            futs = [self.core.submit("spans", out.payload, out.accepted)]
            if out.events:
                futs.append(self.core.submit("guardrail_events", out.events, 0))
            for f in futs:
                await f
        body_out = otlp.response_body(encoding, out.rejected, "; ".join(out.errors))
        ctype = b"application/json" if encoding == otlp.JSON else b"application/x-protobuf"
        await _respond(send, 200, body_out, ctype)

    async def records(self, headers: dict[str, str], receive: Any, send: Send, table: str,
                      parse: Callable[[bytes], Any], accepted: Any = None) -> None:
        if await self._refuse_if_overloaded(send):
            return
        body = await self._read_body(headers, receive, send)
        if body is None:
            return
        try:
            batch = parse(body)
        except otlp.BadRequest as e:
            await _json(send, 400, {"error": str(e)})
            return
        from store.segments.wal import ipc_bytes

        await self.core.submit(table, ipc_bytes(batch), 0)
        await _json(send, 200, {"accepted": batch.num_rows} if accepted is None else accepted)


async def _respond(send: Send, status: int, body: bytes, ctype: bytes,
                   extra: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = [(b"content-type", ctype), (b"content-length", str(len(body)).encode())] + (extra or [])
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _json(send: Send, status: int, doc: Any, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    await _respond(send, status, orjson.dumps(doc), b"application/json", extra)


async def _error(send: Send, status: int, message: str, encoding: str | None,
                 extra: list[tuple[bytes, bytes]] | None = None) -> None:
    """OTLP asks for a google.rpc.Status in the request's own encoding."""
    code = _GRPC_CODE.get(status, 2)
    if encoding == otlp.PROTOBUF:
        await _respond(send, status, _status_pb(code, message), b"application/x-protobuf", extra)
    else:
        await _json(send, status, {"code": code, "message": message}, extra)
