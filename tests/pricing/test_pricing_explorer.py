"""The cost explorer against hand-computed figures, end to end: OTLP/JSON spans into a
real collector (priced at ingest), then ``CostQueries.explore`` over the store.

Prices are litellm 1.106.2's bundled map, worked out next to each span; the GPU
endpoint and the override come from the collector's own [pricing] config.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest

from store.pricing.config import PricingConfig
from store.query import StoreReader
from store.query.costs import CostQueries, CostQuery
from tests.support.collector import start_inprocess

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)  # a Monday, on a 5-minute boundary
US = 1_000_000
PRICING = {
    "overrides": {"my-ft-*": {"input_per_million": 1.0, "output_per_million": 2.0}},
    # $2 per GPU-hour x 3 GPUs = $6/h = $0.50 per 5-minute bucket
    "gpu_endpoints": [{"name": "llama-box", "server": "10.0.0.5:8000", "usd_per_gpu_hour": 2.0, "gpu_count": 3}],
}


def _attr(key: str, value: object) -> dict:
    if isinstance(value, bool):
        v = {"boolValue": value}
    elif isinstance(value, int):
        v = {"intValue": str(value)}
    elif isinstance(value, float):
        v = {"doubleValue": value}
    else:
        v = {"stringValue": str(value)}
    return {"key": key, "value": v}


def _llm(n: int, at: timedelta, model: str, provider: str | None, user: str, inp: int, out: int, **extra: object) -> dict:
    attrs = {"gen_ai.operation.name": "chat", "gen_ai.request.model": model, "gen_ai.usage.input_tokens": inp,
             "gen_ai.usage.output_tokens": out, "user.id": user, **extra}
    if provider:
        attrs["gen_ai.provider.name"] = provider
    start = int((T0 + at).timestamp() * 1e9)
    return {"traceId": f"{n:032x}", "spanId": f"{n:016x}", "name": f"chat {model}", "kind": 3,
            "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 500_000_000),
            "attributes": [_attr(k, v) for k, v in attrs.items()], "status": {"code": 0}}


SPANS = [
    # gpt-4o: in 2.5e-6, cache read 1.25e-6, out 1e-5. 1000 in, 200 of them cached, 500 out:
    # 800*2.5e-6 = 0.002; 200*1.25e-6 = 0.00025; 500*1e-5 = 0.005 -> 0.00725
    _llm(1, timedelta(minutes=1), "gpt-4o", "openai", "alice", 1000, 500, **{"gen_ai.usage.cache_read.input_tokens": 200}),
    # claude-sonnet-4-5: in 3e-6, out 1.5e-5. 2000*3e-6 = 0.006; 300*1.5e-5 = 0.0045 -> 0.0105
    _llm(2, timedelta(minutes=2), "claude-sonnet-4-5", "anthropic", "alice", 2000, 300),
    # o3-mini: in 1.1e-6, out 4.4e-6, reasoning at the output price. 900*1.1e-6 + 2000*4.4e-6 -> 0.00979
    _llm(3, timedelta(minutes=3), "o3-mini", "openai", "bob", 900, 2000, **{"gen_ai.usage.reasoning.output_tokens": 1500}),
    # the app reported its own cost: kept as is
    _llm(4, timedelta(minutes=4), "gpt-4o-mini", "openai", "bob", 100, 10, **{"llm.cost.total": 0.0123}),
    # the user's override my-ft-*: 1000*1e-6 + 500*2e-6 -> 0.002
    _llm(5, timedelta(minutes=6), "my-ft-classifier", None, "carol", 1000, 500),
    # nobody prices this: unknown, never $0
    _llm(6, timedelta(minutes=7), "mystery-model-x", "acme", "carol", 50, 50),
    # GPU time, bucket [12:00, 12:05): tokens 300 and 100 -> $0.375 and $0.125
    _llm(7, timedelta(minutes=1), "llama-70b", "vllm", "alice", 200, 100, **{"server.address": "10.0.0.5", "server.port": 8000}),
    _llm(8, timedelta(minutes=2), "llama-70b", "vllm", "bob", 80, 20, **{"server.address": "10.0.0.5", "server.port": 8000}),
    # bucket [12:15, 12:20): alone -> $0.50; 12:05 and 12:10 are idle -> $1.00 idle
    _llm(9, timedelta(minutes=16), "llama-70b", "vllm", "carol", 40, 10, **{"server.address": "10.0.0.5", "server.port": 8000}),
]
EXPECTED_BY_MODEL = {
    "gpt-4o": 0.00725, "claude-sonnet-4-5": 0.0105, "o3-mini": 0.00979, "gpt-4o-mini": 0.0123,
    "my-ft-classifier": 0.002, "mystery-model-x": None, "llama-70b": 1.0,
}


@pytest.fixture(scope="module")
def priced_store(tmp_path_factory):
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    store = tmp_path_factory.mktemp("explorer") / "store"
    rc = start_inprocess(store, pricing=PRICING)
    try:
        doc = {"resourceSpans": [{"resource": {"attributes": [_attr("service.name", "pricing-app")]},
                                  "scopeSpans": [{"scope": {"name": "test"}, "spans": SPANS}]}]}
        r = httpx.post(rc.traces_url, content=orjson.dumps(doc), headers={"content-type": "application/json"})
        assert r.status_code == 200, r.text
        rc.wait_stored(len(SPANS))
    finally:
        rc.stop()
    return store


def _explore(store, by, **kw):
    queries = CostQueries(StoreReader(store), PricingConfig.from_dict(PRICING).pricer())
    since = int(T0.timestamp() * US)
    return queries.explore(CostQuery(since, since + 3600 * US, kw.pop("bucket", "hour"), by, **kw))


def test_costs_by_model_match_hand_computed_figures(priced_store):
    report = _explore(priced_store, ("model",))
    got = {row["model"]: row["cost_usd"] for row in report.groups.iter_rows(named=True)}
    assert got.keys() == EXPECTED_BY_MODEL.keys()
    for model, expected in EXPECTED_BY_MODEL.items():
        assert got[model] == (None if expected is None else pytest.approx(expected, rel=1e-9)), model
    assert report.totals["cost_usd"] == pytest.approx(sum(v for v in EXPECTED_BY_MODEL.values() if v), rel=1e-9)
    assert report.totals["calls"] == len(SPANS) and report.totals["unknown_calls"] == 1


def test_how_each_cost_was_obtained(priced_store):
    groups = {r["cost_source"]: r for r in _explore(priced_store, ("source",)).groups.iter_rows(named=True)}
    assert groups["computed"]["cost_usd"] == pytest.approx(0.00725 + 0.0105 + 0.00979)
    assert groups["reported"]["cost_usd"] == pytest.approx(0.0123)
    assert groups["override"]["cost_usd"] == pytest.approx(0.002)
    assert groups["gpu_time"]["cost_usd"] == pytest.approx(1.0)
    assert groups["unknown"]["cost_usd"] is None and groups["unknown"]["unknown_calls"] == 1


def test_gpu_hours_are_spread_by_tokens_per_bucket(priced_store):
    users = {r["user"]: r for r in _explore(priced_store, ("user",)).groups.iter_rows(named=True)}
    # alice: gpt-4o + claude + 3/4 of the first GPU bucket; bob: o3-mini + reported + 1/4 of it
    assert users["alice"]["gpu_time_usd"] == pytest.approx(0.375)
    assert users["bob"]["gpu_time_usd"] == pytest.approx(0.125)
    assert users["carol"]["gpu_time_usd"] == pytest.approx(0.5)
    assert users["alice"]["cost_usd"] == pytest.approx(0.00725 + 0.0105 + 0.375)
    # carol's unknown call leaves her total known but marked incomplete
    assert users["carol"]["cost_usd"] == pytest.approx(0.002 + 0.5) and users["carol"]["unknown_calls"] == 1


def test_idle_gpu_buckets_are_reported_apart(priced_store):
    report = _explore(priced_store, ("model",))
    assert report.idle.rows() == [("llama-box", 2, pytest.approx(1.0))]
    assert report.totals["gpu_time_usd"] == pytest.approx(1.0)  # idle is not in the totals


def test_a_range_cut_mid_bucket_still_prices_the_whole_bucket(priced_store):
    queries = CostQueries(StoreReader(priced_store), PricingConfig.from_dict(PRICING).pricer())
    since = int((T0 + timedelta(minutes=2)).timestamp() * US)  # leaves out the 12:01 spans
    report = queries.explore(CostQuery(since, since + 3600 * US, "hour", ("user",)))
    users = {r["user"]: r for r in report.groups.iter_rows(named=True)}
    # bob's llama span (12:02) keeps its quarter of the 12:00 bucket, alice's (12:01) is outside
    assert users["bob"]["gpu_time_usd"] == pytest.approx(0.125)
    assert users["alice"]["gpu_time_usd"] is None and users["alice"]["cost_usd"] == pytest.approx(0.0105)


def test_without_the_endpoint_in_config_gpu_spans_are_unknown(priced_store):
    queries = CostQueries(StoreReader(priced_store), PricingConfig.from_dict({}).pricer())
    since = int(T0.timestamp() * US)
    groups = {r["model"]: r for r in queries.explore(CostQuery(since, since + 3600 * US, "hour", ("model",)))
              .groups.iter_rows(named=True)}
    assert groups["llama-70b"]["cost_usd"] is None and groups["llama-70b"]["unknown_calls"] == 3
