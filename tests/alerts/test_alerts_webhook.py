"""Webhook delivery against a real HTTP receiver on 127.0.0.1 (port 0)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from store.alerts.engine import Alert
from store.alerts.webhook import WebhookTarget, alert_payload, deliver, deliver_async
from store.pricing.validation import ConfigError

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class Receiver:
    """Records each POST; answers with the queued statuses, then 200."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict, dict]] = []
        self.statuses: list[int | tuple[int, dict]] = []
        self.delay_s = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.requests.append((self.path, dict(self.headers), body))
                time.sleep(receiver.delay_s)
                status, headers = receiver.statuses.pop(0) if receiver.statuses else 200, {}
                if isinstance(status, tuple):
                    status, headers = status
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def alert(state: str = "firing", severity: str = "warning") -> Alert:
    return Alert("a1", T0, "budget:team", "cost", severity, state, "user:alice", "$85 of $100 this month", 85.0, 100.0, {"fraction": 0.85})  # type: ignore[arg-type]


def no_sleep(waits: list[float]):
    return waits.append


def test_posts_one_json_body_per_alert(receiver):
    target = WebhookTarget(f"{receiver.url}/hook", headers={"Authorization": "Bearer t0k"})
    results = deliver([alert(), alert("resolved")], [target])
    assert [(r.ok, r.status, r.attempts, r.state) for r in results] == [(True, 200, 1, "firing"), (True, 200, 1, "resolved")]
    path, headers, body = receiver.requests[0]
    assert path == "/hook" and headers["Authorization"] == "Bearer t0k"
    assert body == alert_payload(alert())
    assert body["time"] == "2025-03-01T12:00:00+00:00" and body["details"] == {"fraction": 0.85}
    assert body["text"] == "[WARNING] budget:team user:alice: $85 of $100 this month"
    assert receiver.requests[1][2]["text"].startswith("[RESOLVED]")


def test_retries_server_errors_with_backoff(receiver):
    receiver.statuses = [503, 500]
    waits: list[float] = []
    [result] = deliver([alert()], [WebhookTarget(receiver.url, retries=2, backoff_s=0.1)], sleep=no_sleep(waits))
    assert (result.ok, result.attempts, result.status) == (True, 3, 200)
    assert waits == pytest.approx([0.1, 0.2])


def test_honours_retry_after(receiver):
    receiver.statuses = [(429, {"Retry-After": "3"})]
    waits: list[float] = []
    [result] = deliver([alert()], [WebhookTarget(receiver.url, backoff_s=0.1)], sleep=no_sleep(waits))
    assert result.ok and waits == [3.0]


def test_client_errors_are_final(receiver):
    receiver.statuses = [404]
    [result] = deliver([alert()], [WebhookTarget(receiver.url)], sleep=no_sleep([]))
    assert (result.ok, result.attempts, result.status, result.error) == (False, 1, 404, "HTTP 404")


def test_gives_up_after_retries_and_never_raises(receiver, caplog):
    receiver.statuses = [500, 500, 500]
    [result] = deliver([alert()], [WebhookTarget(f"{receiver.url}/secret-token", retries=2)], sleep=no_sleep([]))
    assert (result.ok, result.attempts, result.status) == (False, 3, 500)
    assert "not delivered after 3 attempt(s)" in caplog.text
    assert "secret-token" not in caplog.text  # webhook URLs carry secrets in their path


def test_unreachable_and_slow_receivers(receiver):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    refused = WebhookTarget(f"http://127.0.0.1:{closed_port}/", retries=1)
    receiver.delay_s = 0.5
    slow = WebhookTarget(receiver.url, timeout_s=0.1, retries=1)
    results = deliver([alert()], [refused, slow], sleep=no_sleep([]))
    assert [(r.ok, r.attempts, r.status) for r in results] == [(False, 2, None), (False, 2, None)]
    assert results[0].error.startswith("ConnectError") and "Timeout" in results[1].error


def test_bad_url_is_a_result_not_an_exception():
    [result] = deliver([alert()], [WebhookTarget("ftp://127.0.0.1/x")], sleep=no_sleep([]))
    assert not result.ok and result.attempts == 1 and "UnsupportedProtocol" in result.error


def test_min_severity_filters(receiver):
    target = WebhookTarget(receiver.url, min_severity="critical")
    results = deliver([alert(severity="warning"), alert(severity="critical")], [target])
    assert len(results) == 1 and len(receiver.requests) == 1


async def test_async_delivery(receiver):
    receiver.statuses = [502]
    targets = [WebhookTarget(f"{receiver.url}/a", backoff_s=0.01), WebhookTarget(f"{receiver.url}/b", backoff_s=0.01)]
    results = await deliver_async([alert(), alert("resolved")], targets)
    assert len(results) == 4 and all(r.ok for r in results)
    paths = sorted(path for path, _, _ in receiver.requests)
    assert paths in (["/a", "/a", "/a", "/b", "/b"], ["/a", "/a", "/b", "/b", "/b"])  # the one 502 was retried


def test_target_from_dict():
    target = WebhookTarget.from_dict({"url": "https://hooks.example/x", "retries": 3, "min_severity": "critical"}, "webhooks[0]")
    assert (target.retries, target.min_severity, target.timeout_s) == (3, "critical", 5.0)
    with pytest.raises(ConfigError, match=r"webhooks\[0\].url: expected an http\(s\) URL"):
        WebhookTarget.from_dict({"url": "hooks.example/x"}, "webhooks[0]")
    with pytest.raises(ConfigError, match=r"webhooks\[0\].min_severity: expected one of info, warning, critical"):
        WebhookTarget.from_dict({"url": "http://h/x", "min_severity": "loud"}, "webhooks[0]")
    with pytest.raises(ConfigError, match=r"webhooks\[0\].retries: expected a whole number"):
        WebhookTarget.from_dict({"url": "http://h/x", "retries": 1.5}, "webhooks[0]")
