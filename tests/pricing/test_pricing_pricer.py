"""Pricer against hand-computed figures (litellm 1.106.2's bundled map).

Every expected figure below is worked out in the comment next to it from the
per-token prices of the map entry named there.
"""

from __future__ import annotations

import math

import pytest

from store.pricing.catalog import ModelPrice
from store.pricing.gpu_time import GpuEndpoint
from store.pricing.pricer import Pricer, TokenUsage, compute_breakdown

approx = pytest.approx


@pytest.fixture(scope="module")
def pricer() -> Pricer:
    return Pricer()


def test_openai_cached_tokens_are_part_of_the_input(pricer):
    # gpt-4o: in 2.5e-6, cache read 1.25e-6, out 1e-5.
    # 1200 prompt tokens of which 1024 cached -> 176 uncached.
    # 176*2.5e-6 = 0.00044; 1024*1.25e-6 = 0.00128; 300*1e-5 = 0.003; total 0.00472
    priced = pricer.price("gpt-4o", "openai", TokenUsage(1200, 300, cache_read_tokens=1024))
    assert priced.source == "computed"
    assert priced.cost_usd == approx(0.00472)
    assert priced.breakdown.input == approx(0.00044)
    assert priced.breakdown.cache_read == approx(0.00128)
    assert priced.breakdown.output == approx(0.003)
    assert priced.price_key == "gpt-4o"
    assert priced.computed_usd == priced.cost_usd


def test_anthropic_cache_read_and_write_with_exclusive_input(pricer):
    # claude-sonnet-4-5: in 3e-6, cache read 3e-7, cache write 3.75e-6, out 1.5e-5.
    # Anthropic input_tokens=40 excludes 3000 read + 200 written:
    # 40*3e-6 = 0.00012; 3000*3e-7 = 0.0009; 200*3.75e-6 = 0.00075; 500*1.5e-5 = 0.0075; total 0.00927
    usage = TokenUsage(40, 500, cache_read_tokens=3000, cache_write_tokens=200, input_includes_cache=False)
    priced = pricer.price("claude-sonnet-4-5", "anthropic", usage)
    assert priced.cost_usd == approx(0.00927)
    assert priced.breakdown == approx((0.00012, 0.0009, 0.00075, 0.0075, 0.0))
    assert usage.prompt_tokens == 3240
    # the same call with the inclusive count the normalizer may send instead
    inclusive = TokenUsage(3240, 500, cache_read_tokens=3000, cache_write_tokens=200)
    assert pricer.price("claude-sonnet-4-5", "anthropic", inclusive).cost_usd == approx(0.00927)


def test_anthropic_dated_id_priced_through_the_bedrock_base_id(pricer):
    # claude-sonnet-4-20250514 -> anthropic.claude-sonnet-4-20250514-v1:0, same prices as above
    usage = TokenUsage(40, 500, cache_read_tokens=3000, cache_write_tokens=200, input_includes_cache=False)
    priced = pricer.price("claude-sonnet-4-20250514", "anthropic", usage)
    assert priced.cost_usd == approx(0.00927)
    assert priced.price_key == "anthropic.claude-sonnet-4-20250514-v1:0"


def test_reasoning_tokens_are_not_counted_twice(pricer):
    # o3-mini: in 1.1e-6, out 4.4e-6, no reasoning price. 2000 output tokens include 1500 reasoning.
    # 900*1.1e-6 = 0.00099; 500*4.4e-6 = 0.0022; 1500*4.4e-6 = 0.0066; total 0.00979
    priced = pricer.price("o3-mini", "openai", TokenUsage(900, 2000, reasoning_tokens=1500))
    assert priced.cost_usd == approx(0.00979)
    assert (priced.breakdown.output, priced.breakdown.reasoning) == approx((0.0022, 0.0066))


