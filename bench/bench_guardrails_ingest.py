"""Guardrails on the ingest path: cost per span of the collector's two passes,
and the per-4 KB-text latency of the pattern detectors.

    python bench/bench_guardrails_ingest.py                 # 10,000 spans
    python bench/bench_guardrails_ingest.py --spans 20000 --profile flag

Spans come from ../shared/bench/otlp_load.py (the collector's load generator:
LLM spans with 200-700 chars of English-like text, tool spans with JSON args
and 150-500 chars of results; no PII, no injections), normalized by the
collector's SpanBatchBuilder, then:

* ``flag``: ``GuardrailStage.from_config({})`` (every detector on, flag mode),
  over batches of ``--flag-batch`` spans (the collector's detection process
  reads published segments in batches of up to 2,000) and of ``--batch``;
* ``redact``: PII and secret detectors in redact mode (the pass before the
  WAL, in the decoders: one batch per OTLP request, ``--batch`` spans).

Times are CPU time of this thread (``time.thread_time_ns``): the machine is
shared, and wall time there measures the neighbours as much as the code (the
wall-clock mean is printed beside it). Neighbours still slow the CPU down
(shared caches, hyperthreads), and only ever upwards: each figure is the best of
``--repeat`` runs (per pass for the means, per text for the 4 KB figures). Per-span mean is batch time / rows over
batches of ``--batch`` spans (what a decoder sees), with p50/p99 of that ratio
over batches; the one-row figures time each span alone as a one-row batch, so
they include the pass's per-call overhead. The 4 KB figures time ``GuardrailRunner.scan_span`` on 4 KB
texts: clean (load-generator text), PII (Presidio synthetic sentences) and
injection (jailbreak prompts) from bench/guardrails/corpus.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT.parent / "shared" / "bench"))  # benches may read ../shared; tests never do

import otlp_load  # noqa: E402
import pyarrow as pa  # noqa: E402
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest  # noqa: E402
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope  # noqa: E402
from opentelemetry.proto.resource.v1.resource_pb2 import Resource  # noqa: E402
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans  # noqa: E402

from store.collector.guardrail_stage import GuardrailStage  # noqa: E402
from store.collector.normalize import SpanBatchBuilder  # noqa: E402
from store.guardrails import GuardrailRunner  # noqa: E402

CORPUS = ROOT / "bench" / "guardrails" / "corpus"
REDACT_CONFIG = {"detectors": {"pii": {"mode": "redact"}, "secret": {"mode": "redact"}}}
T0_NS = 1_700_000_000_000_000_000


def machine() -> str:
    return (f"{platform.platform()} | {platform.processor() or platform.machine()} | {os.cpu_count()} CPUs | "
            f"{platform.python_implementation()} {platform.python_version()}")


def load_batches(spans: int, batch: int, seed: int) -> list:
    resource = Resource(attributes=[otlp_load.kv("service.name", "bench"), otlp_load.kv("telemetry.sdk.language", "python")])
    scope = InstrumentationScope(name="otlp_load", version="1")
    generated = list(otlp_load.gen_spans(seed, spans, T0_NS))
    builder = SpanBatchBuilder()
    out = []
    for i in range(0, len(generated), batch):
        req = ExportTraceServiceRequest(resource_spans=[ResourceSpans(
            resource=resource, scope_spans=[ScopeSpans(scope=scope, spans=generated[i:i + batch])])])
        out.append(builder.build(req).batch)
    return out


def percentiles(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.99) - 1)]


CLOCK = time.thread_time_ns  # CPU time: the machine is shared


def time_pass(name: str, run: Callable, batches: list, single_rows: int, repeat: int) -> None:
    run(batches[0])  # warm caches (compiled patterns, lazy imports)
    rows = sum(b.num_rows for b in batches)
    best: tuple[float, float, list[float], int] | None = None
    for _ in range(repeat):
        events, per_batch = 0, []
        wall0, cpu0 = time.perf_counter_ns(), CLOCK()
        for b in batches:
            t = CLOCK()
            ev = run(b)
            per_batch.append((CLOCK() - t) / 1e3 / b.num_rows)
            if isinstance(ev, tuple):
                ev = ev[1]
            events += ev.num_rows if ev is not None else 0
        mean_us = (CLOCK() - cpu0) / 1e3 / rows
        wall_us = (time.perf_counter_ns() - wall0) / 1e3 / rows
        if best is None or mean_us < best[0]:
            best = (mean_us, wall_us, per_batch, events)
    mean_us, wall_us, per_batch, events = best  # type: ignore[misc]
    b50, b99 = percentiles(per_batch)
    singles = [b.slice(i, 1) for b in batches for i in range(b.num_rows)][:single_rows]
    samples = [min(_timed(run, s) for _ in range(repeat)) for s in singles]
    print(f"{name:7} batches of {batches[0].num_rows:5d}: mean {mean_us:6.1f} µs/span CPU ({wall_us:6.1f} wall; "
          f"{1e6 / mean_us:,.0f} spans/s on one core; {rows} spans, {events} events); "
          f"per batch p50 {b50:6.1f}  p99 {b99:6.1f} µs/span")
    if samples:
        p50, p99 = percentiles(samples)
        print(f"{name:7} one-row batches:    p50 {p50:6.1f}  p99 {p99:7.1f} µs/span ({len(samples)} spans)")


def _timed(run: Callable, arg: object) -> float:
    t = CLOCK()
    run(arg)
    return (CLOCK() - t) / 1e3


def _jsonl(name: str) -> list[dict]:
    with open(CORPUS / name, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def texts_4kb() -> dict[str, list[str]]:
    import random

    rng = random.Random(7)
    clean = "\n".join(otlp_load.text(rng, 150, 700) for _ in range(3000))
    pii = "\n".join(r["text"] for r in _jsonl("pii_presidio_synth_v2.jsonl"))
    attack = "\n".join(r["text"] for r in _jsonl("jailbreak_jackhhao.jsonl") if r["label"] == "jailbreak")

    def cut(joined: str) -> list[str]:
        return [joined[i:i + 4096] for i in range(0, len(joined) - 4096, 4096)]

    return {"clean": cut(clean), "pii": cut(pii), "injection": cut(attack)}


def time_4kb(iterations: int, repeat: int) -> None:
    runner = GuardrailRunner()
    sets = texts_4kb()
    print(f"\n4 KB texts, GuardrailRunner.scan_span, all {len(runner.detectors)} detectors, input text (CPU time)")
    mix: list[float] = []
    for kind, texts in sets.items():
        for t in texts[:20]:
            runner.scan_span([t])
        picked = [texts[i % len(texts)] for i in range(min(iterations, len(texts)))]
        samples = [min(_timed(runner.scan_span, [t]) for _ in range(repeat)) / 1e3 for t in picked]
        mix += samples
        p50, p99 = percentiles(samples)
        print(f"  {kind:10} ({len(picked):4d} texts)  p50 {p50:6.3f} ms   p99 {p99:6.3f} ms")
    p50, p99 = percentiles(mix)
    print(f"  {'mix':10} (all above)   p50 {p50:6.3f} ms   p99 {p99:6.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=10000)
    parser.add_argument("--batch", type=int, default=100, help="spans per OTLP request")
    parser.add_argument("--flag-batch", type=int, default=2000, help="spans per batch of the detection process")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--single-rows", type=int, default=1000, help="one-row batches timed for p50/p99")
    parser.add_argument("--iterations", type=int, default=300, help="4 KB texts timed per kind (at most all of them)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the best counts")
    parser.add_argument("--profile", choices=["flag", "redact"], help="cProfile one pass instead of timing")
    args = parser.parse_args()

    print(f"# Guardrails on the ingest path\nmachine: {machine()}")
    batches = load_batches(args.spans, args.batch, args.seed)
    flag_stage = GuardrailStage.from_config({})
    redact_stage = GuardrailStage.from_config(REDACT_CONFIG)
    if args.profile:
        import cProfile
        import pstats

        run = flag_stage.flag if args.profile == "flag" else redact_stage.redact
        if args.profile == "flag":
            batches = pa.Table.from_batches(batches).combine_chunks().to_batches(max_chunksize=args.flag_batch)
        run(batches[0])
        profiler = cProfile.Profile()
        profiler.enable()
        for b in batches:
            run(b)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        return
    print(f"load: otlp_load.gen_spans(seed={args.seed}), {args.spans} spans\n")
    big = [b for t in [pa.Table.from_batches(batches)] for b in t.combine_chunks().to_batches(max_chunksize=args.flag_batch)]
    time_pass("flag", flag_stage.flag, big, 0, args.repeat)
    time_pass("flag", flag_stage.flag, batches, args.single_rows, args.repeat)
    time_pass("redact", redact_stage.redact, batches, args.single_rows, args.repeat)
    time_4kb(args.iterations, args.repeat)


if __name__ == "__main__":
    main()
