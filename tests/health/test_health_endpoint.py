"""VllmEndpoint against a real HTTP server on 127.0.0.1 serving the fixtures."""

from __future__ import annotations

import pytest
from health_stub import add_line_after, fixture_text, set_sample

from store.health.endpoint import EndpointState, HttpResult, VllmEndpoint, classify_state
from store.health.vllm import EngineKey, derive

MIXED = fixture_text("metrics-datadog-mixed-v0.4.3-plus-v1-names.txt")
OPT = EngineKey("facebook/opt-125m", None)
M = 'model_name="facebook/opt-125m"'


def ttft(le: str) -> str:
    return f'vllm:time_to_first_token_seconds_bucket{{le="{le}",{M}}}'


def itl(le: str) -> str:
    return f'vllm:inter_token_latency_seconds_bucket{{le="{le}",{M}}}'


def second_scrape_text() -> str:
    """The mixed fixture after a known amount of traffic (see the test for the sums)."""
    text = MIXED
    text = set_sample(text, f"vllm:prompt_tokens_total{{{M}}}", 1005.0)  # was 5
    text = set_sample(text, f"vllm:generation_tokens_total{{{M}}}", 2007.0)  # was 7
    text = set_sample(text, f"vllm:num_preemptions_total{{{M}}}", 3.0)  # was 0
    text = set_sample(text, f'vllm:request_success_total{{finished_reason="length",{M}}}', 21.0)  # was 1
    text = add_line_after(
        text,
        f'vllm:request_success_total{{finished_reason="length",{M}}}',
        f'vllm:request_success_total{{finished_reason="stop",{M}}} 10.0',
    )
    text = set_sample(text, f"vllm:prefix_cache_queries_total{{{M}}}", 1117.0)  # was 117
    text = set_sample(text, f"vllm:prefix_cache_hits_total{{{M}}}", 314.0)  # was 64
    # TTFT: 10 new requests, 4 in (0.04, 0.06], 4 in (0.06, 0.08], 2 in (0.08, 0.1]
    for le, value in {"0.06": 4, "0.08": 8, "0.1": 10, "0.25": 10}.items():
        text = set_sample(text, ttft(le), float(value))
    for le in ("0.5", "0.75", "1.0", "2.5", "5.0", "7.5", "10.0", "+Inf"):
        text = set_sample(text, ttft(le), 11.0)  # was 1
    text = set_sample(text, f"vllm:time_to_first_token_seconds_count{{{M}}}", 11.0)
    text = set_sample(text, f"vllm:time_to_first_token_seconds_sum{{{M}}}", 0.31326723098754883 + 0.7)
    # inter-token latency (new name): 50 in [0, 0.01], 50 in (0.01, 0.1]
    text = set_sample(text, itl("0.01"), 191.0)  # was 141
    text = set_sample(text, itl("0.1"), 244.0)  # was 144
    text = set_sample(text, itl("+Inf"), 244.0)
    text = set_sample(text, f"vllm:inter_token_latency_seconds_count{{{M}}}", 244.0)
    # the deprecated time_per_output_token_seconds is left alone: were it read,
    # the window would be empty and the quantiles None
    return text


async def test_scrape_reads_health_metrics_and_models(stub_vllm):
    stub_vllm.set_metrics(MIXED)
    async with VllmEndpoint(stub_vllm.url) as endpoint:
        scrape = await endpoint.scrape()
    assert scrape.state is EndpointState.UP and scrape.up and scrape.error is None
    assert scrape.target == f"vllm:{stub_vllm.url}"
    assert scrape.health_status == 200
    assert scrape.time.tzinfo is not None and scrape.duration_s is not None
    assert [(m.id, m.max_model_len, m.root) for m in scrape.models] == [("facebook/opt-125m", 2048, "facebook/opt-125m")]
    assert scrape.metrics is not None and scrape.metrics.ok
    assert scrape.vllm is not None and scrape.vllm.engines[OPT].prefix_cache_hits == 64.0


