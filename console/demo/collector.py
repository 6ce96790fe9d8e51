"""Finding the collector the demo sends to, or starting one in this process.

A collector proves itself at ``GET /healthz`` (``{"service": "llmops-collector"}``).
Nothing listening: the demo runs its own for the duration of the command.
Something else listening: the demo stops with a message saying so.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from store.collector.server import SERVICE
from store.config import Settings

PROBE_TIMEOUT_S = 2.0


class DemoError(Exception):
    """The demo cannot go on; the message says why and what to do."""


@dataclass
class CollectorHandle:
    url: str
    store: Path  # where the data lands (the running collector's store, when it says)
    embedded: Any = None  # store.collector.runner.Collector when the demo started it

    @property
    def started_here(self) -> bool:
        return self.embedded is not None

    def stop(self) -> None:
        """Stop the embedded collector: it publishes everything it acknowledged."""
        if self.embedded is not None:
            self.embedded.stop()
            self.embedded = None


def probe(url: str) -> dict[str, Any] | None:
    """The collector's /healthz document; None when nothing listens there."""
    try:
        r = httpx.get(url + "/healthz", timeout=PROBE_TIMEOUT_S)
    except httpx.ConnectError:
        return None
    except httpx.TimeoutException:
        raise DemoError(f"{url} accepts connections but did not answer GET /healthz within {PROBE_TIMEOUT_S:.0f} s, "
                        "so it is not a working llmops collector. Stop whatever listens there, or choose another "
                        "address with --listen HOST:PORT.") from None
    except httpx.HTTPError as e:
        raise DemoError(f"something else listens at {url} ({type(e).__name__}: {e}); it is not an llmops "
                        "collector. Stop it, or choose another address with --listen HOST:PORT.") from None
    try:
        doc = r.json()
    except ValueError:
        doc = None
    if r.status_code == 200 and isinstance(doc, dict) and doc.get("service") == SERVICE:
        return doc
    said = r.text.strip().replace("\n", " ")[:120] or "an empty body"
    raise DemoError(f"something else answers at {url}: GET /healthz returned HTTP {r.status_code} ({said}), "
                    f"not an llmops collector. Stop it, or choose another address with --listen HOST:PORT.")


def _wait_healthy(url: str, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if probe(url) is not None:
                return
        except DemoError:
            pass
        time.sleep(0.05)
    raise DemoError(f"the collector started at {url} did not become healthy within {timeout_s:.0f} s")


def connect(settings: Settings) -> CollectorHandle:
    """The collector at ``settings.listen``, or a new one in this process (one decoder worker)."""
    url = settings.collector_url
    doc = probe(url)
    if doc is not None:
        return CollectorHandle(url, Path(doc.get("store") or settings.store))
    from store.collector.auth import InsecureBind
    from store.collector.runner import AddressInUse, Collector
    from store.segments.lock import StoreLocked
    from store.segments.manifest import StoreError

    try:
        collector = Collector(settings, workers=1).start_in_thread()
    except (AddressInUse, StoreLocked, InsecureBind, StoreError) as e:
        raise DemoError(f"no collector answers at {settings.listen} and none could be started: {e}") from None
    port = collector.address.rsplit(":", 1)[-1]
    url = url.rsplit(":", 1)[0] + ":" + port  # the real port, when asked for port 0
    try:
        _wait_healthy(url)
    except DemoError:
        collector.stop()
        raise
    return CollectorHandle(url, Path(settings.store), collector)
