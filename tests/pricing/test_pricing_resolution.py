"""The model names real apps send, resolved against litellm 1.106.2's bundled map.

Each row's prices were read off the map entry named in its key column and checked
against the provider's public list price (USD per million tokens); a row marked
"map" is the map's figure where the list price could not be confirmed.
"""

from __future__ import annotations

import pytest

from store.pricing.catalog import Catalog, default_catalog
from store.pricing.pricer import Pricer, TokenUsage

approx = pytest.approx

# (model, provider) -> (map key, input $/M, output $/M)
REAL_TRAFFIC = [
    # OpenAI
    ("gpt-4o", "openai", "gpt-4o", 2.5, 10.0),
    ("gpt-4o", None, "gpt-4o", 2.5, 10.0),
    ("gpt-4o-2024-08-06", "openai", "gpt-4o-2024-08-06", 2.5, 10.0),
    ("gpt-4.1-mini", "openai", "gpt-4.1-mini", 0.4, 1.6),
    ("o3-mini", "openai", "o3-mini", 1.1, 4.4),
    ("o1", "openai", "o1", 15.0, 60.0),
    ("gpt-5", "openai", "gpt-5", 1.25, 10.0),
    ("text-embedding-3-small", "openai", "text-embedding-3-small", 0.02, 0.0),
    # Anthropic, first party: undated aliases and old snapshots the map keeps only as Bedrock base ids
    ("claude-sonnet-4-6", "anthropic", "claude-sonnet-4-6", 3.0, 15.0),
    ("claude-3-5-haiku-latest", "anthropic", "anthropic.claude-3-5-haiku-20241022-v1:0", 0.8, 4.0),
    ("claude-3-5-haiku-latest", None, "anthropic.claude-3-5-haiku-20241022-v1:0", 0.8, 4.0),
    ("claude-opus-4-1", "anthropic", "anthropic.claude-opus-4-1-20250805-v1:0", 15.0, 75.0),
    ("claude-opus-4-1", None, "anthropic.claude-opus-4-1-20250805-v1:0", 15.0, 75.0),
    ("claude-opus-4", "anthropic", "anthropic.claude-opus-4-20250514-v1:0", 15.0, 75.0),  # not opus-4-5's 5/25
    ("claude-sonnet-4-20250514", "anthropic", "anthropic.claude-sonnet-4-20250514-v1:0", 3.0, 15.0),
    # Anthropic on Bedrock, by the bare name
    ("claude-sonnet-4-6", "aws.bedrock", "anthropic.claude-sonnet-4-6", 3.0, 15.0),
    ("claude-3-5-haiku-latest", "aws.bedrock", "anthropic.claude-3-5-haiku-20241022-v1:0", 0.8, 4.0),
    ("claude-opus-4-1", "aws.bedrock", "anthropic.claude-opus-4-1-20250805-v1:0", 15.0, 75.0),
    ("claude-sonnet-4-20250514", "aws.bedrock", "anthropic.claude-sonnet-4-20250514-v1:0", 3.0, 15.0),
    ("claude-3-5-sonnet@20240620", "aws.bedrock", "anthropic.claude-3-5-sonnet-20240620-v1:0", 3.0, 15.0),
    # Bedrock: vendor prefix and version suffix dropped, cross-region profiles
    ("llama3-70b-instruct", "aws.bedrock", "meta.llama3-70b-instruct-v1:0", 2.65, 3.5),
    ("llama3-70b-instruct", None, "meta.llama3-70b-instruct-v1:0", 2.65, 3.5),
    ("bedrock/llama3-70b-instruct", None, "meta.llama3-70b-instruct-v1:0", 2.65, 3.5),
    ("llama3-70b-instruct-v1:0", "aws.bedrock", "meta.llama3-70b-instruct-v1:0", 2.65, 3.5),
    ("nova-pro", "aws.bedrock", "amazon.nova-pro-v1:0", 0.8, 3.2),
    ("mistral-large-2402", "aws.bedrock", "mistral.mistral-large-2402-v1:0", 4.0, 12.0),
    ("gpt-oss-120b", "aws.bedrock", "openai.gpt-oss-120b-1:0", 0.15, 0.6),
    ("us.anthropic.claude-3-5-sonnet-20241022-v2:0", "aws.bedrock", "us.anthropic.claude-3-5-sonnet-20241022-v2:0", 3.0, 15.0),
    ("apac.anthropic.claude-3-5-haiku-20241022-v1:0", "aws.bedrock", "anthropic.claude-3-5-haiku-20241022-v1:0", 0.8, 4.0),
    # Google: every provider spelling; the map prices gemini-2.0-flash on Vertex only
    ("gemini-2.5-pro", "gcp.gemini", "gemini/gemini-2.5-pro", 1.25, 10.0),
    ("gemini-2.5-pro", None, "gemini-2.5-pro", 1.25, 10.0),
    ("gemini-2.0-flash", "gcp.gemini", "vertex_ai/gemini-2.0-flash", 0.15, 0.6),
    ("gemini-2.0-flash", None, "vertex_ai/gemini-2.0-flash", 0.15, 0.6),
    ("gemini-2.0-flash", "gcp.vertex_ai", "vertex_ai/gemini-2.0-flash", 0.15, 0.6),
    ("gemini-2.0-flash", "gcp.gen_ai", "vertex_ai/gemini-2.0-flash", 0.15, 0.6),
    ("gemini-2.0-flash", "google", "vertex_ai/gemini-2.0-flash", 0.15, 0.6),
    ("gemini-2.0-flash", "vertexai", "vertex_ai/gemini-2.0-flash", 0.15, 0.6),
    ("models/gemini-2.0-flash", "gcp.gemini", "vertex_ai/gemini-2.0-flash", 0.15, 0.6),
    ("gemini-2.0-flash-001", "gcp.vertex_ai", "vertex_ai/gemini-2.0-flash", 0.15, 0.6),
    # Mistral, Groq, Azure, DeepSeek, Voyage
    ("mistral-large-latest", "mistral_ai", "mistral/mistral-large-latest", 0.5, 1.5),
    ("mistral-large-latest", None, "mistral/mistral-large-latest", 0.5, 1.5),
    ("openai/gpt-oss-120b", "groq", "groq/openai/gpt-oss-120b", 0.15, 0.6),  # map
    ("azure/gpt-4o", "azure.ai.openai", "azure/gpt-4o", 2.5, 10.0),
    ("gpt-4o", "azure.ai.openai", "azure/gpt-4o", 2.5, 10.0),
    ("deepseek-chat", None, "deepseek-chat", 0.28, 0.42),
    ("deepseek-chat", "deepseek", "deepseek-chat", 0.28, 0.42),
    ("voyage-3", None, "voyage/voyage-3", 0.06, 0.0),  # priced by one single-maker family only
]


