"""The demo from start to end: collector, prompt files, backfill, optional live
traffic, and a summary read back from the store."""

from __future__ import annotations

import random
import shlex
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from console.demo.collector import CollectorHandle, DemoError, connect
from console.demo.otlp import batches
from console.demo.prompts import FILES, write_prompts
from console.demo.schedule import Traffic
from console.demo.send import Sender
from console.demo.spans import NS, Trace
from store.config import Settings

DEMO_FOLDER = "llmops-demo"
PUBLISH_WAIT_S = 15.0

__all__ = ["DemoError", "DemoOptions", "DemoReport", "default_demo_dir", "run_demo"]


@dataclass
class DemoOptions:
    traces: int = 1500
    days: float = 7.0
    seed: int | None = None  # None: a fresh one, printed so the run can be repeated
    live: bool = False
    live_rate: float = 3.0  # traces per second in live mode
    live_seconds: float | None = None  # None: until Ctrl-C
    demo_dir: Path | None = None  # None: next to the store (``default_demo_dir``)
    batch_spans: int = 80
    concurrency: int = 4
    now_ns: int | None = None  # the history ends here (tests pin it)


@dataclass
class DemoReport:
    seed: int
    url: str
    store: Path
    prompts_dir: Path
    started_collector: bool
    days: float
    traces_sent: int = 0
    spans_sent: int = 0
    rejected_spans: int = 0
    live_traces: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    trace_ids: list[str] = field(default_factory=list, repr=False)
    stored: dict[str, Any] | None = None  # read back from the store: traces, spans, cost_usd, unpriced, errors

    def lines(self) -> list[str]:
        q = shlex.quote
        where = "an in-process collector (stopped now)" if self.started_collector else "the collector"
        live = f", {self.live_traces:,} of the traces live" if self.live_traces else ""
        out = [f"{'Interrupted: sent' if self.interrupted else 'Sent'} {self.traces_sent:,} demo traces "
               f"({self.spans_sent:,} spans{live}) over the last {self.days:g} days to {where} at {self.url} "
               f"in {self.seconds:.1f} s (--seed {self.seed} repeats it)."]
        if self.rejected_spans:
            out.append(f"  The collector rejected {self.rejected_spans:,} spans.")
        s = self.stored
        if s:
            cost = f"${s['cost_usd']:,.2f}" if s.get("cost_usd") is not None else "no"
            out.append(f"  Stored: {s['traces']:,} traces, {s['spans']:,} spans, {cost} of LLM cost, "
                       f"{s['unpriced']:,} model calls without a price (self-hosted, failed or unknown), "
                       f"{s['errors']:,} error spans.")
        out.append(f"  Store:   {self.store}")
        out.append(f"  Prompts: {self.prompts_dir} ({len(FILES)} files, linked to the demo's spans)")
        store = q(str(self.store))
        out += [
            "Try next:",
            f"  LLMOPS_PROMPTS_DIR={q(str(self.prompts_dir))} llmops-console --store {store}",
            f"  llmops-console traces list --store {store} -f 'is:runaway'",
            f"  llmops-console traces list --store {store} -f 'status:error since:1d'",
            "Demo data is tagged 'demo' (filter is:demo) and its services are named demo-*.",
        ]
        return out


def default_demo_dir(store: Path) -> Path:
    """Next to the store, never inside it (the store's folder belongs to the collector)."""
    return Path(store).expanduser().resolve().parent / DEMO_FOLDER


def _tap(traces: Iterable[Trace], ids: list[str]) -> Iterator[Trace]:
    for t in traces:
        ids.append(t.trace_id_hex)
        yield t


def _collector_stats(url: str) -> dict[str, Any]:
    try:
        return httpx.get(url + "/v1/stats", timeout=5).json()
    except (httpx.HTTPError, ValueError):
        return {}


def _wait_published(url: str, target: int) -> None:
    """An external collector publishes on its flush interval: wait so the console shows it all."""
    deadline = time.monotonic() + PUBLISH_WAIT_S
    while time.monotonic() < deadline:
        if _collector_stats(url).get("spans_stored", 0) >= target:
            return
        time.sleep(0.1)


def _already_there(store: Path, trace_id: str) -> bool:
    if not (store / "manifest.json").exists():
        return False
    from store.query import StoreReader

    r = StoreReader(store, threads=1)
    return r.query(f"SELECT count(*) AS n FROM {r.scan('trace_parts')} WHERE trace_id = ?", [trace_id]).item() > 0


