"""A scriptable OpenAI-compatible server on 127.0.0.1, for tests and benchmarks.

Use it from a conftest::

    from tests.support.openai_stub import openai_stub, openai_stub_server  # noqa: F401

then take ``openai_stub`` in a test: it is an :class:`OpenAIStub` whose
``base_url`` ("http://127.0.0.1:<port>/v1") goes to LiteLLM as ``api_base`` with
``model="openai/<behaviour>"``. The server is started once per session
(``openai_stub_server``); ``openai_stub`` clears its records and scripts per test.

Behaviour is picked per request by the model name (or the ``X-Stub-Behaviour``
header, which wins):

==========================  ==================================================
``echo``                    replies with the last user message
``slow-2s`` / ``slow-300ms`` waits that long before the first byte
``drip-50ms``               streams with that pause between chunks
``fail-500``                500, OpenAI error body
``fail-401``                401 ``invalid_api_key``
``fail-404``                404 ``model_not_found``
``rate-limit-429``          429 with ``Retry-After: <stub.retry_after>``
``flaky-429x2``             429 for the first 2 requests of that model name, then OK
``malformed``               200 whose body (or SSE data) is not JSON
``context-length``          400 ``context_length_exceeded``, as OpenAI words it
``disconnect``              closes the stream after the first chunk
anything else               a deterministic reply derived from the request
==========================  ==================================================

``stub.script(model, reply)`` makes a model name answer with a fixed text or
``reply(request_json) -> str`` (e.g. a judge answering JSON). Usage counts one
token per whitespace-separated word, so tests can predict it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.support.asgi_server import BackgroundServer, lifespan, read_body, send_bytes

Reply = str | Callable[[dict[str, Any]], str]

KNOWN_MODELS = [
    "echo",
    "stub-model",
    "slow-2s",
    "drip-50ms",
    "fail-500",
    "fail-401",
    "fail-404",
    "rate-limit-429",
    "flaky-429x2",
    "malformed",
    "context-length",
    "disconnect",
]

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s)$")


def _duration_s(text: str) -> float:
    match = _DURATION.search(text)
    if not match:
        return 0.0
    value = float(match.group(1))
    return value / 1000 if match.group(2) == "ms" else value


def count_tokens(text: str) -> int:
    """The stub's tokenizer: one token per whitespace-separated word."""
    return len(text.split())


def _message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):  # content parts
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return content or ""


def default_reply(body: dict[str, Any]) -> str:
    """A deterministic reply: same request, same words."""
    messages = body.get("messages") or []
    digest = hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()[:8]
    return f"Stub reply {digest} from {body.get('model', '?')}."


@dataclass
class RecordedCall:
    model: str
    body: dict[str, Any]
    headers: dict[str, str]
    time: float


@dataclass
class OpenAIStub:
    """State shared between the test and the server thread."""

    base_url: str = ""
    retry_after: str = "0"
    calls: list[RecordedCall] = field(default_factory=list)
    scripts: dict[str, Reply] = field(default_factory=dict)
    in_flight: int = 0
    max_in_flight: int = 0
    _counts: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def script(self, model: str, reply: Reply) -> None:
        """Make ``model`` answer with ``reply`` (a text, or a function of the request body)."""
        self.scripts[model] = reply

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.scripts.clear()
            self._counts.clear()
            self.in_flight = 0
            self.max_in_flight = 0
            self.retry_after = "0"

    def calls_for(self, model: str) -> list[RecordedCall]:
        return [c for c in self.calls if c.model == model]

    def _enter(self, call: RecordedCall) -> int:
        with self._lock:
            self.calls.append(call)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self._counts[call.model] = self._counts.get(call.model, 0) + 1
            return self._counts[call.model]

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _reply_text(self, model: str, body: dict[str, Any]) -> str:
        scripted = self.scripts.get(model)
        if scripted is not None:
            return scripted(body) if callable(scripted) else scripted
        if model == "echo":
            users = [m for m in body.get("messages") or [] if m.get("role") == "user"]
            return _message_text(users[-1]) if users else ""
        return default_reply(body)


def _error_body(message: str, type_: str, code: str | None, param: str | None = None) -> bytes:
    return json.dumps({"error": {"message": message, "type": type_, "param": param, "code": code}}).encode()


