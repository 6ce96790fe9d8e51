"""Replays through the real collector into the store, and back out as a replayable request."""

import asyncio
import json
import time

import pytest

from console.replay import RecordedRequest, ReplayEngine, Variant
from console.replay.ci import EXIT_PASS, run_ci
from console.replay.dataset import DatasetRow, build_cases, store_span_loader
from console.replay.recording import ReplayRecorder, ScoreRecord
from store.query.reader import StoreReader
from store.query.traces import TraceQueries

pytestmark = pytest.mark.usefixtures("isolated_keys")


def stored_scores(store_dir, run_id: str, timeout_s: float = 20.0):
    reader = StoreReader(store_dir)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        frame = reader.query(f"SELECT * FROM {reader.scan('scores')} WHERE run_id = ?", [run_id])
        if frame.height:
            return frame
        time.sleep(0.1)
    raise TimeoutError("no scores stored")


async def test_a_recorded_replay_is_stored_and_replays_again(openai_stub, collector, store_dir):
    recorder = ReplayRecorder(collector.traces_url)
    engine = ReplayEngine(api_base=openai_stub.base_url, recorder=recorder, run_id="e2e-run")
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "say the magic words"}]
    request = RecordedRequest(
        messages=messages, model="echo", params={"temperature": 0.3, "max_tokens": 20}, prompt_id="greet", prompt_version="0123456789ab",
        trace_id="11" * 16, span_id="22" * 8, prompt_vars={"topic": "magic"},
    )  # fmt: skip
    result = await engine.run(request, Variant.original(label="B"))
    assert result.error is None and recorder.flush()
    assert await recorder.send_scores([ScoreRecord(result.trace_id, result.span_id, "judge", 0.8, None, "llm-judge", "fine", "e2e-run")])
    await asyncio.to_thread(collector.wait_stored, 1)

    row = TraceQueries(StoreReader(store_dir)).spans(result.trace_id).row(0, named=True)
    assert (row["span_id"], row["model"], row["prompt_id"], row["prompt_version"]) == (result.span_id, "echo", "greet", "0123456789ab")
    assert (row["input_tokens"], row["output_tokens"]) == (result.usage.input_tokens, result.usage.output_tokens)
    assert [(m["role"], m["content"]) for m in json.loads(row["input_messages"])] == [(m["role"], m["content"]) for m in messages]
    assert json.loads(row["output_messages"])[0]["content"] == "say the magic words"
    assert json.loads(row["prompt_vars"]) == {"topic": "magic"}
    assert recorder.failures == 0

    again = RecordedRequest.from_span(row)
    assert again.params.get("temperature") == 0.3 and again.output_text == "say the magic words"
    replayed = await ReplayEngine(api_base=openai_stub.base_url).run(again, Variant.original())
    assert replayed.error is None and replayed.text == result.text

    scores = await asyncio.to_thread(stored_scores, store_dir, "e2e-run")
    score = scores.row(0, named=True)
    assert (score["trace_id"], score["span_id"], score["name"], score["value"], score["source"]) == (result.trace_id, result.span_id, "judge", 0.8, "llm-judge")
    recorder.shutdown()


async def test_trace_id_datasets_load_spans_from_the_store(openai_stub, collector, store_dir, tmp_path):
    recorder = ReplayRecorder(collector.traces_url)
    engine = ReplayEngine(api_base=openai_stub.base_url, recorder=recorder)
    request = RecordedRequest(messages=[{"role": "user", "content": "Say hi to Ada"}], model="echo", prompt_vars={"name": "Ada"})
    result = await engine.run(request)
    assert recorder.flush()
    await asyncio.to_thread(collector.wait_stored, 1)
    loader = store_span_loader(store_dir)
    case = build_cases([DatasetRow("r", trace_id=result.trace_id)], span_loader=loader)[0]
    assert case.request.messages == request.messages and case.request.output_text == "Say hi to Ada"
    assert loader(result.trace_id, "0" * 16) is None

    (tmp_path / "greet.yaml").write_text("id: greet\nmodel: echo\ntemplate: 'Say hello to {{name}}'\nchecks: [{type: contains, value: hello}]\n")
    (tmp_path / "d.jsonl").write_text(json.dumps({"trace_id": result.trace_id}) + "\n")
    lines: list[str] = []
    code = await asyncio.to_thread(
        run_ci, tmp_path / "greet.yaml", tmp_path / "d.jsonl", api_base=openai_stub.base_url, span_loader=loader, fail_under=1.0, echo=lines.append
    )
    assert code == EXIT_PASS, lines  # re-rendered with the span's variables: "Say hello to Ada"
    assert openai_stub.calls[-1].body["messages"] == [{"role": "user", "content": "Say hello to Ada"}]
    recorder.shutdown()
