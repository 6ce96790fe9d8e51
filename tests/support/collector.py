"""A real collector on loopback for tests: in-process (fast) or as a subprocess
(for crash tests), on a free port, over a store in a tmp dir."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from store.collector.runner import Collector
from store.config import Settings

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            r = httpx.get(url + "/healthz", timeout=1.0)
            if r.status_code == 200:
                return r.json()
        except httpx.HTTPError as e:
            last = e
        time.sleep(0.05)
    raise TimeoutError(f"collector at {url} did not come up: {last}")


def settings_for(store: Path, port: int | None = None, **kw: Any) -> Settings:
    s = Settings(store=store, listen=f"127.0.0.1:{port or free_port()}")
    s.flush_interval = kw.pop("flush_interval", 0.1)
    for k, v in kw.items():
        setattr(s, k, v)
    return s


@dataclass
class RunningCollector:
    store: Path
    url: str
    collector: Collector | None = None
    proc: subprocess.Popen | None = None
    settings: Settings | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def traces_url(self) -> str:
        return self.url + "/v1/traces"

    def stats(self, headers: dict[str, str] | None = None) -> dict[str, Any]:
        token = self.settings.token if self.settings is not None else None
        auth = {"authorization": f"Bearer {token}"} if token else {}
        return httpx.get(self.url + "/v1/stats", timeout=5, headers={**auth, **(headers or {})}).json()

    def wait_stored(self, n: int, timeout: float = 30.0) -> None:
        """Until at least n spans are published (queryable)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.stats()["spans_stored"] >= n:
                return
            time.sleep(0.05)
        raise TimeoutError(f"only {self.stats()['spans_stored']} of {n} spans stored")

    def stop(self) -> None:
        if self.collector is not None:
            self.collector.stop()
            self.collector = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


def start_inprocess(store: Path, workers: int = 0, **kw: Any) -> RunningCollector:
    """Decoders inline (workers=0) unless asked: quick to start, same code path."""
    s = settings_for(store, **kw)
    c = Collector(s, workers=workers).start_in_thread()
    rc = RunningCollector(store=store, url=f"http://{c.address}", collector=c, settings=s)
    wait_healthy(rc.url)
    return rc


def start_subprocess(store: Path, port: int | None = None, workers: int = 1,
                     env: dict[str, str] | None = None) -> RunningCollector:
    port = port or free_port()
    e = dict(os.environ, PYTHONPATH=str(REPO), LLMOPS_FLUSH_INTERVAL="0.1", **(env or {}))
    proc = subprocess.Popen(
        [sys.executable, "-m", "store.collector", "--store", str(store), "--listen", f"127.0.0.1:{port}",
         "--workers", str(workers)],
        env=e, cwd=str(REPO), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    rc = RunningCollector(store=store, url=f"http://127.0.0.1:{port}", proc=proc)
    try:
        wait_healthy(rc.url)
    except TimeoutError:
        proc.kill()
        out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
        raise TimeoutError(f"collector subprocess did not start:\n{out}") from None
    return rc
