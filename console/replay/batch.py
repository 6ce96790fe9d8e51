"""Batch replay: N requests, each as variant A and variant B, checked, judged, compared.

::

    runner = BatchRunner(engine, concurrency=4, judge=Judge(engine, "openai/gpt-4o-mini"))
    print(runner.estimate(items, Variant.recorded(), Variant.edited_prompt(p)).describe())
    report = await runner.run(items, Variant.recorded(), Variant.edited_prompt(p))

- At most ``concurrency`` provider calls (replays and judge calls) are in flight.
- An error in one row (a provider error, a prompt that cannot be re-rendered, even
  a bug in a check) is recorded in that row; the batch goes on.
- ``runner.cancel()`` (from another task, e.g. a UI key) starts no new call and
  cancels the calls in flight; their rows, and rows not started, come back with
  ``status="cancelled"`` and the report with ``cancelled=True``. Cancelling the
  task that awaits ``run()`` cancels everything too, and re-raises.
- ``on_progress(BatchProgress)`` and ``on_row(BatchRow)`` are called after each
  row (plain functions or coroutines).

A side *passes* when its call succeeded, every check passed and, when judged, the
judge's score reached its threshold. A judge that fails to answer leaves the score
out (the row keeps the reason); it does not fail the side. A *regression* is a
row that passed in A and fails in B.
"""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from statistics import fmean
from typing import Any, Literal

from console.replay.checks import Check, CheckResult, run_checks
from console.replay.diff import OutputDiff, output_diff
from console.replay.engine import ReplayEngine, ReplayResult
from console.replay.errors import ReplayError
from console.replay.estimate import CostEstimate, estimate_batch
from console.replay.judge import Judge, JudgeResult
from console.replay.providers import route
from console.replay.recording import ScoreRecord
from console.replay.request import RecordedRequest, Variant
from store.prompts.diff import similarity


@dataclass
class BatchItem:
    request: RecordedRequest
    id: str = ""
    checks: list[Check] = field(default_factory=list)
    expected: str | None = None

    @classmethod
    def from_case(cls, case: Any) -> BatchItem:
        """From a ``dataset.Case``."""
        return cls(case.request, case.row.id, list(case.checks), case.row.expected)


@dataclass
class Side:
    result: ReplayResult
    checks: list[CheckResult]
    judge: JudgeResult | None
    passed: bool

    @property
    def score(self) -> float | None:
        return self.judge.score if self.judge is not None else None


@dataclass
class BatchRow:
    index: int
    id: str
    status: Literal["running", "done", "cancelled"] = "running"
    a: Side | None = None
    b: Side | None = None
    problem: str | None = None  # an error outside the calls (a check that crashed, ...)

    @property
    def regression(self) -> bool:
        return bool(self.a and self.b and self.a.passed and not self.b.passed)

    @property
    def improvement(self) -> bool:
        return bool(self.a and self.b and not self.a.passed and self.b.passed)

    @property
    def errors(self) -> list[ReplayError]:
        return [s.result.error for s in (self.a, self.b) if s is not None and s.result.error is not None]

    def _delta(self, name: str) -> float | None:
        if self.a is None or self.b is None:
            return None
        a, b = getattr(self.a.result, name), getattr(self.b.result, name)
        return None if a is None or b is None else b - a

    @property
    def cost_delta_usd(self) -> float | None:
        return self._delta("cost_usd")

    @property
    def latency_delta_ms(self) -> float | None:
        return self._delta("latency_ms")

    @property
    def score_delta(self) -> float | None:
        if self.a is None or self.b is None or self.a.score is None or self.b.score is None:
            return None
        return self.b.score - self.a.score

    @property
    def similarity(self) -> float | None:
        if self.a is None or self.b is None or self.a.result.error or self.b.result.error:
            return None
        return similarity(self.a.result.text, self.b.result.text)

    def diff(self) -> OutputDiff | None:
        if self.a is None or self.b is None:
            return None
        return output_diff(self.a.result.text, self.b.result.text)


@dataclass(frozen=True)
class SideSummary:
    pass_rate: float | None
    mean_score: float | None
    judged: int
    errors: int
    cost_usd: float  # of the calls with a known cost
    unpriced_calls: int
    mean_latency_ms: float | None


