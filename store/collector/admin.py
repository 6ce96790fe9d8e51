"""``POST /v1/admin/reprice``: reprice a stored range through the collector's own
writer (a store has one writer; while a collector runs, that is the collector).

Body (JSON): ``{"since_us": int, "until_us": int | null, "pricing": {...} | null,
"dry_run": bool}``. ``pricing`` is the ``[pricing]`` section to price with; the CLI
sends the config it read, which is newer than the collector's when the user just
edited prices. Without it the collector's own pricing is used. The rewrite runs in
a thread; one at a time (409 while another runs). The answer is the report
(``store.segments.reprice.RepriceReport.to_json``) plus ``collector_pricing_differs``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import orjson

from store.pricing.config import PricingConfig
from store.pricing.validation import ConfigError

_busy = threading.Lock()


async def reprice(app: Any, headers: dict[str, str], receive: Any, send: Any) -> None:
    from store.collector.server import _json
    from store.segments.reprice import reprice_store

    body = await app._read_body(headers, receive, send)
    if body is None:
        return
    try:
        doc = orjson.loads(body or b"{}")
        since_us = int(doc["since_us"])
        until_us = int(doc.get("until_us") or time.time() * 1_000_000)
        own = dict(app.pool.settings.pricing or {})
        pricing = doc.get("pricing")
        pricer = PricingConfig.from_dict(own if pricing is None else pricing).pricer()
        dry_run = bool(doc.get("dry_run", False))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, ConfigError) as e:
        await _json(send, 400, {"error": f"expected {{since_us, until_us?, pricing?, dry_run?}}: {e}"})
        return
    if until_us <= since_us:
        await _json(send, 400, {"error": "until_us must be after since_us"})
        return
    writer = app.core.writer
    if writer is None:
        await _json(send, 503, {"error": "the collector has not opened its store yet"})
        return
    if not _busy.acquire(blocking=False):
        await _json(send, 409, {"error": "a reprice is already running; try again when it ends"})
        return
    try:
        report = await asyncio.to_thread(reprice_store, writer, pricer, since_us, until_us, dry_run)
    except RuntimeError as e:
        await _json(send, 409, {"error": str(e)})
        return
    finally:
        _busy.release()
    out = report.to_json()
    out["collector_pricing_differs"] = pricing is not None and pricing != own
    await _json(send, 200, out)
