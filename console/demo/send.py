"""POSTing OTLP bodies to the collector with bounded concurrency, the way an
exporter should: retry 429/502/503/504 (honouring Retry-After) and connection
errors, never a 4xx, and count what the collector says it rejected."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from console.demo.collector import DemoError

RETRYABLE = (429, 502, 503, 504)
MAX_ATTEMPTS = 8


@dataclass
class SendStats:
    requests: int = 0
    spans: int = 0
    traces: int = 0
    rejected_spans: int = 0
    retries: int = 0
    rejections: list[str] = field(default_factory=list)


class Sender:
    def __init__(self, url: str, token: str | None = None, concurrency: int = 4, timeout_s: float = 30.0):
        self.url = url.rstrip("/") + "/v1/traces"
        headers = {"Content-Type": "application/x-protobuf", "User-Agent": "llmops-console-demo"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.client = httpx.Client(headers=headers, timeout=timeout_s)
        self.pool = ThreadPoolExecutor(concurrency, thread_name_prefix="demo-send")
        self.slots = threading.BoundedSemaphore(concurrency * 2)  # bodies built ahead of the senders
        self.stats = SendStats()
        self._lock = threading.Lock()
        self._futures: list[Future] = []
        self._error: BaseException | None = None

    def submit(self, body: bytes, spans: int, traces: int) -> None:
        if self._error is not None:
            raise self._error
        self.slots.acquire()
        fut = self.pool.submit(self._post, body, spans, traces)
        fut.add_done_callback(self._done)
        self._futures.append(fut)

    def _done(self, fut: Future) -> None:
        self.slots.release()
        err = fut.exception()
        if err is not None and self._error is None:
            self._error = err

    def _post(self, body: bytes, spans: int, traces: int) -> None:
        delay = 0.2
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                r = self.client.post(self.url, content=body)
            except httpx.TransportError as e:
                if attempt >= 3:
                    raise DemoError(f"lost the collector at {self.url}: {type(e).__name__}: {e}") from None
                r = None
            if r is not None and r.status_code == 200:
                self._count(r.content, spans, traces)
                return
            if r is not None and r.status_code not in RETRYABLE:
                raise DemoError(f"the collector refused a batch: HTTP {r.status_code}: {r.text[:300]}"
                                + (" (set LLMOPS_TOKEN to the collector's token)" if r.status_code == 401 else ""))
            with self._lock:
                self.stats.retries += 1
            wait = delay
            if r is not None and r.headers.get("retry-after", "").isdigit():
                wait = max(wait, float(r.headers["retry-after"]))
            time.sleep(wait)
            delay = min(delay * 2, 5.0)
        raise DemoError(f"the collector at {self.url} stayed busy after {MAX_ATTEMPTS} attempts")

    def _count(self, content: bytes, spans: int, traces: int) -> None:
        rejected, message = 0, ""
        if content:
            resp = ExportTraceServiceResponse()
            try:
                resp.ParseFromString(content)
                rejected = resp.partial_success.rejected_spans
                message = resp.partial_success.error_message
            except Exception:  # an empty or odd body still means 200: accepted
                pass
        with self._lock:
            self.stats.requests += 1
            self.stats.spans += spans - rejected
            self.stats.traces += traces
            self.stats.rejected_spans += rejected
            if message and len(self.stats.rejections) < 5:
                self.stats.rejections.append(message)

    def drain(self) -> None:
        """Wait for everything submitted; raise the first failure."""
        for fut in self._futures:
            fut.exception()
        self._futures = [f for f in self._futures if not f.done()]
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.client.close()
