"""The token audit: top traces and prompts, what the input tokens are made of, what a
cache would have saved, and the spans whose token numbers cannot be right."""

from __future__ import annotations

import json
from datetime import timedelta
from collections import defaultdict

import pytest

from store.pricing.config import PricingConfig
from store.query import StoreReader
from store.query.cost_audit import CostAudit
from store.query.costs import CostQueries, CostQuery
from tests.costs.cost_stores import PRICING, SYSTEM, T0, US, cost_rows, write_store, us

DAY = 86_400 * US


@pytest.fixture(scope="module")
def rows():
    return cost_rows()


@pytest.fixture(scope="module")
def audit(rows, tmp_path_factory):
    store = write_store(tmp_path_factory.mktemp("audit") / "store", rows)
    queries = CostQueries(StoreReader(store), PricingConfig.from_dict(PRICING).pricer())
    q = CostQuery(us(T0), us(T0) + 3 * DAY, "day", ("model",))
    return CostAudit(queries), q


def test_top_traces_by_cost_and_by_input(audit, rows):
    a, q = audit
    report = a.audit(q, limit=3)
    cost, tokens = defaultdict(float), defaultdict(int)
    for r in rows:
        if r["cost_source"] is not None:
            # a llama call is alone in its 5-minute GPU bucket: $1.20/h -> $0.10
            cost[r["trace_id"]] += 0.10 if r["cost_source"] == "gpu_time" else (r["cost_usd"] or 0.0)
            tokens[r["trace_id"]] += r["input_tokens"]
    top = report.top_traces_cost.row(0, named=True)
    assert top["cost_usd"] == pytest.approx(max(cost.values()))
    assert top["trace_name"] in ("answer faq", "answer refund") and top["user"] in ("alice", "bob", "carol")
    assert report.top_traces_input.item(0, "input_tokens") == max(tokens.values())
    assert report.top_prompts_cost.get_column("prompt").to_list()[:2] in (["support@1", "support@2"],
                                                                          ["support@2", "support@1"])


def test_system_prompt_and_retrieved_context_shares(audit, rows):
    a, q = audit
    comp = a.audit(q).composition
    system = retrieved = total = 0.0
    contexts = {r["trace_id"]: len(r["output_value"]) for r in rows if r["kind"] == "retriever"}
    for r in rows:
        if r["kind"] == "llm" and r["input_messages"]:
            messages = json.loads(r["input_messages"])
            all_chars = sum(len(m["content"]) for m in messages)
            system += r["input_tokens"] * len(SYSTEM) / all_chars
            retrieved += r["input_tokens"] * min(contexts[r["trace_id"]], all_chars - len(SYSTEM)) / all_chars
            total += r["input_tokens"]
    assert comp.input_tokens == total
    assert comp.system_share == pytest.approx(system / total)
    assert comp.retrieved_share == pytest.approx(retrieved / total)
    assert 0 < comp.system_share < 1 and not comp.sampled


def test_cache_opportunity_groups_near_identical_requests(audit):
    a, q = audit
    report = a.audit(q)
    # order numbers and kb ids differ, nothing else: 4 models x 3 questions, 6 calls each
    assert report.cache.height == 12
    assert set(report.cache.get_column("calls").to_list()) == {6}
    refund = report.cache.filter(report.cache.get_column("example_text").str.contains("refund")).row(0, named=True)
    assert "Question: Where is my refund for order" in refund["example_text"]
    assert refund["saving_usd"] == pytest.approx(refund["cost_usd"] * 5 / 6, rel=0.2)
    assert len(refund["example_traces"]) == 3
    assert report.cache_saving_usd == pytest.approx(report.cache.get_column("saving_usd").sum())


def test_token_accounting_flags(audit):
    a, q = audit
    flagged = a.flagged(q)
    assert flagged.counts == {"cache_exceeds_input": 1, "total_mismatch": 1} and flagged.total == 2
    # n=5 and n=9 of cost_rows: models[5 % 4] and models[9 % 4]
    assert sorted(flagged.spans.get_column("model").to_list()) == ["claude-sonnet-4-5", "claude-sonnet-4-5"]
    assert all(len(f) == 1 for f in flagged.spans.get_column("accounting_flags").to_list())


def test_flagged_candidates_kept_per_segment_follow_the_range_and_new_segments(tmp_path):
    from tests.costs.cost_stores import llm_row
    from tests.support.stores import hexid

    store = write_store(tmp_path / "store", cost_rows())
    a = CostAudit(CostQueries(StoreReader(store), PricingConfig.from_dict(PRICING).pricer()))
    day = 86_400 * US
    whole = CostQuery(us(T0), us(T0) + 3 * day, "day", ("model",))
    assert a.flagged(whole).total == 2  # n=5 and n=9, both on the first day
    first = a.flagged(CostQuery(us(T0) + 5 * 3600 * US, us(T0) + day, "day", ("model",)))
    times = first.spans.get_column("start_time").to_list()
    assert first.total == sum(1 for t in a.flagged(whole).spans.get_column("start_time").to_list()
                              if us(T0) + 5 * 3600 * US <= int(t.timestamp() * US) < us(T0) + day)
    assert times == sorted(times, reverse=True)
    assert a.flagged(CostQuery(us(T0) + day, us(T0) + 3 * day, "day", ("model",))).total == 0
    write_store(store, [llm_row(hexid("bad"), hexid("bad-s", n=16), None, T0 + timedelta(days=2, hours=1), "gpt-4o",
                                "openai", "dave", 100, 10, cache_read_tokens=500)])  # a new segment: read once
    later = a.flagged(CostQuery(us(T0) + day, us(T0) + 3 * day, "day", ("model",)))
    assert later.total == 1 and later.counts == {"cache_exceeds_input": 1}