def test_reasoning_price_applies_when_it_differs(pricer):
    # dashscope/qwen-turbo: in 5e-8, out 2e-7, reasoning 5e-7. 1000 output tokens include 800 reasoning.
    # 1000*5e-8 = 5e-5; 200*2e-7 = 4e-5; 800*5e-7 = 4e-4; total 4.9e-4
    priced = pricer.price("qwen-turbo", "dashscope", TokenUsage(1000, 1000, reasoning_tokens=800))
    assert priced.price_key == "dashscope/qwen-turbo"
    assert priced.cost_usd == approx(4.9e-4)
    # Gemini-native counts: output 200 leaves the 800 thoughts out; same call, same cost
    native = TokenUsage(1000, 200, reasoning_tokens=800, output_includes_reasoning=False)
    assert native.completion_tokens == 1000
    assert pricer.price("qwen-turbo", "dashscope", native).cost_usd == approx(4.9e-4)


def test_gemini_on_vertex_and_on_the_gemini_api(pricer):
    # gemini-2.5-pro: in 1.25e-6, cache read 1.25e-7, out 1e-5.
    # 10000 prompt of which 2000 cached: 8000*1.25e-6 = 0.01; 2000*1.25e-7 = 0.00025; 1000*1e-5 = 0.01
    usage = TokenUsage(10_000, 1000, cache_read_tokens=2000)
    vertex = pricer.price("gemini-2.5-pro", "gcp.vertex_ai", usage)
    gemini = pricer.price("gemini-2.5-pro", "gcp.gemini", usage)
    assert vertex.cost_usd == approx(0.02025)
    assert gemini.cost_usd == approx(0.02025)
    assert (vertex.price_key, gemini.price_key) == ("gemini-2.5-pro", "gemini/gemini-2.5-pro")


def test_long_context_tier_prices_the_whole_request(pricer):
    # gemini-2.5-pro above 200k prompt tokens: in 2.5e-6, out 1.5e-5.
    # 250000*2.5e-6 = 0.625; 1000*1.5e-5 = 0.015; total 0.64
    priced = pricer.price("gemini-2.5-pro", "gcp.vertex_ai", TokenUsage(250_000, 1000))
    assert priced.cost_usd == approx(0.64)


def test_bedrock_models(pricer):
    # amazon.nova-pro-v1:0: in 8e-7, cache read 2e-7, out 3.2e-6.
    # 5000 prompt, 1000 cached: 4000*8e-7 = 0.0032; 1000*2e-7 = 0.0002; 700*3.2e-6 = 0.00224; total 0.00564
    nova = pricer.price("bedrock/amazon.nova-pro-v1:0", "aws.bedrock", TokenUsage(5000, 700, cache_read_tokens=1000))
    assert nova.cost_usd == approx(0.00564)
    # us.anthropic.claude-sonnet-4-20250514-v1:0 (3e-6 / 1.5e-5): 2000*3e-6 + 100*1.5e-5 = 0.006 + 0.0015
    claude = pricer.price("us.anthropic.claude-sonnet-4-20250514-v1:0", "aws.bedrock", TokenUsage(2000, 100))
    assert claude.cost_usd == approx(0.0075)


def test_override_beats_the_map():
    # a negotiated gpt-4o rate: 2/M in, 8/M out, cache reads at 1/M
    pricer = Pricer({"gpt-4o": ModelPrice(2e-6, 8e-6, cache_read=1e-6)})
    # 176*2e-6 = 0.000352; 1024*1e-6 = 0.001024; 300*8e-6 = 0.0024; total 0.003776
    priced = pricer.price("gpt-4o", "openai", TokenUsage(1200, 300, cache_read_tokens=1024))
    assert priced.source == "override"
    assert priced.cost_usd == approx(0.003776)
    assert priced.price_key == "gpt-4o"
    # other models still come from the map
    assert pricer.price("gpt-4o-mini", "openai", TokenUsage(1, 1)).source == "computed"


