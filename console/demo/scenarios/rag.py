"""demo-rag-api: the documentation assistant (OpenInference, as LlamaIndex's
instrumentation writes it). An HTTP request span (plain OTel) around a query
chain: optional input guard, embedding, retrieval, a guard over the retrieved
context, and the LLM call whose system prompt carries the excerpts."""

from __future__ import annotations

from typing import Any

from console.demo.corpus import docs as corpus
from console.demo.dialects import http, openinference as oi
from console.demo.llm import CallError, assistant, embedding_usage, plan_call
from console.demo.models import CLAUDE_SONNET, EMBEDDING_SMALL, GEMINI_FLASH, GPT_4O_MINI
from console.demo.scenarios import Job, World, ms, pick
from console.demo.spans import Service, Trace

SERVICE = Service("demo-rag-api", "0.9.3", scope="openinference.instrumentation.llama_index", scope_version="4.3.1")
MODELS: tuple[tuple[object, float], ...] = ((GEMINI_FLASH, 5), (GPT_4O_MINI, 3.5), (CLAUDE_SONNET, 1.5))
CLIENTS = (("docs-widget", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 Safari/605.1.15"),
           ("nw-cli", "nw-cli/3.8.0 (linux; x64)"), ("vscode-extension", "northwind-vscode/1.12.4"))
TOP_K = 4
INPUT_GUARD_SHARE = 0.2
ERROR_SHARE = 0.012


def _documents(world: World, q: corpus.DocQuestion) -> list[dict[str, Any]]:
    rng = world.rng
    chosen = [corpus.BY_ID[d] for d in q.docs]
    others = [d for d in corpus.DOCS if d.id not in q.docs]
    chosen += rng.sample(others, TOP_K - len(chosen))
    out, score = [], rng.uniform(0.82, 0.91)
    for d in chosen:
        out.append({"id": d.id, "content": d.content, "score": round(score, 4),
                    "metadata": {"title": d.title, "source": d.source, "index": "docs-v14"}})
        score -= rng.uniform(0.03, 0.11)
    return out


def _context(documents: list[dict[str, Any]]) -> str:
    return "\n\n".join(f"[{d['metadata']['title']}]\n{d['content']}" for d in documents)


def build(world: World, job: Job) -> list[Trace]:
    rng = world.rng
    poisoned = job.feature == "poisoned"
    q = corpus.POISONED_QUESTION if poisoned else rng.choice(corpus.QUESTIONS)
    model = GEMINI_FLASH if job.feature else pick(rng, MODELS)
    c = world.customer()
    client, agent = rng.choice(CLIENTS)
    session = world.session_id("docs") if rng.random() < 0.4 else None
    ctx = oi.context_attrs(session, c.user_id, world.tags(job, c.user_id, "docs-search"),
                           {"client": client, "index": "docs-v14", "top_k": TOP_K})
    service = SERVICE if job.env == "prod" else SERVICE.in_env(job.env, "0.10.0-beta.1")
    tr = Trace(rng, "rag")

    documents = _documents(world, q)
    messages, link = world.prompts["docs-answer"].render(question=q.question, context=_context(documents))
    failed = rng.random() < ERROR_SHARE and not job.feature
    error = CallError("ResourceExhausted", "429 RESOURCE_EXHAUSTED: Quota exceeded for generate_content requests per "
                                           "minute per project.", 429) if failed else None
    call = plan_call(rng, model, messages, None if failed else assistant(q.answer),
                     params={"temperature": 0.1, "max_tokens": 600}, prompt=link, error=error)

    root = tr.add(service, http.server("POST", "/v1/answer", 503 if failed else 200, agent), 0, 0)
    chain = tr.add(service, oi.chain("query", q.question, None if failed else q.answer, ctx), ms(rng.uniform(1, 3)), 0,
                   root)
    t = chain.start_ns + ms(rng.uniform(1, 4))
    if poisoned or job.feature == "guard" or rng.random() < INPUT_GUARD_SHARE:
        span = tr.add(service, oi.guardrail("input-injection-check", q.question, True, rng.uniform(0.01, 0.08), "",
                                            "input", "injection", ctx), t, t + ms(rng.uniform(15, 60)), chain)
        t = span.end_ns + ms(1)
    n_tokens = embedding_usage([q.question])
    span = tr.add(service, oi.embedding(EMBEDDING_SMALL.name, [q.question], n_tokens, ctx), t,
                  t + ms(rng.lognormvariate(4.6, 0.35)), chain)
    t = span.end_ns + ms(1)
    span = tr.add(service, oi.retriever(q.question, documents, ctx), t, t + ms(rng.lognormvariate(3.2, 0.4)), chain)
    t = span.end_ns + ms(1)
    if poisoned:
        bad = documents[1]
        span = tr.add(service, oi.guardrail("context-injection-scan", bad["content"], False, 0.94,
                                            f"instruction override in retrieved document {bad['id']}", "input",
                                            "injection", ctx), t, t + ms(rng.uniform(20, 70)), chain)
        t = span.end_ns + ms(1)
        tr.features |= {"injection", "indirect", "guardrail"}
    span = tr.add(service, oi.llm(call, ctx), t, t + call.duration_ns, chain)
    chain.end_ns = span.end_ns + ms(rng.uniform(0.5, 2))
    root.end_ns = chain.end_ns + ms(rng.uniform(0.5, 3))
    if failed:
        tr.features.add("error")
    return [tr.shift_to(job.start_ns)]