@pytest.mark.parametrize(("model", "provider", "key", "input_per_m", "output_per_m"), REAL_TRAFFIC)
def test_real_traffic_names_resolve_to_the_right_price(model, provider, key, input_per_m, output_per_m):
    price = default_catalog().resolve(model, provider)
    assert price is not None, (model, provider)
    assert price.key == key
    assert (price.input * 1e6, price.output * 1e6) == approx((input_per_m, output_per_m))


@pytest.mark.parametrize(
    ("model", "provider"),
    [
        ("command-r-plus", None),  # only Azure prices the alias, at Azure's rate
        ("chat", None),  # one family prices a key "chat"; too generic to stand for a model
        ("claude-opus-4-9", "anthropic"),  # no such model: no nearest neighbour
        ("gemini-2.0-flash", "hosted_vllm"),
    ],
)
def test_names_without_a_right_price_stay_unknown(model, provider):
    assert default_catalog().resolve(model, provider) is None


def test_costs_of_newly_resolved_names():
    pricer = Pricer()
    # anthropic.claude-opus-4-1-20250805-v1:0: in 15, cache read 1.5, cache write 18.75, out 75 ($/M).
    # Anthropic counts: 100 uncached + 2000 read + 400 written, 300 out:
    # 100*15e-6 = 0.0015; 2000*1.5e-6 = 0.003; 400*18.75e-6 = 0.0075; 300*75e-6 = 0.0225; total 0.0345
    usage = TokenUsage(100, 300, cache_read_tokens=2000, cache_write_tokens=400, input_includes_cache=False)
    assert pricer.price("claude-opus-4-1", "anthropic", usage).cost_usd == approx(0.0345)
    # vertex_ai/gemini-2.0-flash: in 0.15, out 0.6. 20000*0.15e-6 = 0.003; 1500*0.6e-6 = 0.0009
    assert pricer.price("gemini-2.0-flash", "gcp.gemini", TokenUsage(20_000, 1500)).cost_usd == approx(0.0039)
    # meta.llama3-70b-instruct-v1:0: in 2.65, out 3.5. 1000*2.65e-6 + 1000*3.5e-6 = 0.00615
    priced = pricer.price("llama3-70b-instruct", "aws.bedrock", TokenUsage(1000, 1000))
    assert (priced.cost_usd, priced.price_key) == (approx(0.00615), "meta.llama3-70b-instruct-v1:0")
    # anthropic.claude-3-5-haiku-20241022-v1:0: in 0.8, out 4. 5000*0.8e-6 + 500*4e-6 = 0.004 + 0.002
    assert pricer.price("claude-3-5-haiku-latest", "anthropic", TokenUsage(5000, 500)).cost_usd == approx(0.006)
    # mistral/mistral-large-latest: in 0.5, out 1.5. 4000*0.5e-6 + 1000*1.5e-6 = 0.002 + 0.0015
    assert pricer.price("mistral-large-latest", None, TokenUsage(4000, 1000)).cost_usd == approx(0.0035)


