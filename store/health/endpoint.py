"""Scraping one vLLM server: ``/health``, ``/metrics`` and ``/v1/models``.

``VllmEndpoint.scrape()`` never raises (cancellation aside): refused
connections, timeouts, HTTP errors and unreadable bodies all come back as an
``EndpointScrape`` with a ``state`` and an ``error`` string.

How the state is decided (``classify_state``):

- transport failure on ``/health`` (refused, timeout, reset): ``down``.
- ``vllm:server_draining`` is 1 in ``/metrics`` (servers started with
  ``--enable-graceful-shutdown`` expose it): ``draining``, whatever ``/health`` says.
- ``/health`` 200: ``up``.
- ``/health`` 503: vLLM's handler answers 503 with an empty body on
  ``EngineDeadError``; builds that also answer 503 while starting or draining
  say nothing more in the status. So: a body that mentions draining ->
  ``draining``; one that mentions warming/loading/starting -> ``warming``;
  otherwise ``down`` if this endpoint has been seen up since the scraper was
  made (the engine died), else ``warming`` (it has not come up yet). A server
  that is dead from the very start therefore reads as ``warming`` until it is
  seen up once; the error string always carries "HTTP 503".
- ``/health`` 404/405 (a server without the route): ``up`` if ``/metrics``
  answered 200, else ``down``.
- any other status: ``down``.

When the state is ``up`` but ``/metrics`` failed or held no vLLM series, the
state stays ``up`` and ``error`` says what was wrong with the metrics.

``metrics`` is the body parsed without the lines of vLLM families the console
never reads (``vllm.without_unread_families``): a third of the parsing.
"""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import Callable

import httpx
import orjson

from store.health.prometheus import MetricsSnapshot, parse_metrics
from store.health.vllm import VllmMetrics, without_unread_families

__all__ = [
    "EndpointState",
    "ModelInfo",
    "EndpointScrape",
    "HttpResult",
    "VllmEndpoint",
    "classify_state",
    "normalize_base_url",
]


class EndpointState(str, Enum):
    UP = "up"
    DOWN = "down"
    WARMING = "warming"
    DRAINING = "draining"


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One entry of ``/v1/models``."""

    id: str
    max_model_len: int | None = None
    root: str | None = None


@dataclass(frozen=True, slots=True)
class EndpointScrape:
    """One scrape of one server. ``time`` is UTC at the start of the scrape and
    ``monotonic`` the matching ``time.monotonic()`` (use it for rate windows).
    ``metrics``/``vllm`` are None when ``/metrics`` could not be read; ``models``
    is the last known ``/v1/models`` list."""

    target: str
    base_url: str
    time: datetime
    state: EndpointState
    error: str | None = None
    health_status: int | None = None
    metrics: MetricsSnapshot | None = None
    vllm: VllmMetrics | None = None
    models: tuple[ModelInfo, ...] = ()
    duration_s: float | None = None
    monotonic: float | None = None

    @property
    def up(self) -> bool:
        return self.state is EndpointState.UP


@dataclass(frozen=True, slots=True)
class HttpResult:
    """What one GET gave: a status and body, or a transport ``error``."""

    status: int | None = None
    text: str = ""
    error: str | None = None  # transport problem, status is None then


_WARMING_WORDS = ("warm", "loading", "starting", "initializ", "not ready")


def classify_state(
    health: HttpResult, metrics_status: int | None, draining: bool | None, seen_up: bool
) -> tuple[EndpointState, str | None]:
    """State and error from what ``/health`` and ``/metrics`` answered (see module doc)."""
    if health.error is not None:
        return EndpointState.DOWN, health.error
    if draining:
        return EndpointState.DRAINING, "draining (vllm:server_draining = 1)"
    status = health.status
    if status == 200:
        return EndpointState.UP, None
    body = health.text.lower()
    if status == 503:
        if "drain" in body:
            return EndpointState.DRAINING, "HTTP 503: draining"
        if any(word in body for word in _WARMING_WORDS):
            return EndpointState.WARMING, "HTTP 503: warming up"
        if seen_up:
            return EndpointState.DOWN, "HTTP 503: engine dead"
        return EndpointState.WARMING, "HTTP 503: not healthy yet (never seen up)"
    if status in (404, 405):
        if metrics_status == 200:
            return EndpointState.UP, None
        return EndpointState.DOWN, f"/health HTTP {status} and /metrics unavailable"
    return EndpointState.DOWN, f"/health HTTP {status}"


def normalize_base_url(url: str) -> str:
    """``host:8000`` -> ``http://host:8000``; trailing slashes dropped."""
    url = url.strip().rstrip("/")
    if "://" not in url:
        url = "http://" + url
    return url


