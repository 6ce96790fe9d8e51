"""Which collector the demo sends to: one already running (its store wins), a
fresh one, or a clear refusal when something else answers at the address."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from console.commands.demo import demo
from console.demo import DemoError, DemoOptions, run_demo
from store.config import Settings
from tests.support.collector import RunningCollector


def test_uses_the_running_collector_and_its_store(collector: RunningCollector, tmp_path: Path) -> None:
    elsewhere = tmp_path / "not-this-store"
    settings = Settings(store=elsewhere, listen=collector.url.removeprefix("http://"))
    report = run_demo(settings, DemoOptions(traces=25, days=1, seed=3, live=True, live_seconds=1.2, live_rate=5))
    assert not report.started_collector
    assert report.store == collector.store
    assert report.prompts_dir == collector.store.resolve().parent / "llmops-demo" / "prompts"
    assert report.live_traces > 0
    assert report.stored is not None
    assert report.stored["traces"] == report.traces_sent == 25 + report.live_traces
    assert not elsewhere.exists()
    assert collector.stats()["service"] == "llmops-collector"  # still running: not the demo's to stop

    with pytest.raises(DemoError, match="already holds the demo traffic of --seed 3"):
        run_demo(settings, DemoOptions(traces=25, days=1, seed=3))


class _NotACollector(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        body = b'{"status": "ok", "service": "some-other-app"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def other_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotACollector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_refuses_when_something_else_answers(other_server: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(demo, ["--store", str(tmp_path / "store"), "--listen", other_server,
                                       "--traces", "5"])
    assert result.exit_code == 1
    assert "not an llmops collector" in result.output
    assert "--listen" in result.output
    assert not (tmp_path / "store").exists()
