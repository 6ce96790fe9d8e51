"""Pricer throughput on the ingest hot path (cached models). Run: python bench/bench_pricing.py"""

from __future__ import annotations

import os
import platform
import sys
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere without installing

from store.pricing.catalog import Catalog, ModelPrice  # noqa: E402
from store.pricing.gpu_time import GpuEndpoint  # noqa: E402
from store.pricing.pricer import Pricer, TokenUsage  # noqa: E402
from store.pricing.reprice import reprice_spans  # noqa: E402

CASES = [
    ("gpt-4o", "openai", TokenUsage(1200, 300, cache_read_tokens=1024), None),
    ("claude-sonnet-4-20250514", "anthropic", TokenUsage(40, 500, 3000, 200, input_includes_cache=False), None),
    ("o3-mini", "openai", TokenUsage(900, 2000, reasoning_tokens=1500), 0.0123),
    ("gemini-2.5-pro", "gcp.vertex_ai", TokenUsage(250_000, 800), None),
    ("hosted_vllm/my-llama-70b", None, TokenUsage(700, 90), None),
    ("not-a-model", None, TokenUsage(10, 10), None),
]


def main() -> None:
    print(f"machine: {platform.platform()} / {platform.python_implementation()} {platform.python_version()} / {os.cpu_count()} cpus")
    started = time.perf_counter()
    catalog = Catalog()
    catalog.resolve("gpt-4o")
    print(f"catalog load + first resolve: {(time.perf_counter() - started) * 1e3:.1f} ms ({len(catalog)} map keys)")

    started = time.perf_counter()
    for model in ("claude-sonnet-4-20250514", "gpt-4o-2099-01-01", "apac.anthropic.claude-opus-4-1-20250805-v1:0"):
        catalog.resolve(model, "aws.bedrock")
    print(f"uncached resolve: {(time.perf_counter() - started) / 3 * 1e6:.0f} µs per name")

    pricer = Pricer({"my-llama-*": ModelPrice(1e-7, 2e-7)}, catalog=catalog)
    for model, provider, usage, reported in CASES:
        pricer.price(model, provider, usage, reported)
        number = 200_000
        seconds = min(timeit.repeat(lambda: pricer.price(model, provider, usage, reported), number=number, repeat=5))
        print(f"price({model!r}, {provider!r}): {seconds / number * 1e6:.2f} µs per call")

    usage = CASES[0][2]
    number = 200_000
    seconds = min(timeit.repeat(lambda: TokenUsage(1200, 300, 1024, None, None), number=number, repeat=5))
    print(f"TokenUsage(...) construction: {seconds / number * 1e6:.2f} µs")
    seconds = min(timeit.repeat(lambda: pricer.price("gpt-4o", "openai", usage), number=number, repeat=5))
    print(f"=> {1 / (seconds / number):,.0f} priced spans per second on one core")
    bench_reprice(catalog)


def bench_reprice(catalog: Catalog, rows: int = 200_000) -> None:
    import polars as pl

    models = ["gpt-4o", "claude-sonnet-4-20250514", "o3-mini", "my-llama-70b", "unknown-model"]
    start = pl.datetime(2025, 3, 1, time_zone="UTC")
    frame = pl.DataFrame({"i": range(rows)}).select(
        pl.lit("llm").alias("kind"),
        pl.col("i").map_elements(lambda i: models[i % len(models)], return_dtype=pl.String).alias("model"),
        pl.lit("openai").alias("provider"),
        pl.when(pl.col("i") % 5 == 3).then(pl.lit("10.0.0.5:8000")).alias("server_address"),
        (start + pl.duration(seconds=pl.col("i"))).dt.cast_time_unit("us").alias("start_time"),
        (pl.col("i") % 3000).alias("input_tokens"),
        (pl.col("i") % 700).alias("output_tokens"),
        (pl.col("i") % 1000).alias("cache_read_tokens"),
    )
    pricer = Pricer(gpu_endpoints=[GpuEndpoint("box", 2.5, 4, server="10.0.0.5:8000")], catalog=catalog)
    started = time.perf_counter()
    result = reprice_spans(frame, pricer)
    seconds = time.perf_counter() - started
    print(f"reprice_spans: {rows:,} spans in {seconds:.2f} s ({rows / seconds:,.0f} spans/s), "
          f"{result.get_column('cost_usd').is_not_null().sum():,} priced")


if __name__ == "__main__":
    main()
