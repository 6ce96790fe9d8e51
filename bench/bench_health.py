"""Benchmark: one vLLM scrape through the health core.

Per scrape: parse a ~300-series /metrics body, build the vLLM view, derive
rates and quantiles against the previous scrape, turn it into HEALTH_SAMPLES
rows and write them to a Parquet file. Target: under 20 ms per scrape.

The body is the DataDog mixed fixture's vllm: series for two engines of two
models (its python_/process_ families kept once), with counters and buckets
moving between scrapes. Run: ``python bench/bench_health.py [iterations]``.
"""

from __future__ import annotations

import os
import platform
import re
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from store.health.endpoint import EndpointScrape, EndpointState  # noqa: E402
from store.health.prometheus import parse_metrics  # noqa: E402
from store.health.samples import rows_to_table, vllm_rows  # noqa: E402
from store.health.vllm import VllmMetrics, derive  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "vllm" / "metrics-datadog-mixed-v0.4.3-plus-v1-names.txt"
ENGINES = [("meta-llama/Llama-3.1-8B-Instruct", "0"), ("meta-llama/Llama-3.1-8B-Instruct", "1")]
NUMBER = re.compile(r"(\} )(\d+(?:\.\d+)?)$", re.MULTILINE)


def build_body(step: int) -> str:
    """The fixture's vllm: lines once per engine; every value grows with ``step``
    (counters and buckets stay consistent: all cumulative values rise together)."""
    lines = FIXTURE.read_text().splitlines()
    header = [line for line in lines if not line.startswith(("vllm:", "# HELP vllm:", "# TYPE vllm:"))]
    families: list[str] = []
    for line in lines:
        if line.startswith(("# HELP vllm:", "# TYPE vllm:")):
            families.append(line)
        elif line.startswith("vllm:"):
            for model, engine in ENGINES:
                labelled = line.replace('model_name="facebook/opt-125m"', f'engine="{engine}",model_name="{model}"')
                families.append(labelled)
    body = "\n".join(header + families) + "\n"
    return NUMBER.sub(lambda m: f"{m.group(1)}{float(m.group(2)) + 7 * step}", body)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(iterations: int = 300) -> None:
    bodies = [build_body(step) for step in range(iterations + 1)]
    first = parse_metrics(bodies[0])
    series = sum(1 for s in first.samples())
    vllm_series = sum(1 for s in first.samples() if s.name.startswith("vllm:"))
    t0 = datetime(2026, 11, 24, tzinfo=timezone.utc)
    previous = VllmMetrics.from_snapshot(first)
    stages: dict[str, list[float]] = {"parse": [], "vllm+derive": [], "rows": [], "parquet": [], "total": []}
    rows_per_scrape = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(1, iterations + 1):
            start = time.perf_counter()
            snapshot = parse_metrics(bodies[i])
            parsed = time.perf_counter()
            metrics = VllmMetrics.from_snapshot(snapshot)
            derive(previous, metrics, 5.0)
            derived = time.perf_counter()
            scrape = EndpointScrape(
                "vllm:http://127.0.0.1:8000", "http://127.0.0.1:8000", t0 + timedelta(seconds=5 * i),
                EndpointState.UP, None, 200, snapshot, metrics, duration_s=0.004,
            )
            rows = vllm_rows(scrape)
            table = rows_to_table(rows)
            converted = time.perf_counter()
            pq.write_table(table, os.path.join(tmp, f"scrape-{i}.parquet"))
            written = time.perf_counter()
            previous = metrics
            rows_per_scrape = len(rows)
            for name, begin, end in (
                ("parse", start, parsed),
                ("vllm+derive", parsed, derived),
                ("rows", derived, converted),
                ("parquet", converted, written),
                ("total", start, written),
            ):
                stages[name].append((end - begin) * 1000)

    print(f"machine: {platform.platform()}, cpu_count={os.cpu_count()}, python {platform.python_version()}")
    print(f"body: {len(bodies[1])} bytes, {series} series ({vllm_series} vllm:), {len(ENGINES)} engines")
    print(f"rows stored per scrape: {rows_per_scrape}; iterations: {iterations}")
    for name, values in stages.items():
        print(f"{name:>12}: p50 {statistics.median(values):6.2f} ms   p99 {percentile(values, 0.99):6.2f} ms")
    verdict = "meets" if percentile(stages["total"], 0.5) < 20 else "MISSES"
    print(f"target < 20 ms per scrape: p50 {verdict} it")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
