import json

import pytest
from replay_helpers import span_row

from console.replay import BatchRunner, Judge, RecordedRequest, ReplayEngine, Variant, parse_checks
from console.replay.batch import BatchItem
from console.replay.recording import ReplayRecorder, scores_url_for

pytestmark = pytest.mark.usefixtures("isolated_keys")


async def test_each_replay_is_one_trace_with_genai_attributes(openai_stub, collector_receiver):
    recorder = ReplayRecorder(collector_receiver.traces_url)
    engine = ReplayEngine(api_base=openai_stub.base_url, recorder=recorder, run_id="run-1")
    request = RecordedRequest.from_span(span_row(prompt_id="greet", prompt_version="abcdef123456"))
    result = await engine.run(request, Variant.original(label="B"))
    assert result.trace_id and result.span_id
    recorder.flush()
    spans = collector_receiver.wait_for_spans(1)
    assert collector_receiver.content_types == ["application/x-protobuf"]
    span = spans[0]
    assert span["name"] == "chat echo" and span["kind"] == 3  # CLIENT
    assert (span["trace_id"], span["span_id"], span["parent_span_id"]) == (result.trace_id, result.span_id, "")
    attributes = span["attributes"]
    assert attributes["gen_ai.operation.name"] == "chat" and attributes["gen_ai.provider.name"] == "openai"
    assert attributes["gen_ai.request.model"] == "echo" and attributes["gen_ai.request.temperature"] == 0.2
    assert attributes["gen_ai.usage.input_tokens"] == 3 and attributes["gen_ai.usage.output_tokens"] == 3
    assert json.loads(attributes["gen_ai.input.messages"]) == [{"role": "user", "parts": [{"type": "text", "content": "hello replay world"}]}]
    assert json.loads(attributes["gen_ai.output.messages"])[0]["parts"][0]["content"] == "hello replay world"
    assert attributes["llmops.replay.run_id"] == "run-1" and attributes["llmops.replay.variant"] == "B"
    assert attributes["llmops.replay.source_trace_id"] == request.trace_id and attributes["llmops.replay.source_span_id"] == request.span_id
    assert attributes["prompt.id"] == "greet" and attributes["prompt.version"] == "abcdef123456"
    assert attributes["server.address"] == "127.0.0.1" and span["resource"]["service.name"] == "llmops-console-replay"
    assert span["end_ns"] - span["start_ns"] == pytest.approx(result.latency_ms * 1e6, rel=0.01)
    recorder.shutdown()


async def test_failed_calls_are_recorded_with_error_status(openai_stub, collector_receiver):
    recorder = ReplayRecorder(collector_receiver.traces_url)
    engine = ReplayEngine(api_base=openai_stub.base_url, recorder=recorder)
    await engine.run(RecordedRequest(messages=[{"role": "user", "content": "x"}], model="fail-500"))
    recorder.flush()
    span = collector_receiver.wait_for_spans(1)[0]
    assert span["status_code"] == 2 and span["attributes"]["error.type"] == "server"
    recorder.shutdown()


async def test_batch_sends_check_and_judge_scores(openai_stub, collector_receiver):
    openai_stub.script("judge", '{"score": 0.75, "reason": "fine"}')
    recorder = ReplayRecorder(collector_receiver.traces_url)
    engine = ReplayEngine(api_base=openai_stub.base_url, recorder=recorder)
    item = BatchItem(RecordedRequest(messages=[{"role": "user", "content": "hello"}], model="echo"), id="r1")
    report = await BatchRunner(engine, judge=Judge(engine, "judge"), checks=parse_checks(["not_refusal"])).run([item], None, Variant.original(label="B"))
    row = report.rows[0]
    by_name = {s["name"]: s for s in collector_receiver.scores}
    assert set(by_name) == {"check.not_refusal", "judge"}
    judge = by_name["judge"]
    assert (judge["trace_id"], judge["span_id"]) == (row.b.result.trace_id, row.b.result.span_id)
    assert judge["value"] == 0.75 and judge["source"] == "llm-judge" and judge["comment"] == "fine" and judge["run_id"] == report.run_id
    assert by_name["check.not_refusal"]["source"] == "heuristic" and by_name["check.not_refusal"]["value"] == 1.0
    recorder.flush()
    assert len(collector_receiver.wait_for_spans(1)) == 1  # the judge call itself is not a replay
    recorder.shutdown()


async def test_a_collector_that_is_down_never_fails_a_replay(openai_stub, collector_receiver):
    collector_receiver.fail = True
    recorder = ReplayRecorder(collector_receiver.traces_url, timeout_s=0.5)
    engine = ReplayEngine(api_base=openai_stub.base_url, recorder=recorder)
    result = await engine.run(RecordedRequest(messages=[{"role": "user", "content": "x"}], model="echo"))
    assert result.error is None and result.text == "x"
    assert await recorder.send_scores([]) is True
    from console.replay.recording import ScoreRecord

    assert await recorder.send_scores([ScoreRecord(result.trace_id, result.span_id, "n", 1.0)]) is False
    recorder.flush(2)
    assert recorder.failures >= 1 and recorder.last_error
    nowhere = ReplayRecorder("http://127.0.0.1:9/v1/traces", timeout_s=0.2)
    result = await ReplayEngine(api_base=openai_stub.base_url, recorder=nowhere).run(RecordedRequest(messages=[{"role": "user", "content": "y"}], model="echo"))
    assert result.error is None
    recorder.shutdown()
    nowhere.shutdown()


def test_scores_url_follows_the_traces_url():
    assert scores_url_for("http://127.0.0.1:4318/v1/traces") == "http://127.0.0.1:4318/v1/scores"
    assert scores_url_for("http://host:9000") == "http://host:9000/v1/scores"


def test_without_the_sdk_recording_is_off_not_broken(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_sdk(name, *args, **kwargs):
        if name.startswith("opentelemetry.sdk") or name.startswith("opentelemetry.exporter"):
            raise ImportError(f"No module named {name!r}", name=name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sdk)
    recorder = ReplayRecorder("http://127.0.0.1:9/v1/traces")
    assert not recorder.enabled and "recording is off" in recorder.last_error
    assert recorder.record(object(), request=None, run_id="r") is None and recorder.flush() is False
    recorder.shutdown()