def _error_for(model: str, nth_call: int, stub: OpenAIStub) -> tuple[int, bytes, list[tuple[bytes, bytes]]] | None:
    """The (status, body, extra headers) for an error behaviour, or None to answer normally."""
    if model == "fail-500":
        return 500, _error_body("The server had an error while processing your request.", "server_error", None), []
    if model == "fail-401":
        return (
            401,
            _error_body("Incorrect API key provided: sk-stub. You can find your API key at https://platform.openai.com/account/api-keys.", "invalid_request_error", "invalid_api_key"),
            [],
        )
    if model == "fail-404":
        return 404, _error_body(f"The model `{model}` does not exist", "invalid_request_error", "model_not_found"), []
    flaky = re.fullmatch(r"flaky-429x(\d+)", model)
    if model == "rate-limit-429" or (flaky and nth_call <= int(flaky.group(1))):
        return (
            429,
            _error_body("Rate limit reached for requests", "requests", "rate_limit_exceeded"),
            [(b"retry-after", stub.retry_after.encode())],
        )
    if model == "context-length":
        return (
            400,
            _error_body(
                "This model's maximum context length is 8192 tokens. However, your messages resulted in 9001 tokens. "
                "Please reduce the length of the messages.",
                "invalid_request_error",
                "context_length_exceeded",
                "messages",
            ),
            [],
        )
    return None


def _completion(body: dict[str, Any], model: str, text: str) -> dict[str, Any]:
    prompt_tokens = sum(count_tokens(_message_text(m)) for m in body.get("messages") or [])
    completion_tokens = count_tokens(text)
    return {
        "id": f"chatcmpl-stub{int(time.time() * 1e6)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def _stream_chunks(completion: dict[str, Any], include_usage: bool) -> Iterator[dict[str, Any]]:
    base = {k: completion[k] for k in ("id", "created", "model")} | {"object": "chat.completion.chunk"}
    text = completion["choices"][0]["message"]["content"]
    yield base | {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}
    for piece in re.findall(r"\S+\s*|\s+", text):
        yield base | {"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
    yield base | {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    if include_usage:
        yield base | {"choices": [], "usage": completion["usage"]}


class _App:
    """A bare ASGI app: no framework, so the stub adds little time of its own."""

    def __init__(self, stub: OpenAIStub) -> None:
        self.stub = stub

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        path = scope["path"].rstrip("/")
        if scope["method"] == "GET" and path.endswith("/models"):
            data = [{"id": m, "object": "model", "owned_by": "stub"} for m in KNOWN_MODELS + sorted(self.stub.scripts)]
            await send_bytes(send, 200, json.dumps({"object": "list", "data": data}).encode())
            return
        if scope["method"] != "POST" or not path.endswith("/chat/completions"):
            await send_bytes(send, 404, _error_body(f"no route {path}", "invalid_request_error", None))
            return
        raw = await read_body(receive)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        body = json.loads(raw or b"{}")
        model = headers.get("x-stub-behaviour") or str(body.get("model", ""))
        nth = self.stub._enter(RecordedCall(model, body, headers, time.time()))
        try:
            await self._answer(send, model, body, nth)
        finally:
            self.stub._leave()

    async def _answer(self, send: Callable, model: str, body: dict[str, Any], nth: int) -> None:
        if model.startswith("slow-"):
            await asyncio.sleep(_duration_s(model))
        error = _error_for(model, nth, self.stub)
        if error is not None:
            status, payload, extra = error
            await send_bytes(send, status, payload, extra)
            return
        stream = bool(body.get("stream"))
        if model == "malformed":
            payload = b"data: {not json\n\n" if stream else b"{not json"
            await send_bytes(send, 200, payload, content_type=b"text/event-stream" if stream else b"application/json")
            return
        completion = _completion(body, model, self.stub._reply_text(model, body))
        if not stream:
            await send_bytes(send, 200, json.dumps(completion).encode())
            return
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")],
            }
        )
        pause = _duration_s(model) if model.startswith("drip-") else 0.0
        for index, chunk in enumerate(_stream_chunks(completion, include_usage)):
            if pause and index:
                await asyncio.sleep(pause)
            await send({"type": "http.response.body", "body": b"data: " + json.dumps(chunk).encode() + b"\n\n", "more_body": True})
            if model == "disconnect" and index == 1:
                raise ConnectionAbortedError("stub: disconnect behaviour")
        await send({"type": "http.response.body", "body": b"data: [DONE]\n\n", "more_body": False})


class RunningStub:
    """The server thread; ``stop()`` shuts it down."""

    def __init__(self) -> None:
        self.stub = OpenAIStub()
        self._server = BackgroundServer(_App(self.stub))
        self.stub.base_url = f"http://127.0.0.1:{self._server.port}/v1"

    def stop(self) -> None:
        self._server.stop()


def start_openai_stub() -> RunningStub:
    """Start a stub outside pytest (benchmarks, scripts)."""
    return RunningStub()


@pytest.fixture(scope="session")
def openai_stub_server() -> Iterator[RunningStub]:
    running = RunningStub()
    yield running
    running.stop()


@pytest.fixture
def openai_stub(openai_stub_server: RunningStub) -> Iterator[OpenAIStub]:
    stub = openai_stub_server.stub
    stub.reset()
    yield stub
    stub.reset()
