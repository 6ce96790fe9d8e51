"""Health history queries over a real store: chart series, GPU buckets, the
server's state around a span, and the latency our traces saw."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import polars as pl
import pytest

from store.health.aggregate import merge_engine_frame, merge_engines
from store.health.samples import vllm_metrics_history, vllm_stats_frame
from store.query import StoreReader
from store.query.health import HealthQueries, matches_server, server_addresses
from tests.support.health_store import llm_span_rows, write_health_history, write_spans

END = datetime(2026, 3, 2, 10, 0, 0, tzinfo=timezone.utc)
TARGET = "vllm:http://127.0.0.1:8000"
MULTI = "vllm:http://gpu-b:8001"


@pytest.fixture
def store(tmp_path):  # type: ignore[no-untyped-def]
    root = tmp_path / "store"
    write_health_history(root, END, minutes=20, endpoints={TARGET: {}, MULTI: {"engines": 2, "phase": 30.0}},
                         gpus=2, down={TARGET: [(600, 660)]})
    return root


def test_loopback_spellings_name_one_endpoint():
    assert matches_server("localhost:8000", TARGET) and matches_server("127.0.0.1:8000", TARGET)
    assert matches_server("[::1]:8000", TARGET)
    assert not matches_server("localhost:8001", TARGET) and not matches_server("api.openai.com", TARGET)
    assert matches_server("gpu-b", MULTI)  # no port in the span: the host decides
    assert "localhost:8000" in server_addresses(TARGET) and server_addresses(MULTI) == ["gpu-b:8001"]


def test_endpoint_history_spreads_points_and_averages_between_them(store):
    queries = HealthQueries(StoreReader(store))
    since = END - timedelta(minutes=15)
    every = queries.endpoint_history(TARGET, since, END, points=1000)
    assert every["time"].min() >= since
    # 91 scrapes in 15 minutes, 6 of them down (no vLLM samples): 85 points, each over the 10 s before it
    assert every.height == 85
    assert every["generation_tokens_per_s"].to_list() == pytest.approx([900.0] * 85)
    few = queries.endpoint_history(TARGET, since, END, points=10)
    assert few.height <= 10  # a picked scrape in the outage has no vLLM samples
    assert few["generation_tokens_per_s"].to_list() == pytest.approx([900.0] * few.height)  # averages over ~100 s
    assert few["window_s"].min() >= 100


def test_merged_engines_sum_rates_and_keep_the_fullest_kv_cache(store):
    queries = HealthQueries(StoreReader(store))
    frame = queries.samples(END - timedelta(minutes=2), END, targets=[MULTI])
    per_engine = vllm_stats_frame(frame, MULTI)
    total = vllm_stats_frame(merge_engine_frame(frame), MULTI)
    last = per_engine.filter(pl.col("time") == END)
    assert last.height == 2 and total.filter(pl.col("time") == END).height == 1
    row = total.filter(pl.col("time") == END).row(0, named=True)
    assert row["generation_tokens_per_s"] == pytest.approx(last["generation_tokens_per_s"].sum())
    assert row["running"] == last["running"].sum()
    assert row["kv_cache_usage"] == last["kv_cache_usage"].max()
    # the stored-frame merge and the live merge agree
    (_, _, metrics), = [h for h in vllm_metrics_history(frame, MULTI) if h[0] == END]
    (live,) = merge_engines(metrics).engines.values()
    assert live.generation_tokens == vllm_metrics_history(merge_engine_frame(frame), MULTI)[-1][2].engines[
        next(iter(merge_engines(metrics).engines))].generation_tokens


def test_gpu_history_buckets_and_fractions(store):
    queries = HealthQueries(StoreReader(store))
    gpus = queries.gpu_history(END - timedelta(minutes=10), END, points=20)
    assert set(gpus["target"].to_list()) == {"gpu:0", "gpu:1"}
    assert gpus.filter(pl.col("target") == "gpu:0").height <= 21
    assert ((gpus["mem_fraction"] > 0) & (gpus["mem_fraction"] < 1)).all()
    assert gpus["power_fraction"].max() <= 1.0
    status = queries.gpu_status(END - timedelta(minutes=1))
    assert status.row(0, named=True)["available"] and status["source"].to_list() == ["fake"]


def test_endpoint_states_record_the_outage(store):
    states = HealthQueries(StoreReader(store)).endpoint_states(END - timedelta(minutes=20), target=TARGET)
    assert states.filter(pl.col("state") == "down").height == 6
    assert states["up"].sum() == states.height - 6


def test_server_state_reads_the_scrapes_around_the_span(store):
    queries = HealthQueries(StoreReader(store))
    start = END - timedelta(minutes=5, seconds=3)  # 7 s after a scrape, 3 s before the next
    state = queries.server_state("localhost:8000", start)
    assert state.target == TARGET and state.note is None
    assert (state.before.offset_s, state.after.offset_s) == (-7.0, 3.0)
    frame = queries.samples(state.before.time, state.before.time, targets=[TARGET])
    kv = frame.filter(pl.col("metric") == "kv_cache_usage_perc")["value"].item()
    assert state.before.kv_cache_usage == kv and state.before.state == "up"
    assert state.generation_tokens_per_s == pytest.approx(900.0)
    assert state.ttft is not None and state.ttft.count == pytest.approx(30.0)  # 3 requests/s for 10 s
    assert [g.target for g in state.gpus] == ["gpu:0", "gpu:1"] and state.gpu_scope == "this machine"
    assert state.gpus[0].offset_s == 3.0  # the nearest reading, after the start


def test_server_state_explains_what_is_missing(store):
    queries = HealthQueries(StoreReader(store))
    assert "no scraped endpoint matches api.openai.com" in queries.server_state("api.openai.com", END).note
    far = queries.server_state("localhost:8000", END - timedelta(days=3))
    assert far.target is None and far.note == "no health samples were stored around this time"
    many = queries.server_states([(i, "localhost:8000", END - timedelta(seconds=15 * i)) for i in range(20)])
    assert len(many) == 20 and all(s.target == TARGET for s in many.values())


def test_trace_latency_quantiles_of_the_spans_an_endpoint_served(store):
    # 11 calls: durations 2000 ms * (1.00 .. 1.10), TTFT 200 ms * the same
    write_spans(store, llm_span_rows("localhost:8000", END - timedelta(minutes=4), 11))
    write_spans(store, llm_span_rows("api.openai.com:443", END - timedelta(minutes=4), 5, tag="other"))
    latency = HealthQueries(StoreReader(store)).trace_latency(TARGET, END - timedelta(minutes=5))
    assert latency.spans == 11 and latency.ttft_spans == 11
    assert latency.duration_p50 == pytest.approx(2000 * 1.05)
    assert latency.duration_p90 == pytest.approx(2000 * 1.09)  # quantile_cont: 1.09 at rank 9.0
    assert latency.duration_p99 == pytest.approx(2000 * 1.099)
    assert latency.ttft_p50 == pytest.approx(200 * 1.05)
    none = HealthQueries(StoreReader(store)).trace_latency(MULTI, END - timedelta(minutes=5))
    assert none.spans == 0 and none.duration_p50 is None
