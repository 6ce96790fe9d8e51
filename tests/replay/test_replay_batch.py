import asyncio
import time

import pytest

from console.replay import BatchItem, BatchRunner, Judge, RecordedRequest, ReplayEngine, RetryPolicy, Variant, parse_checks

pytestmark = pytest.mark.usefixtures("isolated_keys")


def item(model: str, text: str = "hello", **kwargs) -> BatchItem:
    return BatchItem(RecordedRequest(messages=[{"role": "user", "content": text}], model=model, params={"max_tokens": 20}), id=f"{model}:{text}", **kwargs)


async def test_concurrency_is_bounded_and_progress_is_reported(openai_stub):
    engine = ReplayEngine(api_base=openai_stub.base_url)
    progress = []
    runner = BatchRunner(engine, concurrency=3, on_progress=progress.append)
    items = [item("slow-150ms", f"q{i}") for i in range(9)]
    await engine.run(item("echo").request)  # LiteLLM's import and first-call set-up are not what is measured
    openai_stub.reset()
    started = time.perf_counter()
    report = await runner.run(items, None, Variant.original(label="B"))
    elapsed = time.perf_counter() - started
    assert openai_stub.max_in_flight == 3
    assert elapsed < 9 * 0.15  # calls overlapped
    assert [p.done for p in progress] == list(range(1, 10)) and progress[-1].total == 9
    assert report.summary.b.pass_rate == 1.0 and not report.cancelled


async def test_rows_compare_a_and_b_with_checks_deltas_and_regressions(openai_stub):
    engine = ReplayEngine(api_base=openai_stub.base_url)
    checks = parse_checks([{"type": "contains", "value": "hello"}])
    recorded = RecordedRequest(
        messages=[{"role": "user", "content": "hello there"}],
        model="echo",
        output_messages=[{"role": "assistant", "content": "hello there, friend"}],
        cost_usd=0.002,
        duration_ms=900.0,
    )
    items = [BatchItem(recorded, id="keeps"), item("echo", "bye now")]
    items[1].request.output_messages = [{"role": "assistant", "content": "hello bye now"}]
    report = await BatchRunner(engine, checks=checks).run(items, Variant.recorded(), Variant.original(label="B"))
    keeps, regressed = report.rows
    assert keeps.a.passed and keeps.b.passed and not keeps.regression
    assert keeps.b.result.text == "hello there" and 0 < keeps.similarity < 1
    assert keeps.latency_delta_ms < 0 and keeps.cost_delta_usd is None  # B's local model has no price
    assert [op.op for op in keeps.diff().ops] == ["equal", "delete"]
    assert regressed.a.passed and not regressed.b.passed and regressed.regression
    assert report.summary.regressions == 1 and report.summary.a.pass_rate == 1.0 and report.summary.b.pass_rate == 0.5


async def test_provider_errors_stay_in_their_rows(openai_stub):
    engine = ReplayEngine(api_base=openai_stub.base_url, retry=RetryPolicy(max_attempts=1))
    models = ["echo", "fail-401", "rate-limit-429", "context-length", "fail-500", "malformed", "echo"]
    report = await BatchRunner(engine, concurrency=2).run([item(m) for m in models], None, Variant.original(label="B"))
    kinds = [row.b.result.error.kind if row.b.result.error else None for row in report.rows]
    assert kinds == [None, "auth", "rate_limit", "context_length", "server", "malformed", None]
    assert all(row.status == "done" for row in report.rows)
    assert report.summary.b.errors == 5 and report.summary.b.pass_rate == pytest.approx(2 / 7)
    no_key = await BatchRunner(ReplayEngine()).run([item("gpt-4o-mini")], None, Variant.original(label="B"))
    assert no_key.rows[0].b.result.error.message.startswith("No API key for openai: set OPENAI_API_KEY")


