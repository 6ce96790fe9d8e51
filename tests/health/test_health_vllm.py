"""vLLM semantics: canonical names, renames, engines, derive(), histogram_quantile."""

from __future__ import annotations

import math

import pytest
from health_stub import fixture_text, set_sample, uncomment

from store.health.histogram import bucket_deltas, histogram_quantile
from store.health.prometheus import parse_metrics
from store.health.vllm import EngineKey, VllmMetrics, canonical_samples, derive

OPT = EngineKey("facebook/opt-125m", None)


def metrics_of(text: str) -> VllmMetrics:
    return VllmMetrics.from_snapshot(parse_metrics(text))


def test_old_names_are_read_under_the_new_ones():
    metrics = metrics_of(fixture_text("metrics-v0.4.3-gpu_cache_usage-datadog.txt"))
    assert metrics.deprecated_names == ("vllm:gpu_cache_usage_perc", "vllm:time_per_output_token_seconds")
    engine = metrics.engines[OPT]
    assert engine.kv_cache_usage == 0.0
    assert (engine.prompt_tokens, engine.generation_tokens, engine.preemptions) == (5.0, 7.0, 0.0)
    assert dict(engine.request_success) == {"length": 1.0}
    assert engine.prefix_cache_queries is None  # not exposed by 0.4.3
    itl = engine.histograms["inter_token_latency_seconds"]  # from time_per_output_token_seconds
    assert itl.buckets[2] == (0.05, 6.0) and itl.count == 6.0 and not itl.inf_from_count
    assert {s.metric for s in metrics.samples} >= {"kv_cache_usage_perc", "inter_token_latency_seconds_bucket"}
    assert not any(s.metric.startswith(("gpu_cache", "time_per_output")) for s in metrics.samples)


def test_mixed_fixture_prefers_new_names_and_never_mixes_buckets():
    metrics = metrics_of(fixture_text("metrics-datadog-mixed-v0.4.3-plus-v1-names.txt"))
    assert metrics.deprecated_names == ()
    engine = metrics.engines[OPT]
    # the appended V1 inter_token_latency has buckets 0.01, 0.1, +Inf only
    itl = engine.histograms["inter_token_latency_seconds"]
    assert itl.buckets == ((0.01, 141.0), (0.1, 144.0), (math.inf, 144.0))
    assert itl.sum == pytest.approx(0.6237391703762114)
    assert (engine.prefix_cache_queries, engine.prefix_cache_hits) == (117.0, 64.0)
    assert engine.histograms["request_queue_time_seconds"].buckets == ((0.3, 6.0), (math.inf, 6.0))
    kv = [s for s in metrics.samples if s.metric == "kv_cache_usage_perc"]
    assert len(kv) == 1


def test_new_name_wins_per_engine_old_name_fills_in_elsewhere():
    text = "\n".join(
        [
            "# TYPE vllm:kv_cache_usage_perc gauge",
            'vllm:kv_cache_usage_perc{engine="0",model_name="a"} 0.5',
            "# TYPE vllm:gpu_cache_usage_perc gauge",
            'vllm:gpu_cache_usage_perc{engine="0",model_name="a"} 0.9',
            'vllm:gpu_cache_usage_perc{engine="1",model_name="a"} 0.7',
        ]
    )
    metrics = metrics_of(text)
    assert metrics.engines[EngineKey("a", "0")].kv_cache_usage == 0.5
    assert metrics.engines[EngineKey("a", "1")].kv_cache_usage == 0.7
    assert metrics.deprecated_names == ("vllm:gpu_cache_usage_perc",)


def test_several_models_and_engines_are_kept_apart():
    base = fixture_text("metrics-datadog-mixed-v0.4.3-plus-v1-names.txt")
    copies = []
    for model in ("m1", "m2"):
        for engine in ("0", "1"):
            copies.append(
                "\n".join(
                    line.replace('model_name="facebook/opt-125m"', f'engine="{engine}",model_name="{model}"')
                    for line in base.splitlines()
                    if line.startswith("vllm:")
                )
            )
    text = "\n".join(copies)
    text = set_sample(text, 'vllm:num_requests_waiting{engine="1",model_name="m2"}', 7.0)
    metrics = metrics_of(text)
    assert list(metrics.engines) == [
        EngineKey("m1", "0"),
        EngineKey("m1", "1"),
        EngineKey("m2", "0"),
        EngineKey("m2", "1"),
    ]
    assert metrics.engines[EngineKey("m2", "1")].waiting == 7.0
    assert metrics.engines[EngineKey("m1", "1")].waiting == 0.0
    assert EngineKey("m2", "1").label == "m2 engine=1"
    assert EngineKey(None, None).label == "-"


