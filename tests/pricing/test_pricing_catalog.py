"""Catalog: loading LiteLLM's bundled map without litellm, and resolving the names users send.

The real-map cases pin litellm 1.106.2's bundled map (pyproject pins the version).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from store.pricing.catalog import COST_MAP_FILE, Catalog, ModelPrice, bundled_cost_map_path, default_catalog

REPO = Path(__file__).resolve().parents[2]


def test_bundled_map_loads_without_importing_litellm():
    code = (
        "import sys; from store.pricing.catalog import default_catalog; "
        "c = default_catalog(); assert c.resolve('gpt-4o') is not None; "
        "print('litellm' in sys.modules, len(c))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    imported, keys = out.stdout.split()
    assert imported == "False"
    assert int(keys) > 4000


def test_bundled_map_path_is_inside_the_litellm_package():
    path = bundled_cost_map_path()
    assert path.name == COST_MAP_FILE
    assert path.parent.name == "litellm"


@pytest.mark.parametrize(
    ("model", "provider", "key"),
    [
        ("gpt-4o", None, "gpt-4o"),
        ("gpt-4o", "openai", "gpt-4o"),
        ("openai/gpt-4o", None, "gpt-4o"),
        ("gpt-4o-2024-08-06", "openai", "gpt-4o-2024-08-06"),  # dated key exists: exact
        ("gpt-4o-2099-01-01", "openai", "gpt-4o"),  # unknown snapshot: its base
        ("gpt-4o", "azure.ai.openai", "azure/gpt-4o"),
        ("azure/gpt-4o", None, "azure/gpt-4o"),
        # Anthropic ids the 1.106.2 map has no first-party key for: Bedrock's base id (same list price)
        ("claude-sonnet-4-20250514", "anthropic", "anthropic.claude-sonnet-4-20250514-v1:0"),
        ("anthropic/claude-sonnet-4-20250514", None, "anthropic.claude-sonnet-4-20250514-v1:0"),
        ("claude-3-5-sonnet-20241022", None, "anthropic.claude-3-5-sonnet-20241022-v2:0"),
        ("claude-sonnet-4-5-20250929", "anthropic", "claude-sonnet-4-5-20250929"),
        ("Claude-Sonnet-4-5", "Anthropic", "claude-sonnet-4-5"),  # OpenLLMetry-style casing
        ("claude-sonnet-4-5", "openai", "claude-sonnet-4-5"),  # LiteLLM's OTel says openai for everything
        ("gemini-2.5-pro", "gcp.vertex_ai", "gemini-2.5-pro"),
        ("vertex_ai/gemini-2.5-pro", None, "gemini-2.5-pro"),
        ("gemini-2.5-pro", "gcp.gemini", "gemini/gemini-2.5-pro"),
        ("models/gemini-2.5-pro", "gcp.gemini", "gemini/gemini-2.5-pro"),
        ("anthropic.claude-sonnet-4-20250514-v1:0", "aws.bedrock", "anthropic.claude-sonnet-4-20250514-v1:0"),
        ("bedrock/us.anthropic.claude-sonnet-4-20250514-v1:0", None, "us.anthropic.claude-sonnet-4-20250514-v1:0"),
        ("bedrock/converse/amazon.nova-pro-v1:0", None, "amazon.nova-pro-v1:0"),
        ("apac.anthropic.claude-opus-4-1-20250805-v1:0", "aws.bedrock", "anthropic.claude-opus-4-1-20250805-v1:0"),
        (
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-20250514-v1:0",
            "aws.bedrock",
            "us.anthropic.claude-sonnet-4-20250514-v1:0",
        ),
        ("ft:gpt-4o-mini-2024-07-18:acme::abc123", "openai", "ft:gpt-4o-mini-2024-07-18"),
        ("deepseek-chat", "deepseek", "deepseek-chat"),
        ("mistral-large-latest", "mistral_ai", "mistral/mistral-large-latest"),
    ],
)
def test_resolves_the_names_users_send(model, provider, key):
    price = default_catalog().resolve(model, provider)
    assert price is not None, (model, provider)
    assert price.key == key


@pytest.mark.parametrize(
    ("model", "provider"),
    [
        ("my-finetuned-thing", None),
        ("hosted_vllm/meta-llama/Llama-3.1-8B-Instruct", None),  # self-hosted: never a cloud price
        ("gpt-4o", "hosted_vllm"),
        ("dall-e-3", "openai"),  # priced per image, not per token
        ("command-r-plus", "cohere"),  # the alias is 04-2024's ($3/$15); the map has only 08-2024 ($2.50/$10)
        ("llama-3.3-70b-versatile", "groq"),  # the map has no Groq price, only a reseller's
        ("llama-3.3-70b-versatile", None),
        ("gemini-1.5-flash-002", "gcp.vertex_ai"),  # no Gemini 1.5 entry left in the 1.106.2 map
        ("", None),
        (None, "openai"),
    ],
)
def test_unresolvable_names_give_none(model, provider):
    assert default_catalog().resolve(model, provider) is None


def test_map_entry_prices_and_fallbacks():
    catalog = default_catalog()
    sonnet = catalog.get("claude-sonnet-4-5")
    assert (sonnet.input, sonnet.output, sonnet.cache_read, sonnet.cache_write) == (3e-6, 1.5e-5, 3e-7, 3.75e-6)
    assert sonnet.reasoning == sonnet.output  # no output_cost_per_reasoning_token: the output price
    assert sonnet.provider == "anthropic"
    gpt4o = catalog.get("gpt-4o")
    assert gpt4o.cache_write == gpt4o.input  # OpenAI has no cache-write price: writes bill as input
    qwen = catalog.get("dashscope/qwen-turbo")
    assert qwen.reasoning == 5e-7 and qwen.output == 2e-7
    pro = catalog.get("gemini-2.5-pro")
    assert pro.long_context_threshold == 200_000
    assert (pro.long_context.input, pro.long_context.output, pro.long_context.cache_read) == (2.5e-6, 1.5e-5, 2.5e-7)


SMALL_MAP = {
    "sample_spec": {"input_cost_per_token": 0.0, "output_cost_per_token": 0.0, "litellm_provider": "x"},
    "m1": {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6, "litellm_provider": "openai"},
    "m1-2024-01-01": {"input_cost_per_token": 5e-6, "output_cost_per_token": 6e-6, "litellm_provider": "openai"},
    "azure/m1": {"input_cost_per_token": 3e-6, "output_cost_per_token": 4e-6, "litellm_provider": "azure"},
    "image-model": {"output_cost_per_image": 0.04, "litellm_provider": "openai"},
    "m1-long": {
        "input_cost_per_token": 1e-6,
        "output_cost_per_token": 1e-6,
        "input_cost_per_token_above_128k_tokens": 2e-6,
        "litellm_provider": "openai",
    },
}


def test_catalog_over_a_given_map_and_its_cache():
    catalog = Catalog(entries=SMALL_MAP)
    assert catalog.resolve("m1").key == "m1"
    assert catalog.resolve("m1-2024-01-01").input == 5e-6  # dated snapshot priced as itself
    assert catalog.resolve("m1-2025-05-05").key == "m1"
    assert catalog.resolve("m1", "azure").key == "azure/m1"
    assert catalog.resolve("image-model") is None
    assert catalog.resolve("sample_spec") is None
    long = catalog.resolve("m1-long")
    assert long.long_context_threshold == 128_000
    assert (long.long_context.input, long.long_context.output) == (2e-6, 1e-6)  # tier lacks output: base output
    first = catalog.resolve("m1", "openai")
    assert catalog.resolve("m1", "openai") is first  # cached object


def test_catalog_reads_a_map_file(tmp_path):
    path = tmp_path / COST_MAP_FILE
    path.write_text('{"tiny": {"input_cost_per_token": 1e-6, "output_cost_per_token": 1e-6, "litellm_provider": "openai"}}')
    catalog = Catalog(path)
    assert catalog.resolve("tiny").input == 1e-6
    assert len(catalog) == 1


def test_model_price_defaults():
    price = ModelPrice(1e-6, 4e-6)
    assert (price.cache_read, price.cache_write, price.reasoning) == (1e-6, 1e-6, 4e-6)