async def test_cancel_stops_new_calls_and_cancels_in_flight(openai_stub):
    engine = ReplayEngine(api_base=openai_stub.base_url)
    runner = BatchRunner(engine, concurrency=2)
    items = [item("slow-2s", f"q{i}") for i in range(10)]
    task = asyncio.create_task(runner.run(items, None, Variant.original(label="B")))
    while len(openai_stub.calls) < 2:
        await asyncio.sleep(0.02)
    started = time.perf_counter()
    runner.cancel()
    report = await task
    assert time.perf_counter() - started < 1.0  # did not wait for the 2 s calls
    assert report.cancelled and all(row.status == "cancelled" for row in report.rows)
    await asyncio.sleep(0.1)
    assert len(openai_stub.calls) == 2  # nothing new started


async def test_cancelling_the_awaiting_task_propagates(openai_stub):
    runner = BatchRunner(ReplayEngine(api_base=openai_stub.base_url), concurrency=2)
    task = asyncio.create_task(runner.run([item("slow-2s", str(i)) for i in range(4)], None, Variant.original(label="B")))
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_cancel_from_a_progress_callback(openai_stub):
    runner = BatchRunner(ReplayEngine(api_base=openai_stub.base_url), concurrency=1)
    runner.on_progress = lambda progress: runner.cancel() if progress.done == 2 else None
    report = await runner.run([item("echo", f"q{i}") for i in range(6)], None, Variant.original(label="B"))
    assert [row.status for row in report.rows] == ["done", "done"] + ["cancelled"] * 4
    assert report.summary.done == 2 and report.summary.cancelled == 4


def judge_reply(body):
    response = body["messages"][-1]["content"].split("RESPONSE:\n", 1)[1]
    return '{"score": 0.9, "reason": "polite"}' if "please" in response else 'Score: 2/10 because it is rude'


async def test_judge_scores_every_side_and_samples(openai_stub):
    openai_stub.script("judge", judge_reply)
    engine = ReplayEngine(api_base=openai_stub.base_url)
    judge = Judge(engine, "judge", "Is it polite?")
    items = [item("echo", "please help"), item("echo", "help now")]
    report = await BatchRunner(engine, judge=judge).run(items, None, Variant.original(label="B"))
    polite, rude = report.rows
    assert polite.b.judge.score == 0.9 and polite.b.judge.reason == "polite" and polite.b.passed
    assert rude.b.judge.score == pytest.approx(0.2) and not rude.b.passed
    assert report.summary.b.mean_score == pytest.approx(0.55)
    judge_prompt = openai_stub.calls_for("judge")[0].body
    assert judge_prompt["temperature"] == 0 and "Is it polite?" in judge_prompt["messages"][1]["content"]

    sampled = Judge(engine, "judge", sample=0.5)
    assert len(sampled.chosen_rows(10)) == 5 and sampled.chosen_rows(10) == Judge(engine, "judge", sample=0.5).chosen_rows(10)
    assert len(Judge(engine, "judge", sample=3).chosen_rows(10)) == 3


async def test_estimate_before_spending(openai_stub):
    engine = ReplayEngine(api_base=openai_stub.base_url)
    runner = BatchRunner(engine, judge=Judge(engine, "judge"))
    items = [item("echo", "one two three four " * 10) for _ in range(4)]
    for one in items:
        one.request.output_messages = [{"role": "assistant", "content": "recorded"}]
    estimate = runner.estimate(items, Variant.recorded(), Variant.original(label="B"))
    assert estimate.calls == 4 + 8  # four B calls; judge calls for both sides of four rows
    assert estimate.input_tokens > 4 * 40 and estimate.output_tokens_expected > 0
    assert sorted(estimate.unpriced_models) == ["openai/echo", "openai/judge"] and estimate.usd_expected == 0
    assert openai_stub.calls == []  # nothing spent

    priced = BatchRunner(ReplayEngine()).estimate([item("gpt-4o-mini", "x " * 400)], None, Variant.original(label="B"))
    assert priced.usd_expected > 0 and priced.usd_max >= priced.usd_expected and priced.unpriced_models == []
    assert "calls" in priced.describe()
