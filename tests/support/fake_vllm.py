"""A fake vLLM server: a real capture from tests/fixtures/vllm served with moving
counters, on 127.0.0.1. For tests, the health benchmark, and trying the health
pane by hand:

    python -m tests.support.fake_vllm --port 8000 --port 8001 --engines 2

``/metrics`` is the capture's text with every vLLM counter, histogram bucket,
``_count`` and ``_sum`` grown by ``rate x t`` (t = seconds since start, or what
``clock`` returns) and the gauges (running, waiting, KV cache) following slow
waves; ``/health`` and ``/v1/models`` answer as vLLM does. The histogram growth
follows a log-normal shape per family, so quantiles are believable (TTFT median
~0.15 s, ITL ~30 ms, e2e ~4 s, queue ~20 ms) and never go backwards.

``mode`` makes it misbehave: ``up``, ``down`` (503 on /health), ``warming``
(503 "loading"), ``draining``, ``garbage`` (/metrics is not exposition),
``no-metrics`` (/metrics 404), ``slow`` (every answer waits ``slow_s``).
``GET /fake/mode?m=down`` switches it from outside (curl, in a tmux trial).
"""

from __future__ import annotations

import argparse
import math
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vllm"
DEFAULT_FIXTURE = "metrics-datadog-mixed-v0.4.3-plus-v1-names.txt"
MODES = ("up", "down", "warming", "draining", "garbage", "no-metrics", "slow")

_LINE = re.compile(r"^(?P<name>vllm:[A-Za-z0-9_:]+)(?P<labels>\{[^}]*\})? (?P<value>\S+)$")
_LE = re.compile(r'le="([^"]+)"')

# per-second growth of counters (whole endpoint; split across engines)
COUNTER_RATES = {
    "vllm:prompt_tokens_total": 2400.0,
    "vllm:generation_tokens_total": 900.0,
    "vllm:prefix_cache_queries_total": 2400.0,
    "vllm:gpu_prefix_cache_queries_total": 2400.0,
    "vllm:prefix_cache_hits_total": 1000.0,
    "vllm:gpu_prefix_cache_hits_total": 1000.0,
}
REQUESTS_PER_S = 3.0
FINISH_SHARE = {"stop": 0.9, "length": 0.1}
# histogram family -> (median seconds, sigma of the log-normal)
LATENCY_SHAPES = {
    "vllm:time_to_first_token_seconds": (0.15, 0.9),
    "vllm:time_per_output_token_seconds": (0.03, 0.5),
    "vllm:inter_token_latency_seconds": (0.03, 0.5),
    "vllm:e2e_request_latency_seconds": (4.0, 0.7),
    "vllm:request_queue_time_seconds": (0.02, 1.2),
}


def _lognormal_cdf(x: float, median: float, sigma: float) -> float:
    if x <= 0:
        return 0.0
    if math.isinf(x):
        return 1.0
    return 0.5 * (1 + math.erf(math.log(x / median) / (sigma * math.sqrt(2))))


class MovingMetrics:
    """The body generator. ``engines``: 1 keeps the capture's series as they are;
    n > 1 repeats every vLLM series once per ``engine="i"`` label."""

    def __init__(self, text: str, engines: int = 1, phase: float = 0.0):
        self.engines = max(1, engines)
        self.phase = phase
        share = 1.0 / self.engines
        # per line: fixed text, or (prefix, value of t); decided once, so a body is cheap
        self._lines: list[str | tuple[str, Callable[[float], float]]] = []
        missing = [r for r in FINISH_SHARE if f'finished_reason="{r}"' not in text]
        for line in _with_reasons(text.splitlines(), missing):
            match = _LINE.match(line)
            if match is None:
                self._lines.append(line)
                continue
            copies = [match.group("labels") or ""]
            if self.engines > 1:
                inner = (match.group("labels") or "{}")[1:-1]
                copies = ["{" + ",".join(p for p in (f'engine="{i}"', inner) if p) + "}" for i in range(self.engines)]
            for labels in copies:
                try:
                    base = float(match.group("value"))
                except ValueError:
                    base = 0.0
                prefix = f"{match.group('name')}{labels} "
                value = self._value_of(match.group("name"), labels, base, share)
                self._lines.append(f"{prefix}{base!r}" if value is None else (prefix, value))

    def body(self, t: float) -> str:
        out = [line if isinstance(line, str) else f"{line[0]}{line[1](t)!r}" for line in self._lines]
        return "\n".join(out) + "\n"

    def _value_of(self, name: str, labels: str, base: float, share: float) -> Callable[[float], float] | None:
        """How the series moves with t, or None when it stays as captured."""
        phase = self.phase
        if name == "vllm:num_requests_running":
            return lambda t: float(round(max(0.0, 8 + 6 * math.sin((t + phase) / 20)) * share))
        if name == "vllm:num_requests_waiting":
            return lambda t: float(round(max(0.0, 4 * math.sin((t + phase) / 15)) * share))
        if name in ("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"):
            return lambda t: round(0.55 + 0.42 * math.sin((t + phase) / 30), 4)
        if name == "vllm:num_preemptions_total":
            return lambda t: base + math.floor(max(0.0, t - 40) / 10) * share  # one every 10 s after 40 s
        if name in COUNTER_RATES:
            rate = COUNTER_RATES[name] * share
            return lambda t: base + math.floor(rate * t)
        if name == "vllm:request_success_total":
            reason = re.search(r'finished_reason="([^"]+)"', labels)
            rate = REQUESTS_PER_S * FINISH_SHARE.get(reason.group(1) if reason else "", 0.0) * share
            return lambda t: base + math.floor(rate * t)
        for family, (median, sigma) in LATENCY_SHAPES.items():
            if not name.startswith(family):
                continue
            suffix, per_s = name[len(family):], REQUESTS_PER_S * share
            if suffix == "_bucket":
                le = _LE.search(labels)
                bound = math.inf if le is None or le.group(1) == "+Inf" else float(le.group(1))
                cdf = _lognormal_cdf(bound, median, sigma)
                return lambda t: base + round(math.floor(per_s * t) * cdf)
            if suffix == "_count":
                return lambda t: base + math.floor(per_s * t)
            if suffix == "_sum":
                mean = median * math.exp(sigma * sigma / 2)
                return lambda t: round(base + math.floor(per_s * t) * mean, 6)
        return None


