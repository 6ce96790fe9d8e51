"""Finding the collector at the configured address, or starting one in-process."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any


from store.config import Settings

log = logging.getLogger(__name__)

SERVICE = "llmops-collector"


@dataclass
class Probe:
    state: str  # ours, free, foreign
    detail: str = ""
    info: dict[str, Any] | None = None


def probe(url: str, timeout: float = 1.0, token: str | None = None) -> Probe:
    import httpx

    headers = {"authorization": f"Bearer {token}"} if token else {}
    try:
        r = httpx.get(url + "/healthz", timeout=timeout, headers=headers)
    except httpx.ConnectError:
        return Probe("free")
    except httpx.HTTPError as e:
        return Probe("foreign", f"{type(e).__name__}: {e}")
    try:
        doc = r.json()
    except ValueError:
        doc = None
    if r.status_code == 200 and isinstance(doc, dict) and doc.get("service") == SERVICE:
        return Probe("ours", info=doc)
    server = r.headers.get("server", "")
    return Probe("foreign", f"HTTP {r.status_code}{' from ' + server if server else ''}")


@dataclass
class CollectorLink:
    """How the console reaches its collector; ``label`` is what the status bar says."""

    settings: Settings
    mode: str = "none"  # external, starting, embedded, unavailable
    label: str = "collector: -"
    embedded: Any = None

    @property
    def url(self) -> str:
        return self.settings.collector_url

    def connect(self, start_embedded: bool = True) -> "CollectorLink":
        p = probe(self.url, token=self.settings.token)
        if p.state == "ours":
            info = p.info or {}
            if info.get("store") and str(info["store"]) != str(self.settings.store):
                self.mode, self.label = "external", f"collector {self.settings.listen} (writes {info['store']})"
            else:
                self.mode, self.label = "external", f"collector {self.settings.listen}"
            return self
        if p.state == "foreign":
            self.mode = "unavailable"
            self.label = f"{self.settings.listen} is taken by something else ({p.detail}); read-only"
            return self
        if not start_embedded:
            self.mode, self.label = "unavailable", f"no collector at {self.settings.listen}; read-only"
            return self
        self.mode, self.label = "starting", f"starting the embedded collector on {self.settings.listen}…"
        return self

    def start_embedded(self) -> None:
        """Start the collector in this process (called after the console's first paint,
        so the list shows at once; blocking, run it in a thread)."""
        if self.mode != "starting":
            return
        try:
            from store.collector.runner import Collector

            self.embedded = Collector(self.settings, workers=1).start_in_thread()
            self.mode, self.label = "embedded", f"embedded collector {self.embedded.address}"
        except Exception as e:  # the console still opens, read-only, and says why
            log.warning("could not start the embedded collector: %s", e)
            self.mode, self.label = "unavailable", f"collector not started: {e}"

    def stop(self) -> None:
        if self.embedded is not None:
            self.embedded.stop()
            self.embedded = None

    async def stats(self, client: Any) -> dict[str, Any] | None:
        import httpx

        if self.mode == "unavailable":
            return None
        headers = {"authorization": f"Bearer {self.settings.token}"} if self.settings.token else {}
        try:
            r = await client.get(self.url + "/v1/stats", timeout=1.0, headers=headers)
            return r.json() if r.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            return None
