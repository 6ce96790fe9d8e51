"""Alert delivery to webhooks: one JSON POST per alert per URL.

Delivery never raises into the caller: every (alert, target) gets a
``DeliveryResult`` and failures are logged (with the URL's path hidden, since
Slack-style webhook URLs carry their secret there). Network errors, timeouts, 408/425/429
and 5xx are retried ``retries`` times with exponential backoff (honouring a
numeric ``Retry-After``, capped at ``MAX_BACKOFF_S``); other 4xx answers are final.

The body is the ALERTS row (ISO time, ``details`` as an object) plus ``text``, a
one-line summary that Slack and Mattermost incoming webhooks display as is.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from store.alerts.engine import SEVERITIES, Alert
from store.pricing.validation import as_mapping, fail, fields_of, get_choice, get_number, get_str

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 30.0
_RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
# transient transport failures; a bad URL or protocol (also a TransportError) is final
_RETRY_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


@dataclass(frozen=True)
class WebhookTarget:
    url: str  # http(s) URL that receives the POSTs
    headers: Mapping[str, str] = field(default_factory=dict)  # e.g. an Authorization header
    timeout_s: float = 5.0  # per attempt
    retries: int = 2  # extra attempts after the first
    backoff_s: float = 0.5  # first wait; doubles per retry
    min_severity: str = "info"  # alerts below this severity are not sent here

    @classmethod
    def from_dict(cls, data: Any, path: str) -> WebhookTarget:
        """``{"url": "https://hooks.example/x", "headers": {...}, "timeout_s": 5,
        "retries": 2, "backoff_s": 0.5, "min_severity": "warning"}``"""
        data = fields_of(cls, data, path)
        url = get_str(data, "url", path)
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            fail(f"{path}.url", f"expected an http(s) URL, got {url!r}")
        headers = as_mapping(data.get("headers") or {}, f"{path}.headers")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
            fail(f"{path}.headers", "header names and values must be strings")
        retries = get_number(data, "retries", path, 2, minimum=0)
        if not isinstance(retries, int):
            fail(f"{path}.retries", f"expected a whole number, got {retries!r}")
        return cls(
            url=url,
            headers=dict(headers),
            timeout_s=float(get_number(data, "timeout_s", path, 5.0, positive=True)),
            retries=retries,
            backoff_s=float(get_number(data, "backoff_s", path, 0.5, minimum=0)),
            min_severity=get_choice(data, "min_severity", path, SEVERITIES, "info"),
        )

    def wants(self, alert: Alert) -> bool:
        return SEVERITIES.index(alert.severity) >= SEVERITIES.index(self.min_severity)


@dataclass(frozen=True)
class DeliveryResult:
    url: str
    alert_id: str
    state: str  # the alert's state: firing, resolved
    ok: bool
    status: int | None  # the last HTTP status, None when no answer came
    attempts: int
    error: str | None = None


def alert_payload(alert: Alert) -> dict[str, Any]:
    body = {**alert.to_row(), "time": alert.time.isoformat(), "details": dict(alert.details)}
    mark = "RESOLVED" if alert.state == "resolved" else alert.severity.upper()
    body["text"] = f"[{mark}] {alert.rule} {alert.subject}: {alert.message}".strip()
    return body


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…" if parts.path not in ("", "/") else url


def _retry_delay(target: WebhookTarget, attempt: int, response: httpx.Response | None) -> float:
    delay = target.backoff_s * (2**attempt)
    if response is not None:
        retry_after = response.headers.get("retry-after", "")
        if retry_after.strip().isdigit():
            delay = max(delay, float(retry_after))
    return min(delay, MAX_BACKOFF_S)


class _Attempts:
    """The retry policy for one (target, alert), without I/O: after each attempt,
    ``record`` answers how long to wait before the next, or the final result."""

    def __init__(self, target: WebhookTarget, alert: Alert) -> None:
        self.target, self.alert = target, alert
        self.body = alert_payload(alert)
        self.attempt = 0

    def record(self, response: httpx.Response | None, error: Exception | None) -> float | DeliveryResult:
        self.attempt += 1
        if error is not None:
            ok, retry, error_text = False, isinstance(error, _RETRY_ERRORS), f"{type(error).__name__}: {error}"
        elif response is not None and response.is_success:
            ok, retry, error_text = True, False, None
        else:
            assert response is not None
            ok, retry, error_text = False, response.status_code in _RETRY_STATUSES, f"HTTP {response.status_code}"
        if retry and self.attempt <= self.target.retries:
            return _retry_delay(self.target, self.attempt - 1, response)
        if not ok:
            log.warning(
                "webhook %s: alert %s (%s) not delivered after %d attempt(s): %s",
                _redacted(self.target.url), self.alert.alert_id, self.alert.state, self.attempt, error_text,
            )  # fmt: skip
        status = response.status_code if response is not None else None
        alert = self.alert
        return DeliveryResult(self.target.url, alert.alert_id, alert.state, ok, status, self.attempt, error_text)


def _post_one(
    client: httpx.Client, target: WebhookTarget, alert: Alert, sleep: Callable[[float], None]
) -> DeliveryResult:
    attempts = _Attempts(target, alert)
    while True:
        response, error = None, None
        try:
            headers = dict(target.headers)
            response = client.post(target.url, json=attempts.body, headers=headers, timeout=target.timeout_s)
        except Exception as exc:  # anything at all: delivery must not break the caller
            error = exc
        step = attempts.record(response, error)
        if isinstance(step, DeliveryResult):
            return step
        sleep(step)


def deliver(
    alerts: Iterable[Alert],
    targets: Iterable[WebhookTarget],
    *,
    client: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[DeliveryResult]:
    """POST each alert to each target that wants it, in order; blocking."""
    targets = list(targets)
    own_client = client is None
    client = client or httpx.Client()
    try:
        return [
            _post_one(client, target, alert, sleep) for alert in alerts for target in targets if target.wants(alert)
        ]
    finally:
        if own_client:
            client.close()


async def _post_one_async(client: httpx.AsyncClient, target: WebhookTarget, alert: Alert) -> DeliveryResult:
    attempts = _Attempts(target, alert)
    while True:
        response, error = None, None
        try:
            headers = dict(target.headers)
            response = await client.post(target.url, json=attempts.body, headers=headers, timeout=target.timeout_s)
        except Exception as exc:  # anything at all: delivery must not break the caller
            error = exc
        step = attempts.record(response, error)
        if isinstance(step, DeliveryResult):
            return step
        await asyncio.sleep(step)


async def deliver_async(
    alerts: Iterable[Alert],
    targets: Iterable[WebhookTarget],
    *,
    client: httpx.AsyncClient | None = None,
) -> list[DeliveryResult]:
    """``deliver`` for an event loop (the UI); targets are posted to concurrently,
    each target's alerts in order."""
    targets = list(targets)
    alerts = list(alerts)
    own_client = client is None
    client = client or httpx.AsyncClient()

    async def to_target(target: WebhookTarget) -> list[DeliveryResult]:
        return [await _post_one_async(client, target, alert) for alert in alerts if target.wants(alert)]

    try:
        per_target = await asyncio.gather(*(to_target(target) for target in targets))
    finally:
        if own_client:
            await client.aclose()
    return [result for results in per_target for result in results]
