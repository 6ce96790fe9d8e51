#!/usr/bin/env python3
"""Build a large realistic store through the store's own write path (SegmentWriter),
for the console and query benchmarks.

    python bench/build_store.py --traces 1000000 --days 30 --out .bench-data/console-1m

Traces: agent runs (root + LLM calls + tool calls), RAG and single-chat traces,
5 spans each on average, several models/providers, users, sessions, tags, a few
errors, realistic text of 50-1500 characters drawn from a vocabulary (so free-text
search scans real bytes). Deterministic for a seed. Written in daily batches and
compacted, as a collector would leave it.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa

from store.schema import SPANS
from store.segments.compaction import CompactionPolicy, full_compaction, seal_old_days
from store.segments.writer import SegmentWriter

WORDS = ("refund invoice order shipping delay customer account password reset subscription plan upgrade "
         "cancel billing charge card payment failed error timeout latency model prompt token cache vector "
         "index retrieval context answer question policy document section table query join filter group "
         "revenue quarter region deployment kubernetes pod gpu memory throughput request session user "
         "please explain why how many which the a of to and in is for with on as by at from this that").split()
MODELS = [("gpt-4o-mini", "openai", 0.15, 0.6), ("gpt-4o", "openai", 2.5, 10.0),
          ("claude-sonnet-4-6", "anthropic", 3.0, 15.0), ("gemini-2.0-flash", "gcp.vertex_ai", 0.15, 0.6),
          ("llama-3.1-8b-instruct", "vllm", None, None)]
SERVICES = ["support-bot", "rag-api", "sql-agent", "triage-agent", "gateway"]
TOOLS = ["web_search", "sql_query", "vector_retrieve", "calculator", "http_get", "read_file"]


class Rng(random.Random):
    def integers(self, lo: int, hi: int) -> int:
        return self.randrange(lo, hi)


def texts(rng: Rng, n: int, lo: int, hi: int) -> list[str]:
    out = []
    for _ in range(n):
        k = rng.randrange(lo // 6, hi // 6)
        out.append(" ".join(rng.choices(WORDS, k=k)).capitalize() + ".")
    return out


def day_batch(rng: Rng, day: datetime, n_traces: int, first: int) -> pa.Table:
    cols: dict[str, list] = {f.name: [] for f in SPANS}
    starts = sorted(rng.randrange(0, 86_400_000_000) for _ in range(n_traces))
    n_children = [rng.randrange(2, 8) for _ in range(n_traces)]  # 1 root + 2..7 children: ~5.5 spans a trace
    if n_traces:
        n_children[0] = 199  # one 200-span agent run per batch, for the open-a-big-trace figure
    prompts = texts(rng, sum(n_children), 50, 1500)
    answers = texts(rng, sum(n_children), 50, 900)
    k = 0
    base_us = int(day.timestamp() * 1_000_000)
    for t in range(n_traces):
        tid = f"{first + t:016x}{rng.integers(0, 2**63):016x}"
        root = f"{rng.integers(1, 2**63):016x}"
        service = SERVICES[int(rng.integers(0, len(SERVICES)))]
        user = f"user-{int(rng.integers(0, 5000)):04d}"
        session = f"sess-{first + t // 4}"
        tags = ["prod"] if rng.random() < 0.8 else ["staging"]
        t0 = base_us + int(starts[t])
        cursor = t0 + 5000
        child_rows = []
        for c in range(int(n_children[t])):
            sid = f"{rng.integers(1, 2**63):016x}"
            if c % 2 == 0:
                model, provider, pin, pout = MODELS[int(rng.integers(0, len(MODELS)))]
                itok, otok = int(rng.integers(200, 6000)), int(rng.integers(20, 1200))
                dur = int(rng.integers(300_000, 4_000_000))
                err = rng.random() < 0.02
                cost = None if pin is None else (itok * pin + otok * pout) / 1e6
                child_rows.append(dict(
                    span_id=sid, name=f"chat {model}", kind="llm", start=cursor, dur=dur, status="error" if err else "ok",
                    status_message="RateLimitError: 429 Too Many Requests" if err else None, model=model,
                    provider=provider, input_tokens=itok, output_tokens=otok, total_tokens=itok + otok,
                    cost_usd=cost, cost_source="computed" if cost is not None else "unknown",
                    input_messages=json.dumps([{"role": "system", "content": f"You are the {service}."},
                                               {"role": "user", "content": prompts[k]}]),
                    output_messages=json.dumps([{"role": "assistant", "content": answers[k]}]),
                    input_value=None, output_value=None))
            else:
                tool = TOOLS[int(rng.integers(0, len(TOOLS)))]
                dur = int(rng.integers(15_000, 900_000))
                child_rows.append(dict(
                    span_id=sid, name=f"execute_tool {tool}", kind="tool", start=cursor, dur=dur, status="ok",
                    status_message=None, model=None, provider=None, input_tokens=None, output_tokens=None,
                    total_tokens=None, cost_usd=None, cost_source=None, input_messages=None,
                    output_messages=None, input_value=json.dumps({"query": prompts[k][:120]}),
                    output_value=answers[k]))
            k += 1
            cursor += dur + 2000
        end = cursor + 3000
        rows = [dict(span_id=root, parent=None, name=f"invoke_agent {service}", kind="agent", start=t0,
                     dur=end - t0, status="ok", status_message=None, model=None, provider=None, input_tokens=None,
                     output_tokens=None, total_tokens=None, cost_usd=None, cost_source=None, input_messages=None,
                     output_messages=None, input_value=prompts[k - 1][:300], output_value=answers[k - 1][:300])]
        rows += [dict(r, parent=root) for r in child_rows]
        for r in rows:
            cols["trace_id"].append(tid)
            cols["span_id"].append(r["span_id"])
            cols["parent_id"].append(r["parent"])
            cols["name"].append(r["name"])
            cols["kind"].append(r["kind"])
            cols["otel_kind"].append(1)
            cols["service"].append(service)
            cols["start_time"].append(r["start"])
            cols["end_time"].append(r["start"] + r["dur"])
            cols["duration_ms"].append(r["dur"] / 1000)
            cols["status"].append(r["status"])
            cols["status_message"].append(r["status_message"])
            cols["operation"].append("chat" if r["kind"] == "llm" else None)
            cols["model"].append(r["model"])
            cols["provider"].append(r["provider"])
            cols["server_address"].append("10.0.0.5:8000" if r["provider"] == "vllm" else None)
            for c in ("input_tokens", "output_tokens", "total_tokens", "cost_usd", "cost_source",
                      "input_messages", "output_messages", "input_value", "output_value"):
                cols[c].append(r[c])
            for c in ("cache_read_tokens", "cache_write_tokens", "reasoning_tokens", "ttft_ms", "finish_reason",
                      "request_params", "prompt_id", "prompt_version", "prompt_vars", "attributes", "events"):
                cols[c].append(None)
            cols["session_id"].append(session)
            cols["user_id"].append(user)
            cols["tags"].append(tags)
            cols["dialect"].append("genai")
            cols["resource"].append(json.dumps({"service.name": service}))
            cols["received_at"].append(r["start"] + r["dur"])
    return pa.Table.from_pydict(cols, schema=SPANS)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--traces", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--out", type=Path, default=Path(".bench-data/console-1m"))
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    if (args.out / "manifest.json").exists():
        print(f"{args.out} exists; delete it to rebuild")
        return 0
    rng = Rng(args.seed)
    w = SegmentWriter(args.out)
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    per_day = args.traces // args.days
    spans = 0
    t0 = time.perf_counter()
    for d in range(args.days):
        day = today - timedelta(days=args.days - 1 - d)
        n = per_day + (args.traces - per_day * args.days if d == args.days - 1 else 0)
        # several flushes per day, as the collector would write them
        for part in range(4):
            m = n // 4 + (n - (n // 4) * 4 if part == 3 else 0)
            table = day_batch(rng, day, m, d * per_day + part * (n // 4))
            # keep every batch inside its day (starts sorted per part; shift parts apart)
            w.append({"spans": table})
            spans += table.num_rows
        print(f"day {d + 1}/{args.days}: {spans:,} spans, {time.perf_counter() - t0:.0f}s", flush=True)
    merged = full_compaction(w, CompactionPolicy(fan_in=4, max_rows=4_000_000))
    while seal_old_days(w, max_days=5):  # past days sealed, with text indexes, as a quiet collector leaves them
        pass
    size = sum(s.bytes for s in w.manifest.segments)
    print(f"built {args.traces:,} traces, {spans:,} spans in {time.perf_counter() - t0:.0f}s; "
          f"compacted {merged} segments; {len(w.manifest.segments)} segments, {size / 1e9:.2f} GB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
