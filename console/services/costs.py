"""Cost questions on behalf of the costs pane and the CLI (always called from a worker
thread or a command; no Textual here).

The explorer's numbers come from ``store.query.costs.CostQueries.explore``; the pane
draws its report and ``export`` writes the same report's rows, so the two agree.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Callable

import polars as pl

from store.alerts.cost_settings import CostAlertSettings
from store.alerts.engine import Condition
from store.config import Settings
from store.pricing.config import PricingConfig
from store.pricing.pricer import Pricer
from store.pricing.validation import ConfigError
from store.query.cost_audit import AuditReport, CostAudit, FlaggedReport, alert_log
from store.query.cost_cache import HotSpans
from store.query.cost_rollup import RollupFiles
from store.query.costs import BUCKETS, CostQueries, CostQuery, CostReport, Superseded, dimension, first_span_us
from store.query.filters import parse_when
from store.query.reader import StoreReader

RANGES: dict[str, int] = {"24h": 86_400, "7d": 7 * 86_400, "30d": 30 * 86_400, "90d": 90 * 86_400}
RANGE_BUCKET = {"24h": "hour", "7d": "day", "30d": "day", "90d": "week"}


def parse_time(value: str, now: float) -> int:
    """A duration back from ``now`` (``30d``, ``12h``) or a date (``2026-11-01``), in µs."""
    return parse_when(value, now)


@dataclass
class BudgetStatus:
    conditions: list[Condition]  # every budget and rule subject, active or not
    error: str | None = None  # the [budgets] section could not be read


class CostsService:
    def __init__(self, settings: Settings, reader: StoreReader | None = None,
                 now: Callable[[], float] = time.time, hot: bool = False, rollup_files: bool = False):
        """``hot``: keep a hot copy of the sealed segments' cost columns (``HotSpans``),
        warmed in the background, for a console that asks many questions; a one-shot
        command reads Parquet, and with ``rollup_files`` the sealed segments' daily
        rollups from the user's cache directory (``RollupFiles``; written the first time)."""
        self.settings = settings
        self.reader = reader or StoreReader(Path(settings.store), threads=2)
        self.now = now
        self.pricing_error: str | None = None
        try:
            pricer = PricingConfig.from_dict(settings.pricing).pricer()
        except ConfigError as e:  # shown in the pane; prices fall back to LiteLLM's map alone
            self.pricing_error = f"[pricing] {e}"
            pricer = Pricer()
        self.hot = HotSpans(self.reader) if hot else None
        self.queries = CostQueries(self.reader, pricer, self.hot, RollupFiles(self.reader) if rollup_files else None)
        self.audits = CostAudit(self.queries)
        self._warming: threading.Thread | None = None
        self._inflight: dict[str, object] = {}  # kind of question -> the newest one's token
        self._lock = threading.Lock()

    def warm(self) -> None:
        """Bring the hot copy up to date with the manifest, in the background, then what
        every segment's questions need once (GPU-time summaries, flagged-span
        candidates), so that a range switch finds them ready."""
        if self.hot is None or (self._warming is not None and self._warming.is_alive()):
            return
        self._warming = threading.Thread(target=self._warm, name="costs-hot-copy", daemon=True)
        self._warming.start()

    def _warm(self) -> None:
        assert self.hot is not None
        self.hot.sync()
        first = first_span_us(self.reader)
        if first is None or self.hot.closed:
            return
        now_us = int(self.now() * 1_000_000)
        try:
            self.queries.gpu_prices(first, now_us)
            self.audits.flagged(CostQuery(first, max(now_us, first + 1), "day", ()))
        except Exception:  # noqa: BLE001 (an optimization only: the questions compute what is missing)
            pass

    def close(self) -> None:
        if self.hot is not None:
            self.hot.close()

    def _latest_only(self, kind: str, ask: Callable[[Callable[[], bool]], Any]) -> Any:
        """``ask(superseded)``, where ``superseded()`` turns true once a newer question of
        the same kind has come in: the work checks it between its steps, so a user flicking
        through group-bys does not queue up scans (a statement already running finishes).
        A superseded question raises ``Superseded``."""
        token = object()
        with self._lock:
            self._inflight[kind] = token

        def superseded() -> bool:
            return self._inflight.get(kind) is not token

        result = ask(superseded)
        if superseded():
            raise Superseded(kind)
        return result

    # -- questions -----------------------------------------------------------------------
    def query(self, range_key: str, bucket: str, by: tuple[str, ...],
              where: tuple[tuple[str, str | None], ...] = ()) -> CostQuery:
        """The last ``range_key`` (24h, 7d, 30d, 90d) up to now."""
        now_us = int(self.now() * 1_000_000)
        return CostQuery(now_us - RANGES[range_key] * 1_000_000, now_us, bucket, by, where)

    def query_between(self, since: str, until: str | None, bucket: str, by: tuple[str, ...]) -> CostQuery:
        now = self.now()
        until_us = parse_time(until, now) if until else int(now * 1_000_000)
        return CostQuery(parse_time(since, now), until_us, bucket, by)

    def explore(self, q: CostQuery, ordered: bool = False) -> CostReport:
        """``ordered``: the rows come sorted (for an export: DuckDB sorts them faster than polars)."""
        return self._latest_only("explore", lambda superseded: self.queries.explore(q, superseded, ordered))

    def export(self, report: CostReport, path: Path, fmt: str) -> int:
        from console.export import write_rows

        return write_rows(report.export_frame(), path, fmt)

    def audit(self, q: CostQuery) -> AuditReport:
        return self._latest_only("audit", lambda superseded: self.audits.audit(q))

    def flagged(self, q: CostQuery) -> FlaggedReport:
        return self._latest_only("flagged", lambda superseded: self.audits.flagged(q))

    def alerts(self, limit: int = 200) -> pl.DataFrame:
        return alert_log(self.reader, None, limit)

    def budgets(self) -> BudgetStatus:
        """Where every budget and rule stands now, as the collector's job sees it."""
        from store.collector.jobs.cost_alerts_job import evaluate_spend

        try:
            settings = CostAlertSettings.from_section(self.settings.budgets)
        except ConfigError as e:
            return BudgetStatus([], f"[budgets] {e}")
        if not settings.enabled:
            return BudgetStatus([])
        return BudgetStatus(evaluate_spend(self.queries, settings, datetime.fromtimestamp(self.now(), UTC)))