@dataclass(frozen=True)
class BatchSummary:
    rows: int
    done: int
    cancelled: int
    a: SideSummary | None
    b: SideSummary
    regressions: int
    improvements: int
    judge_cost_usd: float

    @property
    def cost_delta_usd(self) -> float | None:
        return None if self.a is None else self.b.cost_usd - self.a.cost_usd

    @property
    def latency_delta_ms(self) -> float | None:
        if self.a is None or self.a.mean_latency_ms is None or self.b.mean_latency_ms is None:
            return None
        return self.b.mean_latency_ms - self.a.mean_latency_ms


def _side_summary(sides: list[Side]) -> SideSummary:
    scores = [s.score for s in sides if s.score is not None]
    latencies = [s.result.latency_ms for s in sides if s.result.latency_ms is not None and s.result.error is None]
    return SideSummary(
        pass_rate=sum(s.passed for s in sides) / len(sides) if sides else None,
        mean_score=fmean(scores) if scores else None,
        judged=len(scores),
        errors=sum(s.result.error is not None for s in sides),
        cost_usd=sum(s.result.cost_usd or 0.0 for s in sides),  # a recorded side counts what the original call cost
        unpriced_calls=sum(s.result.cost_usd is None and s.result.error is None for s in sides),
        mean_latency_ms=fmean(latencies) if latencies else None,
    )


def summarize(rows: Sequence[BatchRow]) -> BatchSummary:
    done = [r for r in rows if r.status == "done"]
    a_sides = [r.a for r in done if r.a is not None]
    b_sides = [r.b for r in done if r.b is not None]
    judge_cost = sum(
        (s.judge.cost_usd or 0.0) for r in done for s in (r.a, r.b) if s is not None and s.judge is not None
    )
    return BatchSummary(
        rows=len(rows),
        done=len(done),
        cancelled=sum(r.status == "cancelled" for r in rows),
        a=_side_summary(a_sides) if a_sides else None,
        b=_side_summary(b_sides),
        regressions=sum(r.regression for r in done),
        improvements=sum(r.improvement for r in done),
        judge_cost_usd=judge_cost,
    )


@dataclass
class BatchReport:
    run_id: str
    rows: list[BatchRow]
    summary: BatchSummary
    cancelled: bool
    variant_a: str | None
    variant_b: str


@dataclass(frozen=True)
class BatchProgress:
    done: int
    total: int
    errors: int
    spent_usd: float
    cancelled: bool


Callback = Callable[[Any], Any]


def _spent(row: BatchRow) -> float:
    """What this run paid for the row: its calls (not a recorded side) and judge calls."""
    total = 0.0
    for side in (row.a, row.b):
        if side is None:
            continue
        if not side.result.from_recording:
            total += side.result.cost_usd or 0.0
        if side.judge is not None:
            total += side.judge.cost_usd or 0.0
    return total


async def _notify(callback: Callback | None, value: Any) -> None:
    if callback is None:
        return
    outcome = callback(value)
    if inspect.isawaitable(outcome):
        await outcome


