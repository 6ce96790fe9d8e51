"""Parsing real /metrics captures (tests/fixtures/vllm) into MetricsSnapshot."""

from __future__ import annotations

import pytest
from health_stub import fixture_text, uncomment

from store.health.prometheus import parse_metrics


def test_v0_capture_parses_whole_with_types_and_help():
    snapshot = parse_metrics(fixture_text("metrics-v0.4.3-gpu_cache_usage-datadog.txt"))
    assert snapshot.ok and snapshot.errors == () and snapshot.bad_lines == 0
    running = snapshot.families["vllm:num_requests_running"]
    assert running.type == "gauge"
    assert running.help == "Number of requests currently running on GPU."
    assert running.samples[0].labels == {"model_name": "facebook/opt-125m"}
    # prometheus_client names a counter family without _total; samples keep it
    prompt = snapshot.families["vllm:prompt_tokens"]
    assert prompt.type == "counter"
    assert [(s.name, s.value) for s in prompt.samples] == [("vllm:prompt_tokens_total", 5.0)]
    ttft = snapshot.families["vllm:time_to_first_token_seconds"]
    assert ttft.type == "histogram"
    inf = [s for s in ttft.samples if s.labels.get("le") == "+Inf"]
    assert inf[0].value == 1.0


def test_snapshot_is_immutable():
    snapshot = parse_metrics(fixture_text("metrics-v0.4.3-gpu_cache_usage-datadog.txt"))
    with pytest.raises(TypeError):
        snapshot.families["x"] = None  # type: ignore[index]
    with pytest.raises(TypeError):
        snapshot.families["vllm:num_requests_running"].samples[0].labels["model_name"] = "y"  # type: ignore[index]
    with pytest.raises(AttributeError):
        snapshot.bad_lines = 3  # type: ignore[misc]


def test_design_doc_example_skips_shell_prompt_and_elisions():
    snapshot = parse_metrics(fixture_text("metrics-v1-docs-design-example.txt"))
    # line 1 is "$ curl ...", lines 5, 9 and 15 are "..."
    assert [(e.line_no, e.line) for e in snapshot.errors] == [
        (1, "$ curl http://0.0.0.0:8000/metrics"),
        (5, "..."),
        (9, "..."),
        (15, "..."),
    ]
    assert snapshot.bad_lines == 4
    assert "shell command" in snapshot.errors[0].reason
    assert "elision" in snapshot.errors[1].reason
    assert set(snapshot.families) == {
        "vllm:num_requests_running",
        "vllm:generation_tokens",
        "vllm:request_success",
        "vllm:time_to_first_token_seconds",
    }
    success = snapshot.families["vllm:request_success"].samples
    assert {s.labels["finished_reason"]: s.value for s in success} == {"stop": 1.0, "length": 131.0, "abort": 0.0}
    # the TTFT histogram in the doc has no +Inf bucket and no _sum
    ttft = snapshot.families["vllm:time_to_first_token_seconds"].samples
    assert not any(s.labels.get("le") == "+Inf" for s in ttft)
    assert [s.value for s in ttft if s.name.endswith("_count")] == [140.0]


def test_usage_doc_example_keeps_the_partial_histogram():
    snapshot = parse_metrics(fixture_text("metrics-v1-docs-usage-example.txt"))
    assert snapshot.bad_lines == 2  # "$ curl" and the trailing "..."
    family = snapshot.families["vllm:iteration_tokens_total"]
    assert family.type == "histogram"
    assert len([s for s in family.samples if s.name.endswith("_bucket")]) == 8


def test_mixed_fixture_holds_old_and_new_names():
    snapshot = parse_metrics(fixture_text("metrics-datadog-mixed-v0.4.3-plus-v1-names.txt"))
    assert snapshot.ok
    for name in (
        "vllm:gpu_cache_usage_perc",
        "vllm:kv_cache_usage_perc",
        "vllm:time_per_output_token_seconds",
        "vllm:inter_token_latency_seconds",
        "vllm:prefix_cache_queries",
        "vllm:prefix_cache_hits",
    ):
        assert name in snapshot.families


def test_commented_dump_is_all_comments_until_recovered():
    raw = fixture_text("metrics-v0engine-qwen3-commented-script-unattributed.txt")
    as_is = parse_metrics(raw)
    # every metric line is a comment; only the bare "curl ..." line is debris
    assert as_is.empty
    assert as_is.errors[0].line_no == 0 and "no metric samples" in as_is.errors[0].reason
    assert [(e.line_no, e.line) for e in as_is.errors[1:]] == [(3, "curl http://localhost:8000/metrics")]

    recovered = parse_metrics(uncomment(raw))
    assert recovered.ok
    assert recovered.families["vllm:gpu_cache_usage_perc"].samples[0].labels == {"model_name": "Qwen/Qwen3-0.6B"}
    queue = recovered.families["vllm:request_queue_time_seconds"]
    # this capture lists _sum before the buckets
    assert queue.samples[0].name == "vllm:request_queue_time_seconds_sum"
    assert queue.samples[0].value == pytest.approx(0.017765522003173828)
    lora = recovered.families["vllm:lora_requests_info"].samples[0]
    assert lora.labels == {"max_lora": "1", "running_lora_adapters": "", "waiting_lora_adapters": ""}


@pytest.mark.parametrize(
    "body",
    [
        "<html><body>502 Bad Gateway</body></html>",
        "this is not\nprometheus text at all",
        '{"detail": "Not Found"}',
        "\x00\x01\x02 binary junk",
    ],
)
def test_garbage_body_is_an_error_not_an_exception(body):
    snapshot = parse_metrics(body)
    assert snapshot.empty
    assert snapshot.errors and snapshot.errors[0].line_no == 0
    assert not snapshot.ok


def test_garbage_lines_between_good_ones_are_skipped_and_reported():
    text = fixture_text("metrics-v0.4.3-gpu_cache_usage-datadog.txt")
    lines = text.splitlines()
    lines.insert(60, "this line is broken {")
    lines.insert(10, "...")
    snapshot = parse_metrics("\n".join(lines))
    assert snapshot.bad_lines == 2
    assert [e.line for e in snapshot.errors] == ["...", "this line is broken {"]
    assert "vllm:num_requests_running" in snapshot.families
    assert len(list(snapshot.samples())) == len(list(parse_metrics(text).samples()))


def test_empty_body_is_empty_without_errors():
    snapshot = parse_metrics("")
    assert snapshot.empty and snapshot.errors == ()


def test_non_text_body_is_an_error():
    snapshot = parse_metrics(b"vllm:x 1")  # type: ignore[arg-type]
    assert snapshot.empty and "not text" in snapshot.errors[0].reason