async def test_rates_and_quantiles_between_two_scrapes(stub_vllm):
    stub_vllm.set_metrics(MIXED)
    async with VllmEndpoint(stub_vllm.url) as endpoint:
        first = await endpoint.scrape()
        stub_vllm.set_metrics(second_scrape_text())
        second = await endpoint.scrape()
    dt = second.monotonic - first.monotonic
    assert dt > 0
    (stats,) = derive(first.vllm, second.vllm, dt)
    assert stats.prompt_tokens_per_s == pytest.approx(1000 / dt)
    assert stats.generation_tokens_per_s == pytest.approx(2000 / dt)
    assert stats.preemptions_per_s == pytest.approx(3 / dt)
    assert dict(stats.request_success_per_s) == {"length": pytest.approx(20 / dt), "stop": pytest.approx(10 / dt)}
    assert stats.prefix_cache_hit_rate == pytest.approx(250 / 1000)
    # TTFT window: le 0.04: 0, 0.06: 4, 0.08: 8, 0.1: 10, ..., +Inf: 10
    # p50 rank 5 -> (0.06, 0.08]: 0.06 + 0.02 * 1/4 = 0.065
    # p90 rank 9 -> (0.08, 0.1]: 0.08 + 0.02 * 1/2 = 0.09
    # p99 rank 9.9 -> (0.08, 0.1]: 0.08 + 0.02 * 1.9/2 = 0.099
    ttft_window = stats.latency["ttft"]
    assert ttft_window.p50 == pytest.approx(0.065)
    assert ttft_window.p90 == pytest.approx(0.09)
    assert ttft_window.p99 == pytest.approx(0.099)
    assert ttft_window.count == 10 and ttft_window.mean == pytest.approx(0.07)
    # ITL window: le 0.01: 50, 0.1: 100, +Inf: 100
    # p50 rank 50 -> [0, 0.01]: 0.01; p90 rank 90 -> 0.01 + 0.09 * 40/50 = 0.082; p99 -> 0.01 + 0.09 * 49/50
    itl_window = stats.latency["itl"]
    assert itl_window.p50 == pytest.approx(0.01)
    assert itl_window.p90 == pytest.approx(0.082)
    assert itl_window.p99 == pytest.approx(0.0982)
    # e2e and queue saw nothing in the window
    assert stats.latency["e2e"].p50 is None and stats.latency["queue"].count == 0
    assert not stats.counter_reset


async def test_connection_refused_is_down(closed_port_url):
    async with VllmEndpoint(closed_port_url, timeout=1.0) as endpoint:
        scrape = await endpoint.scrape()
    assert scrape.state is EndpointState.DOWN
    assert scrape.error == "connection refused"
    assert scrape.metrics is None and scrape.vllm is None and scrape.health_status is None


async def test_hanging_server_is_down_with_timeout(stub_vllm):
    stub_vllm.set_metrics(MIXED)
    stub_vllm.delays = {"/health": 1.0, "/metrics": 1.0, "/v1/models": 1.0}
    async with VllmEndpoint(stub_vllm.url, timeout=0.2) as endpoint:
        scrape = await endpoint.scrape()
    assert scrape.state is EndpointState.DOWN
    assert scrape.error == "timeout after 0.2s (/health)"
    assert scrape.duration_s < 1.0


async def test_slow_metrics_only_keeps_the_endpoint_up(stub_vllm):
    stub_vllm.set_metrics(MIXED)
    stub_vllm.delays = {"/metrics": 1.0}
    async with VllmEndpoint(stub_vllm.url, timeout=0.2) as endpoint:
        scrape = await endpoint.scrape()
    assert scrape.state is EndpointState.UP
    assert scrape.error == "metrics: timeout after 0.2s (/metrics)"
    assert scrape.vllm is None


