"""Running a collector: from settings to a listening server, in the foreground or
embedded in another process (the console's default)."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from store.collector.auth import AuthPolicy, check_bind
from store.collector.decoders import DecoderPool, DecoderSettings
from store.collector.ingest import IngestCore, IngestSettings
from store.collector.server import CollectorApp
from store.config import Settings
from store.segments.memory import use_returning_pool

log = logging.getLogger(__name__)
VERSION = "0.1.0"


class AddressInUse(OSError):
    pass


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise AddressInUse(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    sock.listen(1024)
    sock.setblocking(False)
    return sock


@dataclass
class Collector:
    settings: Settings
    workers: int | None = None

    def __post_init__(self) -> None:
        use_returning_pool()
        s = self.settings
        self.auth = AuthPolicy(s.token, s.langfuse_public_key, s.langfuse_secret_key)
        host, _ = s.host_port
        check_bind(host, self.auth)
        self.core = IngestCore(Path(s.store), IngestSettings(flush_interval=s.flush_interval,
                                                             retention_days=s.retention_days), s.listen,
                               guardrails=s.guardrails)
        n = s.workers if self.workers is None else self.workers
        self.pool = DecoderPool(DecoderSettings(max_body=s.max_body_mb * 4 << 20, pricing=s.pricing,
                                                guardrails=s.guardrails), n)
        self.app = CollectorApp(self.core, self.pool, self.auth, str(s.store), max_body=s.max_body_mb << 20,
                                version=VERSION, extra_routes=_extra_routes())
        from store.collector.jobs.alerting import AlertService

        self.alerts = AlertService(Path(s.store), s.alerts, self._submit_table)
        self.app.alerts = self.alerts
        self.server: uvicorn.Server | None = None
        self.sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self.address = ""
        self.background: list[Any] = []

    def _submit_table(self, table: str, rows: Any) -> None:
        """Durable write of rows the collector itself produced (alerts, health samples)."""
        for batch in rows.to_batches():
            self.core.submit_batch(table, batch)

    def open(self) -> None:
        """Bind, take the store, start the decoders. Raises with a clear message on failure."""
        host, port = self.settings.host_port
        self.sock = bind_socket(host, port)
        try:
            self.core.start()
        except BaseException:
            self.sock.close()
            raise
        self.pool.start()
        h, p = self.sock.getsockname()[:2]
        self.address = f"{h}:{p}"
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off",
                                http="httptools", loop="asyncio", timeout_keep_alive=30)
        self.server = uvicorn.Server(config)

    async def serve(self) -> None:
        assert self.server is not None and self.sock is not None
        from store.collector.background import start_background

        self.background = start_background(self)
        try:
            await self.server.serve(sockets=[self.sock])
        finally:
            for task in self.background:
                task.cancel()
            # let them finish their cleanup (closing HTTP clients) before the loop closes
            await asyncio.gather(*self.background, return_exceptions=True)

    def run(self) -> None:
        """Foreground: until SIGINT/SIGTERM."""
        self.open()
        try:
            asyncio.run(self.serve())
        finally:
            self.close()

    def start_in_thread(self) -> "Collector":
        """Embedded: serve from a daemon thread of this process."""
        self.open()
        started = threading.Event()

        def target() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            loop.call_soon(started.set)
            try:
                loop.run_until_complete(self.serve())
            finally:
                loop.close()

        self._thread = threading.Thread(target=target, name="llmops-collector", daemon=True)
        self._thread.start()
        started.wait(10)
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)
        self.close()

    def close(self) -> None:
        self.pool.close()
        self.core.stop()
        if self.sock is not None:
            self.sock.close()


def _extra_routes() -> dict[Any, Any]:
    from store.collector.routes import EXTRA_ROUTES

    return EXTRA_ROUTES