def _entry(input_cost: float, provider: str) -> dict:
    return {"input_cost_per_token": input_cost, "output_cost_per_token": input_cost * 2, "litellm_provider": provider}


RULES_MAP = {
    "vertex_ai/gemini-9-flash": _entry(3e-7, "vertex_ai"),
    "gemini/gemini-9-pro": _entry(2e-6, "gemini"),
    "meta.llama9-70b-instruct-v1:0": _entry(1e-6, "bedrock"),
    "anthropic.claude-x-9-20240101-v1:0": _entry(4e-6, "bedrock"),
    "anthropic.claude-x-9-20250101-v1:0": _entry(3e-6, "bedrock_converse"),
    "us.anthropic.claude-x-9-20250101-v1:0": _entry(3.3e-6, "bedrock_converse"),
    "global.openai.gpt-9": _entry(2e-6, "bedrock_converse"),
    "us.openai.gpt-9": _entry(2.2e-6, "bedrock_converse"),
    "acme/widget-2": _entry(5e-7, "acme"),  # a maker of its own models only
    "hostco/widget-3": _entry(6e-7, "hostco"),  # a host of several makers' models
    "hostco/claude-x-9": _entry(9e-6, "hostco"),
    "hostco/gpt-9": _entry(9e-6, "hostco"),
    "mistral/mistral-9-latest": _entry(1e-6, "mistral"),
}


def test_resolution_rules_on_a_small_map():
    catalog = Catalog(entries=RULES_MAP)
    # Google's two APIs stand in for each other, whatever the spelling of the provider
    assert catalog.resolve("gemini-9-flash", "gcp.gemini").key == "vertex_ai/gemini-9-flash"
    assert catalog.resolve("gemini-9-pro", "gcp.vertex_ai").key == "gemini/gemini-9-pro"
    assert catalog.resolve("gemini-9-flash", None).key == "vertex_ai/gemini-9-flash"
    # Bedrock: vendor prefix and version off; an undated name is the newest dated id, base before regional
    assert catalog.resolve("llama9-70b-instruct", "aws.bedrock").key == "meta.llama9-70b-instruct-v1:0"
    assert catalog.resolve("claude-x-9", "aws.bedrock").key == "anthropic.claude-x-9-20250101-v1:0"
    assert catalog.resolve("claude-x-9-20240101", "aws.bedrock").key == "anthropic.claude-x-9-20240101-v1:0"
    assert catalog.resolve("claude-x-9", "anthropic").key == "anthropic.claude-x-9-20250101-v1:0"
    assert catalog.resolve("gpt-9", "aws.bedrock").key == "global.openai.gpt-9"  # profile-only: global first
    # no provider: the maker's own prefix, then a single single-maker family; never a host's price
    assert catalog.resolve("mistral-9-latest", None).key == "mistral/mistral-9-latest"
    assert catalog.resolve("widget-2", None).key == "acme/widget-2"
    assert catalog.resolve("widget-3", None) is None
    # a provider the map knows but that lacks the model does not borrow another host's price
    assert catalog.resolve("widget-2", "hostco") is None