class VllmEndpoint:
    """Async scraper for one vLLM server.

    ``client``: share one ``httpx.AsyncClient`` among endpoints (the poller
    does); if omitted the endpoint makes its own and ``aclose()`` closes it.
    ``timeout`` bounds each request in seconds. ``/v1/models`` is read when the
    list is unknown, after the server comes back up, and every
    ``models_every`` scrapes. Proxy settings from the environment are ignored
    (``trust_env=False``) so that a shell's ``HTTP_PROXY`` does not reroute scrapes.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 2.0,
        client: httpx.AsyncClient | None = None,
        models_every: int = 12,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.base_url = normalize_base_url(base_url)
        self.target = f"vllm:{self.base_url}"
        self.timeout = timeout
        self._client = client
        self._owns_client = client is None
        self._models_every = max(1, models_every)
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._models: tuple[ModelInfo, ...] = ()
        self._scrapes = 0
        self._seen_up = False
        self._last_state: EndpointState | None = None

    async def __aenter__(self) -> "VllmEndpoint":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout, trust_env=False)
        return self._client

    async def scrape(self) -> EndpointScrape:
        started = time.monotonic()
        at = self._clock()
        try:
            return await self._scrape(at, started)
        except Exception as exc:  # noqa: BLE001 - the contract is: never raise
            return EndpointScrape(
                self.target, self.base_url, at, EndpointState.DOWN,
                error=f"scrape failed: {type(exc).__name__}: {exc}",
                models=self._models, duration_s=time.monotonic() - started, monotonic=started,
            )

    async def _scrape(self, at: datetime, started: float) -> EndpointScrape:
        want_models = (
            not self._models or self._last_state is not EndpointState.UP or self._scrapes % self._models_every == 0
        )
        self._scrapes += 1
        requests = [self._get("/health"), self._get("/metrics")]
        if want_models:
            requests.append(self._get("/v1/models"))
        results = await asyncio.gather(*requests)
        health, metrics_fetch = results[0], results[1]
        if want_models and results[2].status == 200:
            self._models = _parse_models(results[2].text) or self._models

        snapshot: MetricsSnapshot | None = None
        vllm: VllmMetrics | None = None
        metrics_error: str | None = None
        if metrics_fetch.error is not None:
            metrics_error = f"metrics: {metrics_fetch.error}"
        elif metrics_fetch.status != 200:
            metrics_error = f"metrics: HTTP {metrics_fetch.status}"
        else:
            snapshot = parse_metrics(without_unread_families(metrics_fetch.text))
            vllm = VllmMetrics.from_snapshot(snapshot)
            metrics_error = _metrics_problem(snapshot, vllm)

        state, error = classify_state(health, metrics_fetch.status, vllm.draining if vllm else None, self._seen_up)
        if state is EndpointState.UP:
            self._seen_up = True
            error = metrics_error
        elif metrics_error and health.error is None:
            error = f"{error}; {metrics_error}"
        self._last_state = state
        return EndpointScrape(
            self.target, self.base_url, at, state, error, health.status, snapshot, vllm, self._models,
            duration_s=time.monotonic() - started, monotonic=started,
        )

    async def _get(self, path: str) -> HttpResult:
        try:
            async with asyncio.timeout(self.timeout + 1.0):  # a guard over httpx's per-phase timeouts
                response = await self._http().get(self.base_url + path, timeout=self.timeout)
            return HttpResult(response.status_code, response.text)
        except (httpx.TimeoutException, TimeoutError):
            return HttpResult(error=f"timeout after {self.timeout:g}s ({path})")
        except httpx.ConnectError as exc:
            return HttpResult(error=_connect_error(exc))
        except httpx.HTTPError as exc:
            return HttpResult(error=f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)


def _connect_error(exc: httpx.ConnectError) -> str:
    # httpx/anyio say "All connection attempts failed"; the cause says why.
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return f"cannot resolve host: {cause}"
        cause = cause.__cause__ or cause.__context__
    text = str(exc)
    if "refused" in text.lower():
        return "connection refused"
    return f"connect error: {text}" if text else "connect error"


def _metrics_problem(snapshot: MetricsSnapshot, vllm: VllmMetrics) -> str | None:
    if snapshot.empty:
        if snapshot.bad_lines:
            return f"metrics: unreadable body ({snapshot.bad_lines} bad lines)"
        return "metrics: empty body"
    if vllm.empty:
        return "metrics: no vllm: series"
    if snapshot.bad_lines:
        return f"metrics: {snapshot.bad_lines} unreadable lines skipped"
    return None


def _parse_models(text: str) -> tuple[ModelInfo, ...]:
    try:
        payload = orjson.loads(text)
    except orjson.JSONDecodeError:
        return ()
    entries = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(entries, list):
        return ()
    models = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            continue
        max_len = entry.get("max_model_len")
        root = entry.get("root")
        models.append(
            ModelInfo(
                entry["id"],
                max_len if isinstance(max_len, int) and not isinstance(max_len, bool) else None,
                root if isinstance(root, str) else None,
            )
        )
    return tuple(models)