def test_recovered_commented_dump_gives_v0_engine_values():
    metrics = metrics_of(uncomment(fixture_text("metrics-v0engine-qwen3-commented-script-unattributed.txt")))
    engine = metrics.engines[EngineKey("Qwen/Qwen3-0.6B", None)]
    assert engine.kv_cache_usage == 0.0
    queue = engine.histograms["request_queue_time_seconds"]
    assert queue.count == 38.0 and queue.buckets[-1] == (math.inf, 38.0)


def test_missing_inf_bucket_is_taken_from_count():
    metrics = metrics_of(fixture_text("metrics-v1-docs-design-example.txt"))
    ttft = metrics.engines[EngineKey("meta-llama/Llama-3.1-8B-Instruct", None)].histograms[
        "time_to_first_token_seconds"
    ]
    assert ttft.inf_from_count and ttft.buckets[-1] == (math.inf, 140.0) and ttft.sum is None


def test_non_vllm_body_gives_empty_metrics():
    metrics = metrics_of("# TYPE python_info gauge\npython_info{version=\"3.11\"} 1.0\n")
    assert metrics.empty and metrics.engines == {}
    assert canonical_samples(parse_metrics("")) == ()


# --------------------------------------------------------------------------- derive

V1_TEMPLATE = """\
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="m"} 3.0
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="m"} 1.0
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="m"} 0.42
# TYPE vllm:prompt_tokens_total counter
vllm:prompt_tokens_total{engine="0",model_name="m"} %(prompt)s
# TYPE vllm:generation_tokens_total counter
vllm:generation_tokens_total{engine="0",model_name="m"} %(gen)s
# TYPE vllm:num_preemptions_total counter
vllm:num_preemptions_total{engine="0",model_name="m"} %(pre)s
# TYPE vllm:request_success_total counter
vllm:request_success_total{engine="0",finished_reason="stop",model_name="m"} %(stop)s
# TYPE vllm:prefix_cache_queries_total counter
vllm:prefix_cache_queries_total{engine="0",model_name="m"} %(q)s
# TYPE vllm:prefix_cache_hits_total counter
vllm:prefix_cache_hits_total{engine="0",model_name="m"} %(h)s
# TYPE vllm:e2e_request_latency_seconds histogram
vllm:e2e_request_latency_seconds_bucket{engine="0",le="1.0",model_name="m"} %(b1)s
vllm:e2e_request_latency_seconds_bucket{engine="0",le="2.0",model_name="m"} %(b2)s
vllm:e2e_request_latency_seconds_bucket{engine="0",le="4.0",model_name="m"} %(b4)s
vllm:e2e_request_latency_seconds_bucket{engine="0",le="+Inf",model_name="m"} %(binf)s
vllm:e2e_request_latency_seconds_count{engine="0",model_name="m"} %(binf)s
vllm:e2e_request_latency_seconds_sum{engine="0",model_name="m"} %(bsum)s
"""


def v1(**values: float) -> VllmMetrics:
    defaults = dict(prompt=0, gen=0, pre=0, stop=0, q=0, h=0, b1=0, b2=0, b4=0, binf=0, bsum=0)
    return metrics_of(V1_TEMPLATE % (defaults | values))


def test_derive_rates_hit_rate_and_quantiles_by_hand():
    before = v1(prompt=1000, gen=500, pre=2, stop=10, q=400, h=100, b1=10, b2=10, b4=10, binf=10, bsum=5)
    after = v1(prompt=3000, gen=1500, pre=5, stop=30, q=1400, h=350, b1=30, b2=50, b4=60, binf=60, bsum=95)
    (stats,) = derive(before, after, 10.0)
    assert stats.key == EngineKey("m", "0")
    assert (stats.running, stats.waiting, stats.kv_cache_usage) == (3.0, 1.0, 0.42)
    assert stats.prompt_tokens_per_s == 200.0  # (3000-1000)/10
    assert stats.generation_tokens_per_s == 100.0
    assert stats.preemptions_per_s == pytest.approx(0.3)
    assert dict(stats.request_success_per_s) == {"stop": 2.0}
    assert stats.requests_per_s == 2.0
    assert stats.prefix_cache_hit_rate == 0.25  # 250 / 1000
    e2e = stats.latency["e2e"]
    # window buckets: le1: 20, le2: 40, le4: 50, +Inf: 50
    # p50: rank 25 in (1,2]: 1 + 1*(25-20)/20 = 1.25
    # p90: rank 45 in (2,4]: 2 + 2*(45-40)/10 = 3.0
    # p99: rank 49.5 in (2,4]: 2 + 2*(9.5/10) = 3.9
    assert (e2e.p50, e2e.p90, e2e.p99) == (pytest.approx(1.25), pytest.approx(3.0), pytest.approx(3.9))
    assert e2e.count == 50 and e2e.mean == pytest.approx(90 / 50)
    assert stats.window_s == 10.0 and not stats.counter_reset


