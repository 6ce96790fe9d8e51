"""When traces happen: the mix of services, the featured traces every demo shows,
sessions, and times spread over the last days (busier in working hours, on
weekdays, and today).

Deterministic for a seed and a "now": all times are drawn first, then the traces
are built in time order from the same random stream.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone

from console.demo.scenarios import Job, World, chat, gateway, rag, sql, support, triage
from console.demo.spans import NS, Trace

DAY_NS = 86_400 * NS
BUILDERS: dict[str, Callable[[World, Job], list[Trace]]] = {
    "support": support.build, "rag": rag.build, "chat": chat.build, "gateway": gateway.build, "sql": sql.build,
    "triage": triage.build,
}
MIX = (("support", 0.26), ("rag", 0.22), ("chat", 0.17), ("gateway", 0.15), ("sql", 0.10), ("triage", 0.10))
TURNS = {"support": ((1, 5.0), (2, 3.0), (3, 1.5), (4, 0.5)), "chat": ((1, 3.0), (2, 3.0), (3, 2.0), (4, 1.0))}
STAGING_SHARE = {"support": 0.08, "rag": 0.08, "chat": 0.05, "gateway": 0.03}
# Every demo shows these, most important first (a tiny --traces keeps the first ones).
FEATURED = (("sql", "runaway"), ("support", "injection"), ("support", "card"), ("gateway", "rate_limit"),
            ("chat", "context_error"), ("rag", "poisoned"), ("support", "indirect"), ("support", "timeout"),
            ("chat", "refusal"), ("chat", "iban"), ("support", "aws_key"), ("triage", "secret"),
            ("chat", "injection"), ("sql", "timeout"), ("rag", "guard"), ("gateway", "text_linked"))
TODAY_WEIGHT = 3.0  # the last 24 hours are this much busier than the days before


def _weight(t_ns: int, now_ns: int) -> float:
    dt = datetime.fromtimestamp(t_ns / NS, tz=timezone.utc)
    hour = dt.hour + dt.minute / 60
    dist = min(abs(hour - 15), 24 - abs(hour - 15))  # busiest mid-afternoon UTC (US morning, EU afternoon)
    w = 0.15 + math.exp(-((dist / 4.5) ** 2))
    if dt.weekday() >= 5:
        w *= 0.55
    return w * (TODAY_WEIGHT if now_ns - t_ns < DAY_NS else 1.0)


class Traffic:
    """The demo's traffic: a backfill of history, then live traces on demand."""

    def __init__(self, seed: int, now_ns: int | None = None):
        self.rng = random.Random(seed)
        self.now_ns = now_ns if now_ns is not None else time.time_ns()
        self.world = World(self.rng)

    # -- when -------------------------------------------------------------------------------
    def _sample_time(self, lo: int, hi: int) -> int:
        top = 1.15 * TODAY_WEIGHT
        while True:
            t = self.rng.randrange(lo, hi)
            if self.rng.random() * top < _weight(t, self.now_ns):
                return t

    def _kind(self) -> str:
        kinds, weights = zip(*MIX)
        return self.rng.choices(kinds, weights=weights)[0]

    def _env(self, kind: str) -> str:
        return "staging" if self.rng.random() < STAGING_SHARE.get(kind, 0.0) else "prod"

    def _turns(self, kind: str) -> int:
        options = TURNS.get(kind)
        if not options:
            return 1
        values, weights = zip(*options)
        return self.rng.choices(values, weights=weights)[0]

    def jobs(self, traces: int, days: float) -> list[Job]:
        """Jobs whose turns add up to ``traces``, oldest first."""
        lo, hi = self.now_ns - int(days * DAY_NS), self.now_ns - 60 * NS
        jobs: list[Job] = []
        for kind, feature in FEATURED[:traces]:
            if feature == "runaway":
                jobs.append(self._runaway_job(lo, hi))
            else:
                jobs.append(Job(kind, self._sample_time(lo, hi), 1, feature))
        remaining = traces - len(jobs)
        coverage = [k for k, _ in MIX]
        while remaining > 0:
            kind = coverage.pop(0) if coverage else self._kind()
            turns = min(self._turns(kind), remaining)
            jobs.append(Job(kind, self._sample_time(lo, hi), turns, env=self._env(kind)))
            remaining -= turns
        jobs.sort(key=lambda j: j.start_ns)
        return jobs

    def _runaway_job(self, lo: int, hi: int) -> Job:
        """Last night, when the window reaches that far; otherwise squeezed into the window."""
        night = int((sql.RUNAWAY_POLLS + 1) * (sql.RUNAWAY_WAIT_S + 10) * NS)
        window = hi - lo
        if window >= 1.6 * night:
            start = hi - night - self.rng.randrange(int(1.5 * 3600 * NS), int(3 * 3600 * NS))
            return Job("sql", max(lo, start), 1, "runaway")
        pace = 0.6 * window / night
        return Job("sql", lo + int(0.1 * window), 1, "runaway", pace=pace)

    # -- what -------------------------------------------------------------------------------
    def build(self, job: Job) -> list[Trace]:
        traces = BUILDERS[job.kind](self.world, job)
        overflow = max(t.end_ns for t in traces) - (self.now_ns - NS)
        if overflow > 0:  # a session that would run into the future happened a little earlier
            for t in traces:
                t.shift_to(t.start_ns - overflow)
        return traces

    def backfill(self, traces: int, days: float) -> Iterator[Trace]:
        for job in self.jobs(traces, days):
            yield from self.build(job)

    def live(self) -> Trace:
        """One trace that has just finished (times from the clock)."""
        kind = self._kind()
        self.now_ns = time.time_ns()
        trace = BUILDERS[kind](self.world, Job(kind, self.now_ns, 1, env=self._env(kind)))[0]
        return trace.shift_to(self.now_ns - trace.duration_ns - self.rng.randrange(NS // 5))


def generate_traces(traces: int, days: float = 7.0, seed: int = 0, now_ns: int | None = None) -> Iterator[Trace]:
    """The backfill alone, for tests and tools: ``traces`` traces over the last ``days``."""
    return Traffic(seed, now_ns).backfill(traces, days)
