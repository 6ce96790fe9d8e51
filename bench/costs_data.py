"""A realistic store for the cost benchmark and for trying the costs pane by hand.

Six services with their own shapes of trace (agents with tools, RAG with embeddings,
long-document summaries, reasoning models, a self-hosted Llama paid by the GPU-hour
and a fine-tune nobody priced), about two thousand users with a long tail, sessions,
tags, prompt versions, raw attributes, repeated FAQ questions (cache opportunity),
a weekly rhythm, growth, an incident day and a few spans whose token numbers cannot
be right. Costs are set by the real ``Pricer`` as the collector would at ingest
(GPU-time spans have a null cost until priced by bucket).

Written day by day through ``SegmentWriter.append`` in several flushes per day, then
``full_compaction``, the store's own write path.

    python bench/costs_data.py --spans 300000 --days 30 --store /tmp/costs-demo
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere without installing

import pyarrow as pa  # noqa: E402

from store.pricing.config import PricingConfig  # noqa: E402
from store.pricing.pricer import TokenUsage  # noqa: E402
from store.schema import SPANS  # noqa: E402
from store.segments.compaction import full_compaction  # noqa: E402
from store.segments.writer import SegmentWriter  # noqa: E402

GENERATOR_VERSION = 4
FLUSHES_PER_DAY = 8  # the default compaction fan-in: each day ends as one compacted segment
SPANS_PER_TRACE = 4.18  # what the trace shapes below average, to size the day

# The pricing a user of this store would configure (also written to config.toml).
PRICING: dict[str, Any] = {
    "overrides": {"gpt-4o": {"input_per_million": 2.0, "output_per_million": 8.0}},  # a negotiated rate
    "gpu_endpoints": [
        {"name": "llama-box", "model": "*llama-3.1-70b*", "usd_per_gpu_hour": 2.5, "gpu_count": 4},
    ],
}

SERVICES = [  # name, weight
    ("support-bot", 34), ("search-api", 22), ("sales-assistant", 14), ("doc-summarizer", 10),
    ("code-review", 8), ("batch-enricher", 12),
]
TEAMS = {"support-bot": "care", "search-api": "platform", "sales-assistant": "growth",
         "doc-summarizer": "platform", "code-review": "devex", "batch-enricher": "data"}
REGIONS = ("eu-west-1", "us-east-1", "us-west-2")
LLAMA = ("hosted_vllm/llama-3.1-70b-instruct", None, "10.0.3.7:8000")
MODELS = {  # name, provider, server
    "gpt-4o": ("gpt-4o", "openai", "api.openai.com:443"),
    "gpt-4o-mini": ("gpt-4o-mini", "openai", "api.openai.com:443"),
    "claude": ("claude-sonnet-4-5", "anthropic", "api.anthropic.com:443"),
    "haiku": ("claude-haiku-4-5", "anthropic", "api.anthropic.com:443"),
    "gemini": ("gemini-2.0-flash", "gcp.gemini", "generativelanguage.googleapis.com:443"),
    "o3-mini": ("o3-mini", "openai", "api.openai.com:443"),
    "llama": LLAMA,
    "acme": ("acme-ft-classifier-v2", "acme", "ml.acme.internal:443"),
    "embed": ("text-embedding-3-small", "openai", "api.openai.com:443"),
}
SENTENCES = (
    "Always answer in the customer's language and keep a friendly, professional tone.",
    "Never reveal internal tooling, prices that are not public, or other customers' data.",
    "If the request is about a refund, check the order status with the lookup tool first.",
    "Cite the knowledge-base article you used, by its title, at the end of the answer.",
    "Escalate to a human agent when the customer asks twice or mentions legal action.",
    "Prefer short paragraphs and bullet lists; avoid tables unless the user asks for one.",
    "When you are unsure, say so and ask one clarifying question instead of guessing.",
    "Summaries must keep every number, date and name that appears in the source.",
    "Return JSON that validates against the schema given below, with no extra keys.",
    "Flag any code that handles secrets, credentials or personal data for a second review.",
)
FAQ = (
    "What are your opening hours on public holidays?", "How do I reset my password?",
    "Can I change the delivery address after ordering?", "Where is my refund for order {n}?",
    "Do you ship to Norway?", "How do I cancel my subscription?", "Is there a student discount?",
    "What is the warranty on the X200 headphones?", "My invoice {n} shows the wrong VAT number",
    "How long does a bank transfer refund take?",
)
WORDS = ("order", "invoice", "account", "delivery", "contract", "report", "pipeline", "latency", "budget",
         "migration", "customer", "ticket", "release", "quarterly", "forecast", "dataset", "schema", "review")


def system_prompt(name: str, version: int) -> str:
    rng = random.Random(f"{name}-{version}")
    lines = [f"You are the {name.replace('-', ' ')} assistant of Acme Corp (prompt {name} v{version})."]
    lines += rng.sample(SENTENCES, 6) * rng.choice((1, 2, 3))
    return "\n".join(lines)


PROMPTS = {s: [(f"{s}-main", v, system_prompt(s, v)) for v in (3, 4)] for s, _ in SERVICES}


class Columns:
    """Span rows gathered column by column (far cheaper than a dict per row)."""

    def __init__(self) -> None:
        self.cols: dict[str, list[Any]] = {f.name: [] for f in SPANS}
        self.n = 0

    def add(self, **values: Any) -> None:
        for name, column in self.cols.items():
            column.append(values.get(name))
        self.n += 1

    def table(self) -> pa.Table:
        return pa.Table.from_pydict(self.cols, schema=SPANS)


class Generator:
    def __init__(self, seed: int, users: int = 2000):
        self.pricer = PricingConfig.from_dict(PRICING).pricer()
        self.users = [f"user-{i:04d}" for i in range(1, users + 1)]
        weights = [1 / (rank ** 1.15) for rank in range(1, users + 1)]
        total, acc = sum(weights), 0.0
        self.user_cum = []
        for w in weights:
            acc += w / total
            self.user_cum.append(acc)
        self.seed = seed

    def day(self, day: datetime, spans: int, incident: bool, not_after: datetime | None = None) -> list[pa.Table]:
        rng = random.Random(f"{self.seed}-{day.date()}")
        hours = [0.25, 0.2, 0.15, 0.15, 0.2, 0.3, 0.5, 0.9, 1.4, 1.7, 1.8, 1.7, 1.5, 1.7, 1.8, 1.7, 1.5, 1.2,
                 0.9, 0.7, 0.6, 0.5, 0.4, 0.3]
        cols = [Columns() for _ in range(FLUSHES_PER_DAY)]
        traces = int(spans / SPANS_PER_TRACE)
        starts = sorted(day + timedelta(hours=rng.choices(range(24), hours)[0], seconds=rng.random() * 3600)
                        for _ in range(traces))
        for i, start in enumerate(starts):
            if not_after is not None and start >= not_after:
                break
            self.trace(rng, cols[i * FLUSHES_PER_DAY // max(traces, 1)], start, incident)
        return [c.table() for c in cols if c.n]

    # -- one trace -----------------------------------------------------------------------------
    def trace(self, rng: random.Random, out: Columns, start: datetime, incident: bool) -> None:
        service = rng.choices([s for s, _ in SERVICES], [w for _, w in SERVICES])[0]
        user = self.users[_bisect(self.user_cum, rng.random())]
        ctx = {
            "trace_id": "%032x" % rng.getrandbits(128), "service": service, "user_id": user,
            "session_id": f"sess-{user[5:]}-{start:%m%d}-{rng.randrange(3)}",
            "tags": ["prod"] if rng.random() < 0.86 else ["staging"],
            "attributes": json.dumps({"app.team": TEAMS[service], "deployment.region": rng.choice(REGIONS),
                                      "feature.flag": rng.choice(("control", "new-ranker", "long-context")),
                                      "http.route": f"/v1/{service}"}),
            "resource": json.dumps({"service.name": service, "deployment.environment": "prod"}),
            "dialect": rng.choice(("genai", "genai", "openinference", "litellm")),
        }
        if rng.random() < 0.1:
            ctx["tags"] = ctx["tags"] + ["beta"]
        prompt_id, version, system = PROMPTS[service][0 if rng.random() < 0.4 else 1]
        root = "%016x" % rng.getrandbits(64)
        t = start + timedelta(milliseconds=3)
        children: list[tuple[str, dict[str, Any]]] = []
        question = self.question(rng)
        if service in ("support-bot", "search-api") and rng.random() < 0.7:
            t = self.retrieval(rng, children, t, question)
        calls = {"support-bot": rng.choice((1, 2, 2, 3, 4)), "search-api": 1, "sales-assistant": rng.choice((1, 2, 3)),
                 "doc-summarizer": rng.choice((1, 1, 2)), "code-review": rng.choice((1, 2)),
                 "batch-enricher": rng.choice((1, 1, 2))}[service]
        if incident and service == "support-bot" and rng.random() < 0.03:
            calls = 30  # an agent looping until someone noticed
        for k in range(calls):
            model = self.model_for(rng, service, k)
            t = self.llm(rng, children, t, model, system, question, prompt_id, version)
            if service in ("support-bot", "sales-assistant") and rng.random() < 0.6:
                t = self.tool(rng, children, t)
        end = t + timedelta(milliseconds=rng.randint(2, 40))
        name = {"support-bot": "invoke_agent support", "search-api": "POST /v1/search",
                "sales-assistant": "invoke_agent sales", "doc-summarizer": "summarize_document",
                "code-review": "review_pull_request", "batch-enricher": "enrich_record"}[service]
        self.emit(out, ctx, root, None, name, "agent" if "agent" in name else "chain", start, end,
                  input_value=question)
        for parent_kind, row in children:
            row.setdefault("parent_id", root)
            self.emit(out, ctx, **row)

    def question(self, rng: random.Random) -> str:
        if rng.random() < 0.3:
            return rng.choice(FAQ).format(n=rng.randrange(10_000, 99_999))
        words = rng.sample(WORDS, rng.randint(4, 9))
        return f"Please look into the {' '.join(words)} issue from ticket {rng.randrange(100_000)} and advise."

    def model_for(self, rng: random.Random, service: str, k: int) -> str:
        return {
            "support-bot": rng.choice(("claude", "claude", "haiku", "gpt-4o-mini")),
            "search-api": "gpt-4o-mini",
            "sales-assistant": rng.choice(("gpt-4o", "gpt-4o", "gpt-4o-mini")),
            "doc-summarizer": "gemini",
            "code-review": "o3-mini" if k == 0 else "llama",
            "batch-enricher": "llama" if rng.random() < 0.8 else "acme",
        }[service]

    def retrieval(self, rng: random.Random, children: list, t: datetime, question: str) -> datetime:
        name, provider, server = MODELS["embed"]
        tokens = len(question) // 4 + 1
        priced = self.pricer.price(name, provider, TokenUsage(tokens, 0), server_address=server)
        ms = rng.uniform(40, 120)
        children.append(("embedding", dict(span_id="%016x" % rng.getrandbits(64), name=f"embeddings {name}",
                                           kind="embedding", start=t, end=t + timedelta(milliseconds=ms),
                                           model=name, provider=provider, server_address=server,
                                           input_tokens=tokens, output_tokens=0, total_tokens=tokens,
                                           cost_usd=priced.cost_usd, cost_source=priced.source,
                                           input_value=question)))
        t += timedelta(milliseconds=ms + 2)
        docs = [f"[kb-{rng.randrange(900)}] " + " ".join(rng.sample(SENTENCES, 4)) for _ in range(rng.randint(2, 5))]
        ms = rng.uniform(15, 60)
        children.append(("retriever", dict(span_id="%016x" % rng.getrandbits(64), name="retrieve kb",
                                           kind="retriever", start=t, end=t + timedelta(milliseconds=ms),
                                           input_value=question, output_value=json.dumps(docs))))
        self._context = "\n\n".join(docs)
        return t + timedelta(milliseconds=ms + 2)

    def llm(self, rng: random.Random, children: list, t: datetime, key: str, system: str, question: str,
            prompt_id: str, version: int) -> datetime:
        name, provider, server = MODELS[key]
        context = getattr(self, "_context", "")
        self._context = ""
        user = question if not context else f"Context:\n{context}\n\nQuestion: {question}"
        if key == "gemini":
            user = "Summarize this document:\n" + " ".join(rng.choices(SENTENCES, k=rng.randint(20, 120)))
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        input_tokens = int((len(system) + len(user)) / 3.9) + rng.randint(5, 30)
        output_tokens = rng.randint(40, 700) if key != "acme" else rng.randint(1, 4)
        reasoning = rng.randint(200, 3000) if key == "o3-mini" else None
        if reasoning:
            output_tokens += reasoning
        cache_read = None
        if key in ("claude", "haiku", "gpt-4o", "gpt-4o-mini") and input_tokens > 1024 and rng.random() < 0.5:
            cache_read = int(len(system) / 3.9) // 128 * 128
        reported = None
        if rng.random() < 0.12 and key not in ("llama", "acme"):
            reported = self.pricer.price(name, provider, TokenUsage(input_tokens, output_tokens, cache_read, None,
                                                                    reasoning), server_address=server).cost_usd
        total = input_tokens + output_tokens
        if rng.random() < 0.002:  # a broken SDK: cached tokens reported outside the input
            cache_read, input_tokens = input_tokens + 500, 120
        elif rng.random() < 0.001:
            total += 17
        priced = self.pricer.price(name, provider, TokenUsage(input_tokens, output_tokens, cache_read, None, reasoning),
                                   reported, server_address=server)
        answer = " ".join(rng.sample(SENTENCES, rng.randint(1, 4)))
        ms = 200 + output_tokens * rng.uniform(8, 20)
        children.append(("llm", dict(
            span_id="%016x" % rng.getrandbits(64), name=f"chat {name}", kind="llm", start=t,
            end=t + timedelta(milliseconds=ms), model=name, provider=provider, server_address=server,
            input_tokens=input_tokens, output_tokens=output_tokens, cache_read_tokens=cache_read,
            reasoning_tokens=reasoning, total_tokens=total, cost_usd=priced.cost_usd, cost_source=priced.source,
            ttft_ms=rng.uniform(150, 900), finish_reason="stop", input_messages=json.dumps(messages),
            output_messages=json.dumps([{"role": "assistant", "content": answer, "finish_reason": "stop"}]),
            request_params=json.dumps({"temperature": 0.2, "max_tokens": 1024}), prompt_id=prompt_id,
            prompt_version=str(version), operation="chat")))
        return t + timedelta(milliseconds=ms + 3)

    def tool(self, rng: random.Random, children: list, t: datetime) -> datetime:
        ms = rng.uniform(20, 400)
        tool = rng.choice(("lookup_order", "search_kb", "create_ticket", "crm_lookup"))
        children.append(("tool", dict(span_id="%016x" % rng.getrandbits(64), name=f"execute_tool {tool}",
                                      kind="tool", start=t, end=t + timedelta(milliseconds=ms),
                                      input_value=json.dumps({"id": rng.randrange(10_000)}),
                                      output_value=json.dumps({"status": "ok"}))))
        return t + timedelta(milliseconds=ms + 2)

    def emit(self, out: Columns, ctx: dict[str, Any], span_id: str, parent_id: str | None, name: str, kind: str,
             start: datetime, end: datetime, **values: Any) -> None:
        out.add(**ctx, span_id=span_id, parent_id=parent_id, name=name, kind=kind, otel_kind=1 if kind != "llm" else 3,
                start_time=start, end_time=end, duration_ms=(end - start).total_seconds() * 1000, status="ok",
                received_at=end, **values)


def _bisect(cum: list[float], x: float) -> int:
    lo, hi = 0, len(cum) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cum[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


def day_weights(days: int, end: datetime) -> list[float]:
    """Growth of ~40% over 90 days, quieter weekends, and one incident day."""
    weights = []
    for d in range(days):
        day = end - timedelta(days=days - d)
        w = 1.0 + 0.0045 * d
        if day.weekday() >= 5:
            w *= 0.55
        weights.append(w)
    return weights


def build_store(root: Path, spans: int, days: int, end: datetime, seed: int = 7, log: Any = print,
                not_after: datetime | None = None) -> Path:
    """Write about ``spans`` spans over the ``days`` UTC days before ``end`` (a midnight)
    into ``root``; traces starting at or after ``not_after`` are left out."""
    root = Path(root)
    writer = SegmentWriter(root)
    gen = Generator(seed)
    weights = day_weights(days, end)
    scale = spans / sum(weights)
    incident_day = days - 9
    t0 = time.perf_counter()
    for d, w in enumerate(weights):
        day = end - timedelta(days=days - d)
        for table in gen.day(day, int(w * scale), d == incident_day, not_after):
            writer.append({"spans": table})
        if d % 10 == 9:
            log(f"  day {d + 1}/{days} written ({time.perf_counter() - t0:.0f} s)")
    merged = full_compaction(writer)
    log(f"  compacted {merged} segments ({time.perf_counter() - t0:.0f} s)")
    (root / "config.toml").write_text(_config_toml())
    return root


def _config_toml() -> str:
    lines = ["[pricing.overrides]"]
    for name, price in PRICING["overrides"].items():
        lines.append(f'"{name}" = {{ input_per_million = {price["input_per_million"]}, '
                     f'output_per_million = {price["output_per_million"]} }}')
    for e in PRICING["gpu_endpoints"]:
        lines += ["", "[[pricing.gpu_endpoints]]", *(f"{k} = {json.dumps(v)}" for k, v in e.items())]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spans", type=int, default=300_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--store", required=True)
    ap.add_argument("--end", help="UTC date the data ends before (default: tomorrow)")
    args = ap.parse_args()
    end = (datetime.fromisoformat(args.end).replace(tzinfo=UTC) if args.end else
           datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1))
    build_store(Path(args.store), args.spans, args.days, end, not_after=datetime.now(UTC))
    print(f"store at {args.store}; pricing config in {args.store}/config.toml")


if __name__ == "__main__":
    main()
