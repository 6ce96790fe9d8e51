"""PricingConfig.from_dict: what users write in the config file, and the errors they see."""

from __future__ import annotations

import pytest

from store.pricing.catalog import ModelPrice
from store.pricing.config import PricingConfig
from store.pricing.pricer import TokenUsage
from store.pricing.validation import ConfigError, parse_duration


def test_from_dict_builds_a_working_pricer():
    config = PricingConfig.from_dict(
        {
            "overrides": {
                "gpt-4o": {"input_per_million": 2.0, "output_per_million": 8.0},
                "my-llama-*": {"input_cost_per_token": 1e-7, "output_cost_per_token": 2e-7},
            },
            "gpu_endpoints": [{"name": "box", "server": "10.0.0.5:8000", "usd_per_gpu_hour": 2.5, "gpu_count": 4}],
        }
    )
    assert config.overrides["gpt-4o"].input == pytest.approx(2e-6)
    assert config.overrides["gpt-4o"].cache_read == pytest.approx(2e-6)  # omitted: the input price
    assert config.gpu_endpoints[0].usd_per_hour == 10.0
    pricer = config.pricer()
    assert pricer.price("gpt-4o", "openai", TokenUsage(1000, 1000)).cost_usd == pytest.approx(0.01)
    assert pricer.price("my-llama-3", None, TokenUsage(10, 10)).source == "override"


def test_empty_config():
    assert PricingConfig.from_dict(None) == PricingConfig()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"overide": {}}, r"pricing: unknown field\(s\) 'overide'"),
        ({"overrides": {"x": {"input_per_million": 1}}}, r"pricing.overrides\['x'\]: needs an input and an output price"),
        (
            {"overrides": {"x": {"input_per_million": 1, "input_cost_per_token": 1e-6, "output_per_million": 1}}},
            r"pricing.overrides\['x'\].input_per_million: give either input_per_million or input_cost_per_token",
        ),
        ({"overrides": {"x": {"input_per_million": "cheap", "output_per_million": 1}}}, r"input_per_million: expected a number"),
        ({"overrides": {"x": {"input_per_million": -1, "output_per_million": 1}}}, r"input_per_million: must be >= 0"),
        ({"overrides": ["x"]}, r"pricing.overrides: expected a mapping"),
        ({"gpu_endpoints": {"name": "x"}}, r"pricing.gpu_endpoints: expected a list"),
        (
            {"gpu_endpoints": [{"name": "a", "usd_per_gpu_hour": 1, "model": "x"}, {"name": "a", "usd_per_gpu_hour": 1, "model": "y"}]},
            r"endpoint name 'a' is used twice",
        ),
        ({"gpu_endpoints": [{"name": "", "usd_per_gpu_hour": 1, "model": "y"}]}, r"gpu_endpoints\[0\].name: expected a non-empty string"),
    ],
)
def test_from_dict_errors_name_the_field(data, message):
    with pytest.raises(ConfigError, match=message):
        PricingConfig.from_dict(data)


def test_model_price_from_dict_keeps_reasoning_and_cache_prices():
    price = ModelPrice.from_dict(
        {
            "input_per_million": 1,
            "output_per_million": 4,
            "cache_read_per_million": 0.1,
            "cache_write_per_million": 1.25,
            "reasoning_per_million": 2,
        },
        "p",
    )
    assert (price.cache_read, price.cache_write, price.reasoning) == pytest.approx((1e-7, 1.25e-6, 2e-6))


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("15m", 900), ("1h", 3600), ("7d", 604800), ("4w", 2419200), (30, 30)])
def test_parse_duration(text, seconds):
    assert parse_duration(text, "x").total_seconds() == seconds


@pytest.mark.parametrize("bad", ["1 fortnight", "", "0h", -5, True, None])
def test_parse_duration_rejects(bad):
    with pytest.raises(ConfigError, match=r"^x: "):
        parse_duration(bad, "x")
