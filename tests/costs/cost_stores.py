"""Deterministic stores for the cost tests, written through the store's own writer.

``cost_store`` holds three days of traffic (2026-01-05..07 UTC) from three users on
four models, with tags, prompts, attributes, a retriever, repeated questions, a GPU
endpoint, an unknown model and two spans whose token numbers cannot be right. Costs
are what the collector would have stored (the real Pricer at ingest).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from store.pricing.config import PricingConfig
from store.pricing.pricer import TokenUsage
from store.schema import SPANS
from store.segments.writer import SegmentWriter
from tests.support.stores import hexid, span

T0 = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)  # a Monday
US = 1_000_000
PRICING = {
    "overrides": {"gpt-4o": {"input_per_million": 2.0, "output_per_million": 8.0}},
    "gpu_endpoints": [{"name": "llama-box", "model": "llama-*", "usd_per_gpu_hour": 1.2, "gpu_count": 1}],
}
SYSTEM = "You are the support assistant. Answer briefly and cite the article you used."
QUESTIONS = ("Where is my refund for order {n}?", "How do I reset my password?", "Do you ship to Norway?")
MODELS = (("gpt-4o", "openai"), ("claude-sonnet-4-5", "anthropic"), ("gpt-4o-mini", "openai"),
          ("llama-3-70b", "vllm"))


def us(t: datetime) -> int:
    return int(t.timestamp() * US)


def llm_row(trace: str, sid: str, parent: str | None, start: datetime, model: str, provider: str | None,
            user: str, inp: int, out: int, **kw: Any) -> dict[str, Any]:
    pricer = kw.pop("pricer", None) or PricingConfig.from_dict(PRICING).pricer()
    reported = kw.pop("reported", None)
    usage = TokenUsage(inp, out, kw.get("cache_read_tokens"), None, kw.get("reasoning_tokens"))
    priced = pricer.price(model, provider, usage, reported)
    kw.setdefault("total_tokens", inp + out)
    kw["user_id"] = user
    return span(trace, sid, parent, f"chat {model}", start, 800, kind="llm", model=model, provider=provider,
                input_tokens=inp, output_tokens=out, cost_usd=priced.cost_usd, cost_source=priced.source, **kw)


def cost_rows(days: int = 3, per_day: int = 24) -> list[dict[str, Any]]:
    pricer = PricingConfig.from_dict(PRICING).pricer()
    rows: list[dict[str, Any]] = []
    users = ("alice", "bob", "carol")
    for d in range(days):
        for i in range(per_day):
            n = d * per_day + i
            start = T0 + timedelta(days=d, hours=i % 24, minutes=(7 * i) % 60)
            user = users[n % 3]
            model, provider = MODELS[n % 4]
            tid, root = hexid("t", n), hexid("r", n, n=16)
            tags = ["prod"] if n % 2 else ["staging", "beta"]
            question = QUESTIONS[n % 3].format(n=1000 + n)
            common = dict(user_id=user, session_id=f"s-{user}-{d}", tags=tags, service=f"svc-{n % 2}",
                          attributes=json.dumps({"app.team": ("care", "growth")[n % 2]}))
            rows.append(span(tid, root, None, f"answer {('faq', 'refund')[n % 2]}", start, 3000, kind="agent",
                             **common))
            retrieved = f"[kb-{n % 5}] " + "Refunds take five working days. " * 4
            rows.append(span(tid, hexid("ret", n, n=16), root, "retrieve", start + timedelta(milliseconds=5), 30,
                             kind="retriever", output_value=retrieved, **common))
            messages = [{"role": "system", "content": SYSTEM},
                        {"role": "user", "content": f"Context: {retrieved}\nQuestion: {question}"}]
            inp, out = 400 + 10 * (n % 7), 120 + 5 * (n % 5)
            extra: dict[str, Any] = {}
            if n == 5:
                extra = {"cache_read_tokens": inp + 50}  # cached above input: impossible
            if n == 9:
                extra = {"total_tokens": inp + out + 33}  # a total that matches no convention
            common.pop("user_id")
            rows.append(llm_row(tid, hexid("l", n, n=16), root, start + timedelta(milliseconds=50), model, provider,
                                user, inp, out, pricer=pricer, input_messages=json.dumps(messages),
                                output_messages=json.dumps([{"role": "assistant", "content": "Five days."}]),
                                prompt_id="support", prompt_version=str(1 + n % 2), **common, **extra))
            if n % 6 == 0:  # a fine-tune nobody priced
                rows.append(llm_row(tid, hexid("u", n, n=16), root, start + timedelta(seconds=2), "acme-ft", "acme",
                                    user, 50, 5, pricer=pricer, **common))
    return rows


def write_store(store: Path, rows: list[dict[str, Any]]) -> Path:
    SegmentWriter(store).append({"spans": pa.Table.from_pylist(rows, schema=SPANS)})
    return store


def cost_store(store: Path, days: int = 3) -> Path:
    return write_store(store, cost_rows(days))