def test_derive_counter_reset_counts_from_zero():
    before = v1(prompt=5000, gen=100, b1=100, b2=100, b4=100, binf=100, bsum=50)
    after = v1(prompt=300, gen=200, b1=2, b2=4, b4=4, binf=4, bsum=5)
    (stats,) = derive(before, after, 5.0)
    assert stats.counter_reset
    assert stats.prompt_tokens_per_s == 60.0  # restarted: 300 since the reset
    assert stats.generation_tokens_per_s == 20.0
    e2e = stats.latency["e2e"]
    assert e2e.count == 4 and e2e.p50 == pytest.approx(1.0)  # rank 2 of (le1: 2, le2: 4)


def test_derive_empty_window_and_no_previous():
    same = v1(prompt=10, b1=1, b2=1, b4=1, binf=1, bsum=0.5)
    (stats,) = derive(same, same, 5.0)
    assert stats.prompt_tokens_per_s == 0.0
    assert stats.prefix_cache_hit_rate is None  # no queries in the window
    assert stats.latency["e2e"].p50 is None and stats.latency["e2e"].count == 0
    (first,) = derive(None, same, None)
    assert first.prompt_tokens_per_s is None and first.latency == {} and first.running == 3.0
    (zero_dt,) = derive(same, same, 0.0)
    assert zero_dt.prompt_tokens_per_s is None


def test_derive_accepts_parsed_snapshots():
    text = V1_TEMPLATE % dict(prompt=0, gen=0, pre=0, stop=0, q=0, h=0, b1=0, b2=0, b4=0, binf=0, bsum=0)
    (stats,) = derive(parse_metrics(text), parse_metrics(text.replace("prompt_tokens_total{engine=\"0\",model_name=\"m\"} 0", "prompt_tokens_total{engine=\"0\",model_name=\"m\"} 50")), 5.0)
    assert stats.prompt_tokens_per_s == 10.0


# --------------------------------------------------------------------------- histogram_quantile


def test_histogram_quantile_matches_promql_rules():
    buckets = [(0.1, 10.0), (0.2, 30.0), (0.4, 40.0), (math.inf, 40.0)]
    assert histogram_quantile(0.5, buckets) == pytest.approx(0.15)  # rank 20 in (0.1, 0.2]
    assert histogram_quantile(0.25, buckets) == pytest.approx(0.1)
    assert histogram_quantile(0.1, buckets) == pytest.approx(0.04)  # first bucket starts at 0
    assert histogram_quantile(0.5, list(reversed(buckets))) == pytest.approx(0.15)  # any order
    # rank in the +Inf bucket -> the highest finite bound
    assert histogram_quantile(0.99, [(1.0, 1.0), (2.0, 2.0), (math.inf, 10.0)]) == 2.0
    assert histogram_quantile(1.5, buckets) == math.inf
    assert histogram_quantile(-1, buckets) == -math.inf
    assert histogram_quantile(math.nan, buckets) is None


def test_histogram_quantile_edge_cases_are_none():
    assert histogram_quantile(0.5, [(0.1, 1.0), (0.2, 2.0)]) is None  # no +Inf
    assert histogram_quantile(0.5, [(math.inf, 5.0)]) is None  # one bucket
    assert histogram_quantile(0.5, [(0.1, 0.0), (math.inf, 0.0)]) is None  # nothing observed
    assert histogram_quantile(0.5, []) is None


def test_histogram_quantile_forces_monotonic_counts():
    # a non-atomic scrape: a later bucket lower than an earlier one
    # (3.0, 8.0) is read as 10: rank 11 falls in (3, 4] with 1 of its 2 -> 3.5, not 3.75
    dipped = [(1.0, 4.0), (2.0, 10.0), (3.0, 8.0), (4.0, 12.0), (math.inf, 12.0)]
    assert histogram_quantile(11 / 12, dipped) == pytest.approx(3.5)


def test_bucket_deltas_detects_layout_change_and_decrease():
    a = ((1.0, 5.0), (math.inf, 10.0))
    assert bucket_deltas(None, a) == ((), False)
    assert bucket_deltas(a, ((1.0, 7.0), (math.inf, 13.0))) == (((1.0, 2.0), (math.inf, 3.0)), False)
    assert bucket_deltas(a, ((1.0, 1.0), (math.inf, 2.0)))[1] is True
    assert bucket_deltas(a, ((2.0, 1.0), (math.inf, 2.0)))[1] is True