def _with_reasons(lines: list[str], missing: list[str]) -> list[str]:
    """Captures often hold one finished_reason; add the others (from 0) so every
    reason the fake serves has a series."""
    out = []
    for line in lines:
        out.append(line)
        if line.startswith("vllm:request_success_total{") and missing:
            present = re.search(r'finished_reason="([^"]+)"', line)
            if present:
                for reason in missing:
                    copy = line.replace(present.group(0), f'finished_reason="{reason}"')
                    out.append(copy.rsplit(" ", 1)[0] + " 0.0")
                missing = []
    return out


MODELS_JSON = (
    '{"object":"list","data":[{"id":"%s","object":"model","created":1718140558,'
    '"owned_by":"vllm","root":"%s","parent":null,"max_model_len":2048,"permission":[]}]}'
)


class FakeVllm:
    """One fake server on 127.0.0.1 (``port=0``: any free port)."""

    def __init__(
        self,
        port: int = 0,
        *,
        fixture: str = DEFAULT_FIXTURE,
        engines: int = 1,
        phase: float = 0.0,
        clock: Callable[[], float] | None = None,
        model: str = "facebook/opt-125m",
    ) -> None:
        self.metrics = MovingMetrics((FIXTURES / fixture).read_text(encoding="ascii"), engines, phase)
        started = time.monotonic()
        self.clock = clock or (lambda: time.monotonic() - started)
        self.mode = "up"
        self.slow_s = 5.0
        self.model = model
        self.hits = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as vLLM's uvicorn does

            def setup(self) -> None:
                super().setup()
                # headers and body go out in separate writes: without this, Nagle and delayed
                # ACKs hold every keep-alive answer for ~40 ms
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                fake.hits += 1
                status, body, kind = fake.answer(self.path)
                data = body.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128

        self.server = Server(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(self, path: str) -> tuple[int, str, str]:
        parts = urlsplit(path)
        text = "text/plain; version=0.0.4; charset=utf-8"
        if parts.path == "/fake/mode":
            mode = parse_qs(parts.query).get("m", [""])[0]
            if mode not in MODES:
                return 400, f"mode must be one of {', '.join(MODES)}\n", text
            self.mode = mode
            return 200, f"mode {mode}\n", text
        if self.mode == "slow":
            time.sleep(self.slow_s)
        if parts.path == "/health":
            if self.mode == "down":
                return 503, "", text
            if self.mode == "warming":
                return 503, "model loading", text
            if self.mode == "draining":
                return 503, "server draining", text
            return 200, "", text
        if parts.path == "/metrics":
            if self.mode == "no-metrics":
                return 404, "Not Found", text
            if self.mode == "garbage":
                return 200, "<html><body>502 Bad Gateway</body></html>\n", "text/html"
            return 200, self.metrics.body(self.clock()), text
        if parts.path == "/v1/models":
            return 200, MODELS_JSON % (self.model, self.model), "application/json"
        return 404, "Not Found", text

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="fake vLLM servers with moving counters, on 127.0.0.1")
    ap.add_argument("--port", type=int, action="append", help="port (repeat for several servers; default 8000)")
    ap.add_argument("--engines", type=int, default=1, help="engines per server (engine label), default 1")
    ap.add_argument("--fixture", default=DEFAULT_FIXTURE, help="capture in tests/fixtures/vllm")
    args = ap.parse_args(argv)
    servers = [FakeVllm(p, fixture=args.fixture, engines=args.engines, phase=17.0 * i)
               for i, p in enumerate(args.port or [8000])]
    for s in servers:
        print(f"fake vLLM on {s.url} (GET {s.url}/fake/mode?m=down|warming|garbage|up ...)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        for s in servers:
            s.close()


if __name__ == "__main__":
    main()
