"""Helpers for the health tests: fixture files and a stub vLLM server.

(A uniquely named module rather than conftest.py, so test modules can import it.)

The stub is a real HTTP server on 127.0.0.1 (port 0, stdlib, in a thread). Tests
set what it answers (status, body, delay per path) and change the body between
scrapes.
"""

from __future__ import annotations

import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "vllm"


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="ascii")


def uncomment(text: str) -> str:
    """The ``sed -n 's/^# //p'`` recovery for a dump whose every line is commented:
    keep only lines that start with ``# ``, without that prefix."""
    return "".join(line[2:] for line in text.splitlines(keepends=True) if line.startswith("# "))


def set_sample(text: str, series: str, value: float) -> str:
    """Replace the value of the exposition line that starts with ``series`` exactly
    (name plus its label block), e.g. ``vllm:prompt_tokens_total{model_name="m"}``."""
    pattern = re.compile(r"^" + re.escape(series) + r" \S+$", re.MULTILINE)
    new, count = pattern.subn(f"{series} {value!r}", text)
    assert count == 1, f"{series!r} found {count} times"
    return new


def add_line_after(text: str, series: str, line: str) -> str:
    """Insert ``line`` after the line that starts with ``series``."""
    pattern = re.compile(r"^(" + re.escape(series) + r" \S+)$", re.MULTILINE)
    new, count = pattern.subn(lambda m: m.group(1) + "\n" + line, text)
    assert count == 1
    return new


MODELS_JSON = (
    '{"object":"list","data":[{"id":"facebook/opt-125m","object":"model","created":1718140558,'
    '"owned_by":"vllm","root":"facebook/opt-125m","parent":null,"max_model_len":2048,"permission":[]}]}'
)


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a handler still sleeping must not hold up close()
    request_queue_size = 128  # the default backlog of 5 drops bursts of connects (1 s SYN retry)


class StubVllm:
    """A fake vLLM HTTP server. Per path: ``responses[path] = (status, body)`` and
    ``delays[path] = seconds``. Thread-safe enough for tests (whole-value swaps)."""

    def __init__(self) -> None:
        self.responses: dict[str, tuple[int, str]] = {
            "/health": (200, ""),
            "/metrics": (200, ""),
            "/v1/models": (200, MODELS_JSON),
        }
        self.delays: dict[str, float] = {}
        self.hits: dict[str, int] = {}
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                stub.hits[self.path] = stub.hits.get(self.path, 0) + 1
                delay = stub.delays.get(self.path)
                if delay:
                    time.sleep(delay)
                status, body = stub.responses.get(self.path, (404, "Not Found"))
                data = body.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain; version=0.0.4")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and left

            def log_message(self, *args: object) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def set_metrics(self, text: str, status: int = 200) -> None:
        self.responses["/metrics"] = (status, text)

    def set_health(self, status: int, body: str = "") -> None:
        self.responses["/health"] = (status, body)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