# -- repricing ---------------------------------------------------------------------------------

@dataclass
class RepriceOutcome:
    report: Any  # store.segments.reprice.RepriceReport
    via: str  # "the collector at HOST:PORT" or "the store directly"
    collector_pricing_differs: bool = False


def reprice(settings: Settings, since_us: int, until_us: int, dry_run: bool = False) -> RepriceOutcome:
    """Reprice through the store's single writer: the running collector's (over its
    admin endpoint) when one holds the store, else our own under the writer lock."""
    import httpx  # here: the one-shot export does not need it (a tenth of a second to import)

    from store.segments.lock import StoreLocked, WriterLock, holder_info
    from store.segments.reprice import RepriceReport, reprice_store
    from store.segments.writer import SegmentWriter

    pricer = PricingConfig.from_dict(settings.pricing).pricer()
    lock = WriterLock(Path(settings.store))
    try:
        lock.acquire()
    except StoreLocked:
        holder = holder_info(lock.path)
        listen = holder.get("listen") or settings.listen
        url = replace(settings, listen=listen).collector_url
        headers = {"Authorization": f"Bearer {settings.token}"} if settings.token else {}
        body = {"since_us": since_us, "until_us": until_us, "pricing": settings.pricing, "dry_run": dry_run}
        try:
            r = httpx.post(f"{url}/v1/admin/reprice", json=body, headers=headers, timeout=900)
        except httpx.HTTPError as e:
            raise RuntimeError(f"a collector (pid {holder.get('pid')}) holds the store but {url} did not answer: "
                               f"{e}") from None
        if r.status_code != 200:
            raise RuntimeError(f"the collector at {url} refused: HTTP {r.status_code} {r.text[:300]}")
        doc = r.json()
        return RepriceOutcome(RepriceReport.from_json(doc), f"the collector at {listen}",
                              bool(doc.get("collector_pricing_differs")))
    try:
        writer = SegmentWriter(Path(settings.store))
        return RepriceOutcome(reprice_store(writer, pricer, since_us, until_us, dry_run), "the store directly")
    finally:
        lock.release()


def drill_query(dims: dict[str, str | None], since_us: int, until_us: int) -> tuple[str, list[str]]:
    """The traces filter that shows the traces behind a cost row or bar, and the
    dimensions the filter language cannot say (left out, so the view is wider)."""
    import shlex

    def when(us: int) -> str:
        return datetime.fromtimestamp(us / 1e6, UTC).strftime("%Y-%m-%dT%H:%M:%S")

    parts = [f"since:{when(since_us)}", f"until:{when(until_us)}"]
    left_out = []
    for key, value in dims.items():
        d = dimension(key)
        if d.key == "source" and value == "unknown":
            parts.append("is:unpriced")
        elif d.trace_key is None or value is None:
            left_out.append(d.label)
        else:
            v = value.split("@", 1)[0] if d.key == "prompt" else value
            parts.append(shlex.quote(f"{d.trace_key}:{v}"))
    return " ".join(parts), left_out


__all__ = ["BUCKETS", "RANGES", "RANGE_BUCKET", "BudgetStatus", "CostsService", "RepriceOutcome", "Superseded",
           "drill_query", "parse_time", "reprice"]