def test_glob_override_matches_route_prefixed_and_any_case():
    pricer = Pricer({"my-llama-*": ModelPrice(1e-7, 2e-7), "*": ModelPrice(1.0, 1.0)})
    # 700*1e-7 + 90*2e-7 = 7e-5 + 1.8e-5 = 8.8e-5; the first matching glob wins over the catch-all
    priced = pricer.price("hosted_vllm/My-Llama-70B", None, TokenUsage(700, 90))
    assert priced.source == "override"
    assert priced.price_key == "my-llama-*"
    assert priced.cost_usd == approx(8.8e-5)


def test_unknown_model_is_none_never_zero(pricer):
    priced = pricer.price("totally-new-model", None, TokenUsage(100, 100))
    assert priced.cost_usd is None
    assert priced.source == "unknown"
    assert priced.breakdown is None


def test_no_token_counts_means_no_computed_cost(pricer):
    priced = pricer.price("gpt-4o", "openai", TokenUsage())
    assert (priced.cost_usd, priced.source) == (None, "unknown")


def test_reported_cost_wins_and_ours_is_kept_for_comparison(pricer):
    priced = pricer.price("gpt-4o", "openai", TokenUsage(1200, 300, cache_read_tokens=1024), reported_cost=0.005)
    assert (priced.cost_usd, priced.source) == (0.005, "reported")
    assert priced.computed_usd == approx(0.00472)
    assert priced.reported_usd == 0.005


def test_reported_zero_with_tokens_is_ignored(pricer):
    # LiteLLM reports 0.0 for models it cannot price; that must not become a silent $0
    priced = pricer.price("gpt-4o", "openai", TokenUsage(1000, 0), reported_cost=0.0)
    assert priced.source == "computed"
    assert priced.cost_usd == approx(0.0025)
    assert priced.reported_usd == 0.0
    unknown = pricer.price("hosted_vllm/llama", None, TokenUsage(1000, 10), reported_cost=0.0)
    assert (unknown.cost_usd, unknown.source) == (None, "unknown")
    # a cache hit with no tokens really did cost nothing
    assert pricer.price("gpt-4o", "openai", TokenUsage(0, 0), reported_cost=0.0).source == "reported"


@pytest.mark.parametrize("bad", [-0.01, math.nan])
def test_invalid_reports_are_ignored(pricer, bad):
    assert pricer.price("gpt-4o", "openai", TokenUsage(1000, 0), reported_cost=bad).source == "computed"


def test_reported_cost_for_an_unknown_model(pricer):
    priced = pricer.price("totally-new-model", None, TokenUsage(10, 10), reported_cost=0.2)
    assert (priced.cost_usd, priced.source, priced.computed_usd) == (0.2, "reported", None)


def test_gpu_endpoint_spans_wait_for_allocation():
    pricer = Pricer(gpu_endpoints=[GpuEndpoint("box", 2.5, 4, server="10.0.0.5:8000")])
    priced = pricer.price("meta-llama/Llama-3.1-70B", "openai", TokenUsage(100, 10), server_address="10.0.0.5:8000")
    assert (priced.cost_usd, priced.source, priced.price_key) == (None, "gpu_time", "box")
    elsewhere = pricer.price("gpt-4o", "openai", TokenUsage(1000, 0), server_address="api.openai.com:443")
    assert elsewhere.source == "computed"


def test_bad_counts_never_make_negative_costs():
    price = ModelPrice(1e-6, 2e-6, cache_read=5e-7)
    # cached above input (impossible when included): uncached input is 0, cached still billed
    assert compute_breakdown(price, TokenUsage(100, 0, cache_read_tokens=300)) == approx((0, 1.5e-4, 0, 0, 0))
    # reasoning above output is capped at output
    assert compute_breakdown(price, TokenUsage(0, 10, reasoning_tokens=50)).total == approx(2e-5)
    assert compute_breakdown(price, TokenUsage(-5, -5)).total == 0


def test_decisions_are_cached_per_model_provider_and_server():
    pricer = Pricer()
    pricer.price("gpt-4o", "openai", TokenUsage(1, 1))
    rule = pricer.rule_for("gpt-4o", "openai")
    assert rule.source == "computed"
    assert pricer.rule_for("gpt-4o", "openai") is rule
