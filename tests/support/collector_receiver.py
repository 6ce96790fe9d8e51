"""A stand-in collector that records what it receives: OTLP/HTTP traces and JSON scores.

``collector_receiver`` (fixture) gives a :class:`Receiver`: ``traces_url`` for the
OTLP exporter, ``spans`` (decoded: name, trace/span ids in hex, attributes as
plain values), ``scores`` (the dicts posted to ``/v1/scores``). ``fail=True``
makes it answer 503 to everything.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.support.asgi_server import BackgroundServer, lifespan, read_body, send_bytes


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in any_value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in any_value.kvlist_value.values}
    return getattr(any_value, kind) if kind else None


def decode_spans(body: bytes) -> list[dict[str, Any]]:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    spans = []
    for resource_spans in request.resource_spans:
        resource = {kv.key: _value(kv.value) for kv in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(
                    {
                        "name": span.name,
                        "trace_id": span.trace_id.hex(),
                        "span_id": span.span_id.hex(),
                        "parent_span_id": span.parent_span_id.hex(),
                        "kind": span.kind,
                        "start_ns": span.start_time_unix_nano,
                        "end_ns": span.end_time_unix_nano,
                        "status_code": span.status.code,
                        "attributes": {kv.key: _value(kv.value) for kv in span.attributes},
                        "resource": resource,
                    }
                )
    return spans


@dataclass
class Receiver:
    base_url: str = ""
    spans: list[dict[str, Any]] = field(default_factory=list)
    scores: list[dict[str, Any]] = field(default_factory=list)
    content_types: list[str] = field(default_factory=list)
    fail: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def traces_url(self) -> str:
        return f"{self.base_url}/v1/traces"

    def wait_for_spans(self, count: int, timeout_s: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout_s
        while len(self.spans) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.spans)

    def reset(self) -> None:
        with self._lock:
            self.spans.clear()
            self.scores.clear()
            self.content_types.clear()
            self.fail = False


class _App:
    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        body = await read_body(receive)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        if self.receiver.fail:
            await send_bytes(send, 503, b'{"error": "down"}')
            return
        with self.receiver._lock:
            self.receiver.content_types.append(headers.get("content-type", ""))
            if scope["path"] == "/v1/traces":
                self.receiver.spans.extend(decode_spans(body))
            elif scope["path"] == "/v1/scores":
                self.receiver.scores.extend(json.loads(body)["scores"])
            else:
                await send_bytes(send, 404, b"{}")
                return
        await send_bytes(send, 200, b"{}", content_type=b"application/x-protobuf" if scope["path"] == "/v1/traces" else b"application/json")


@pytest.fixture(scope="session")
def collector_receiver_server() -> Iterator[tuple[Receiver, BackgroundServer]]:
    receiver = Receiver()
    server = BackgroundServer(_App(receiver))
    receiver.base_url = f"http://127.0.0.1:{server.port}"
    yield receiver, server
    server.stop()


@pytest.fixture
def collector_receiver(collector_receiver_server: tuple[Receiver, BackgroundServer]) -> Iterator[Receiver]:
    receiver = collector_receiver_server[0]
    receiver.reset()
    yield receiver
    receiver.reset()