def read_back(store: Path, trace_ids: list[str], since_ns: int) -> dict[str, Any] | None:
    """What the store now holds of this run's traces (None when it cannot be read)."""
    if not trace_ids or not (store / "manifest.json").exists():
        return None
    from store.query import StoreReader
    from store.query.reader import TimeRange

    r = StoreReader(store, threads=2)
    sql = f"""
        SELECT count(DISTINCT trace_id) AS traces, count(*) AS spans, sum(cost_usd) AS cost_usd,
               count(*) FILTER (WHERE cost_source = 'unknown') AS unpriced,
               count(*) FILTER (WHERE status = 'error') AS errors
        FROM {r.scan('spans', TimeRange(since_ns // 1000 - 3_600_000_000, None))}
        WHERE trace_id IN (SELECT unnest(?::VARCHAR[]))
    """
    try:
        return r.query(sql, [trace_ids]).row(0, named=True)
    except Exception:  # the summary is a courtesy; the data is sent either way
        return None


def _send(sender: Sender, traces: Iterable[Trace], batch_spans: int, report: DemoReport,
          on_progress: Callable[[int], None] | None) -> None:
    for body, spans, n in batches(traces, batch_spans):
        sender.submit(body, spans, n)
        report.traces_sent += n
        if on_progress:
            on_progress(report.traces_sent)


def _live(traffic: Traffic, sender: Sender, options: DemoOptions, report: DemoReport, ids: list[str],
          on_progress: Callable[[int], None] | None) -> None:
    """A few traces a second (Poisson arrivals), sent once a second, until Ctrl-C."""
    started = time.monotonic()
    due, pending, last_send = started, [], started
    while options.live_seconds is None or time.monotonic() - started < options.live_seconds:
        now = time.monotonic()
        if now >= due:
            trace = traffic.live()
            ids.append(trace.trace_id_hex)
            pending.append(trace)
            report.live_traces += 1
            due += traffic.rng.expovariate(options.live_rate)
        if pending and now - last_send >= 1.0:
            _send(sender, pending, options.batch_spans, report, on_progress)
            pending, last_send = [], now
        time.sleep(max(0.0, min(due, last_send + 1.0) - time.monotonic()))
    if pending:
        _send(sender, pending, options.batch_spans, report, on_progress)


def run_demo(settings: Settings, options: DemoOptions | None = None,
             on_progress: Callable[[int], None] | None = None,
             on_ready: Callable[[DemoReport], None] | None = None) -> DemoReport:
    """Fill the store behind ``settings`` (or the running collector's store) with demo traffic.

    ``on_ready`` is called once the collector and prompt files are in place, before sending.
    Raises ``DemoError`` with a message for the user when it cannot.
    """
    options = options or DemoOptions()
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(1, 1_000_000)
    handle: CollectorHandle = connect(settings)
    report = DemoReport(seed, handle.url, handle.store, Path(), handle.started_here, options.days)
    t0 = time.monotonic()
    try:
        report.prompts_dir = (Path(options.demo_dir).expanduser() if options.demo_dir
                              else default_demo_dir(handle.store)) / "prompts"
        write_prompts(report.prompts_dir)
        traffic = Traffic(seed, options.now_ns)
        baseline = 0 if handle.started_here else _collector_stats(handle.url).get("spans_stored", 0)
        backfill = traffic.backfill(options.traces, options.days)
        first = next(backfill, None)
        if first is not None and _already_there(handle.store, first.trace_id_hex):
            raise DemoError(f"{handle.store} already holds the demo traffic of --seed {seed}; sending it again "
                            "would duplicate those traces. Use another --seed (or none), or another --store.")
        if on_ready:
            on_ready(report)
        sender = Sender(handle.url, settings.token, options.concurrency)
        live = False
        try:
            _send(sender, _tap([first] if first else [], report.trace_ids), options.batch_spans, report, on_progress)
            _send(sender, _tap(backfill, report.trace_ids), options.batch_spans, report, on_progress)
            sender.drain()
            if options.live:
                live = True  # from here on, Ctrl-C is the normal way to stop
                _live(traffic, sender, options, report, report.trace_ids, on_progress)
            sender.drain()
        except KeyboardInterrupt:
            report.interrupted = not live
            sender.drain()
        finally:
            sender.close()
            report.spans_sent = sender.stats.spans
            report.rejected_spans = sender.stats.rejected_spans
            report.traces_sent = sender.stats.traces
        if not handle.started_here:
            _wait_published(handle.url, baseline + report.spans_sent)
    finally:
        handle.stop()
    report.seconds = time.monotonic() - t0
    since = options.now_ns or time.time_ns()
    report.stored = read_back(handle.store, report.trace_ids, since - int(options.days * 86_400 * NS))
    return report