async def test_503_before_and_after_being_up(stub_vllm):
    stub_vllm.set_metrics(MIXED)
    async with VllmEndpoint(stub_vllm.url) as endpoint:
        stub_vllm.set_health(503)
        starting = await endpoint.scrape()
        stub_vllm.set_health(200)
        up = await endpoint.scrape()
        stub_vllm.set_health(503)
        dead = await endpoint.scrape()
        stub_vllm.set_health(503, "server is draining")
        draining_body = await endpoint.scrape()
    assert starting.state is EndpointState.WARMING and "503" in starting.error
    assert up.state is EndpointState.UP
    assert dead.state is EndpointState.DOWN and dead.error == "HTTP 503: engine dead"
    assert draining_body.state is EndpointState.DRAINING


async def test_server_draining_gauge_means_draining(stub_vllm):
    draining = MIXED + '\n# TYPE vllm:server_draining gauge\nvllm:server_draining{model_name="facebook/opt-125m"} 1.0\n'
    stub_vllm.set_metrics(draining)
    stub_vllm.set_health(503)
    async with VllmEndpoint(stub_vllm.url) as endpoint:
        scrape = await endpoint.scrape()
    assert scrape.state is EndpointState.DRAINING
    assert "server_draining" in scrape.error


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (200, "<html><body>Welcome to nginx!</body></html>", "metrics: unreadable body (1 bad lines)"),
        (200, "", "metrics: empty body"),
        (200, '# TYPE python_info gauge\npython_info{version="3.11.7"} 1.0\n', "metrics: no vllm: series"),
        (404, '{"detail":"Not Found"}', "metrics: HTTP 404"),
    ],
)
async def test_bad_or_missing_metrics_keep_up_with_an_error(stub_vllm, status, body, error):
    stub_vllm.set_metrics(body, status=status)
    async with VllmEndpoint(stub_vllm.url) as endpoint:
        scrape = await endpoint.scrape()
    assert scrape.state is EndpointState.UP
    assert scrape.error == error
    assert scrape.vllm is None or scrape.vllm.empty


async def test_partial_body_is_used_and_skipped_lines_reported(stub_vllm):
    stub_vllm.set_metrics(fixture_text("metrics-v1-docs-design-example.txt"))
    async with VllmEndpoint(stub_vllm.url) as endpoint:
        scrape = await endpoint.scrape()
    assert scrape.state is EndpointState.UP
    assert scrape.error == "metrics: 4 unreadable lines skipped"
    assert scrape.vllm.engines[EngineKey("meta-llama/Llama-3.1-8B-Instruct", None)].running == 8.0


async def test_no_health_route_falls_back_to_metrics(stub_vllm):
    stub_vllm.set_metrics(MIXED)
    stub_vllm.responses.pop("/health")
    async with VllmEndpoint(stub_vllm.url.removeprefix("http://") + "/") as endpoint:
        assert endpoint.base_url == stub_vllm.url
        scrape = await endpoint.scrape()
    assert scrape.state is EndpointState.UP


async def test_models_are_read_again_only_now_and_then(stub_vllm):
    stub_vllm.set_metrics(MIXED)
    async with VllmEndpoint(stub_vllm.url, models_every=3) as endpoint:
        for _ in range(4):
            scrape = await endpoint.scrape()
    assert stub_vllm.hits["/v1/models"] == 2  # scrapes 1 and 4
    assert scrape.models[0].id == "facebook/opt-125m"


def test_classify_state_table():
    ok, unavailable = HttpResult(200), HttpResult(503)
    assert classify_state(HttpResult(error="connection refused"), None, None, True) == (EndpointState.DOWN, "connection refused")
    assert classify_state(ok, 200, True, True)[0] is EndpointState.DRAINING
    assert classify_state(ok, 200, False, False) == (EndpointState.UP, None)
    assert classify_state(unavailable, 200, None, False)[0] is EndpointState.WARMING
    assert classify_state(unavailable, 200, None, True)[0] is EndpointState.DOWN
    assert classify_state(HttpResult(503, "Model is loading"), 200, None, True)[0] is EndpointState.WARMING
    assert classify_state(HttpResult(404), 200, None, False)[0] is EndpointState.UP
    assert classify_state(HttpResult(404), 404, None, False)[0] is EndpointState.DOWN
    assert classify_state(HttpResult(500), 200, None, True) == (EndpointState.DOWN, "/health HTTP 500")