class BatchRunner:
    def __init__(
        self,
        engine: ReplayEngine,
        *,
        concurrency: int = 4,
        judge: Judge | None = None,
        checks: Iterable[Check] = (),
        on_progress: Callback | None = None,
        on_row: Callback | None = None,
        send_scores: bool = True,
    ) -> None:
        self.engine = engine
        self.concurrency = max(1, concurrency)
        self.judge = judge
        self.checks = list(checks)
        self.on_progress = on_progress
        self.on_row = on_row
        self.send_scores = send_scores
        self._workers: list[asyncio.Task[None]] = []
        self._cancelled = False

    def estimate(self, items: Sequence[BatchItem], variant_a: Variant | None, variant_b: Variant) -> CostEstimate:
        judged = len(self.judge.chosen_rows(len(items))) if self.judge else 0
        judge_model = route(self.judge.model, None, self.judge.api_base or self.engine.api_base).model if self.judge else None
        return estimate_batch(
            [i.request for i in items],
            [variant_a, variant_b],
            costs=self.engine.costs,
            api_base=self.engine.api_base,
            registry=self.engine.registry,
            judge_model=judge_model,
            judged_rows=judged,
        )

    def cancel(self) -> None:
        """Stop: no new calls; calls in flight are cancelled."""
        self._cancelled = True
        for worker in self._workers:
            worker.cancel()

    async def run(self, items: Sequence[BatchItem], variant_a: Variant | None, variant_b: Variant, *, run_id: str | None = None) -> BatchReport:
        run_id = run_id or uuid.uuid4().hex[:16]
        self._cancelled = False
        rows: list[BatchRow | None] = [None] * len(items)
        judged = self.judge.chosen_rows(len(items)) if self.judge else set()
        calls = asyncio.Semaphore(self.concurrency)
        pending = iter(range(len(items)))
        spent = [0.0]

        async def worker() -> None:
            for index in pending:
                if self._cancelled:
                    return
                item = items[index]
                row = BatchRow(index, item.id or str(index))
                rows[index] = row
                try:
                    await self._run_row(row, item, variant_a, variant_b, index in judged, calls, run_id)
                except asyncio.CancelledError:
                    row.status = "cancelled"
                    raise
                except Exception as exc:  # a bug in one row must not end the batch
                    row.problem = f"{type(exc).__name__}: {exc}"
                row.status = "done"
                spent[0] += _spent(row)
                done = sum(r is not None and r.status == "done" for r in rows)
                errors = sum(bool(r.errors) for r in rows if r is not None)
                await _notify(self.on_row, row)
                await _notify(self.on_progress, BatchProgress(done, len(items), errors, spent[0], self._cancelled))

        self._workers = [asyncio.create_task(worker()) for _ in range(min(self.concurrency, max(len(items), 1)))]
        try:
            await asyncio.gather(*self._workers, return_exceptions=True)
        except asyncio.CancelledError:
            self.cancel()
            await asyncio.gather(*self._workers, return_exceptions=True)
            raise
        finally:
            self._workers = []
        final = [r if r is not None else BatchRow(i, items[i].id or str(i), status="cancelled") for i, r in enumerate(rows)]
        for row in final:
            if row.status == "running":
                row.status = "cancelled"
        cancelled = self._cancelled or any(r.status == "cancelled" for r in final)
        report = BatchReport(run_id, final, summarize(final), cancelled, variant_a.describe() if variant_a else None, variant_b.describe())
        if self.send_scores and self.engine.recorder is not None:
            await self._send_scores(report)
        return report

    async def _call(self, calls: asyncio.Semaphore, item: BatchItem, variant: Variant, run_id: str) -> ReplayResult:
        if variant.use_recorded:
            return await self.engine.run(item.request, variant, run_id=run_id)
        async with calls:
            if self._cancelled:
                raise asyncio.CancelledError
            return await self.engine.run(item.request, variant, run_id=run_id)

    async def _run_row(
        self,
        row: BatchRow,
        item: BatchItem,
        variant_a: Variant | None,
        variant_b: Variant,
        judged: bool,
        calls: asyncio.Semaphore,
        run_id: str,
    ) -> None:
        if variant_a is not None:
            a_result, b_result = await asyncio.gather(
                self._call(calls, item, variant_a, run_id), self._call(calls, item, variant_b, run_id)
            )
        else:
            a_result, b_result = None, await self._call(calls, item, variant_b, run_id)
        judge_a, judge_b = await asyncio.gather(
            self._judge(calls, item, a_result, judged), self._judge(calls, item, b_result, judged)
        )
        if a_result is not None:
            row.a = self._side(item, a_result, judge_a)
        row.b = self._side(item, b_result, judge_b)

    async def _judge(self, calls: asyncio.Semaphore, item: BatchItem, result: ReplayResult | None, judged: bool) -> JudgeResult | None:
        if self.judge is None or not judged or result is None or result.error is not None:
            return None
        async with calls:
            if self._cancelled:
                raise asyncio.CancelledError
            return await self.judge.score(result.text, result.request_messages or item.request.messages, item.expected)

    def _side(self, item: BatchItem, result: ReplayResult, judge: JudgeResult | None) -> Side:
        checks = run_checks([*self.checks, *item.checks], result.text, item.expected) if result.error is None else []
        passed = result.error is None and all(c.passed for c in checks)
        if passed and self.judge is not None and judge is not None and judge.score is not None:
            passed = judge.score >= self.judge.threshold
        return Side(result, checks, judge, passed)

    async def _send_scores(self, report: BatchReport) -> None:
        scores: list[ScoreRecord] = []
        for row in report.rows:
            for side in (row.a, row.b):
                if side is None or side.result.trace_id is None:
                    continue
                ids = (side.result.trace_id, side.result.span_id)
                for check in side.checks:
                    scores.append(ScoreRecord(*ids, f"check.{check.name}", 1.0 if check.passed else 0.0, None, "heuristic", check.detail, report.run_id))
                if side.judge is not None and side.judge.score is not None:
                    scores.append(ScoreRecord(*ids, "judge", side.judge.score, None, "llm-judge", side.judge.reason, report.run_id))
        try:
            for start in range(0, len(scores), 500):
                await self.engine.recorder.send_scores(scores[start : start + 500])
        except Exception:
            pass  # scores are best effort, like traces
