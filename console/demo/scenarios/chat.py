"""demo-chat-web: the dashboard's chat assistant (Langfuse's OTel SDK). Each turn
is a trace with a ``chat-turn`` span and one generation; sessions replay a
multi-turn script, so later turns carry the history and hit the prompt cache."""

from __future__ import annotations

from typing import Any

from console.demo.corpus import chat as corpus
from console.demo.dialects import langfuse
from console.demo.llm import CallError, assistant, list_cost, message_tokens, plan_call
from console.demo.models import CLAUDE_SONNET, GPT_4O, GPT_4O_MINI, Model
from console.demo.scenarios import Job, World, ms, pick
from console.demo.spans import Service, Trace, seconds

SERVICE = Service("demo-chat-web", "5.2.1", scope="langfuse-sdk", scope_version="3.8.1")
MODELS: tuple[tuple[object, float], ...] = ((CLAUDE_SONNET, 5.5), (GPT_4O, 3), (GPT_4O_MINI, 1.5))
CACHE_TTL_S = 300  # Anthropic's default cache lifetime: a slow reply starts cold
FEATURED = {"refusal": (corpus.REFUSAL, {"refusal"}), "iban": (corpus.IBAN, {"pii"}),
            "injection": (corpus.INJECTION, {"injection", "refusal"})}


def _script(world: World, job: Job) -> tuple[list[tuple[str, str]], set[str]]:
    if job.feature in FEATURED:
        turn, features = FEATURED[job.feature]
        return [turn], set(features)
    if job.feature == "context_error":
        return [(corpus.huge_log(), "")], {"error", "context_length"}
    script = list(world.rng.choice(corpus.SCRIPTS))[:job.turns]
    while len(script) < job.turns:
        script.append(world.rng.choice(corpus.CLOSERS))
    return script, set()


def build(world: World, job: Job) -> list[Trace]:
    rng = world.rng
    c = world.customer()
    session = world.session_id("chat")
    model: Model = GPT_4O if job.feature == "context_error" else CLAUDE_SONNET if job.feature else pick(rng, MODELS)
    script, features = _script(world, job)
    tags = world.tags(job, c.user_id, "web")
    service = SERVICE if job.env == "prod" else SERVICE.in_env(job.env, "5.3.0-beta")
    reports_cost = model.provider == "openai" and rng.random() < 0.5  # the app passes cost_details itself
    history: list[dict[str, Any]] = [{"role": "system", "content": corpus.COPILOT_SYSTEM}]
    # the system prompt is the same for every user, so it stays in the provider's cache
    traces, start, warm, gap_s = [], job.start_ns, message_tokens(history), 0.0
    for question, answer in script:
        tr = Trace(rng, "chat")
        tr.features |= features
        messages = history + [{"role": "user", "content": question}]
        if "context_length" in features:
            call = plan_call(rng, model, messages, None, params={"temperature": 0.7, "max_tokens": 800},
                             error=CallError("ContextWindowExceededError", corpus.CONTEXT_ERROR, 400),
                             error_after_s=rng.uniform(0.4, 0.9))
        else:
            call = plan_call(rng, model, messages, assistant(answer), params={"temperature": 0.7, "max_tokens": 800},
                             warm=warm if gap_s < CACHE_TTL_S else message_tokens(history[:1]), stream=True)
        root = tr.add(service, langfuse.trace_root("chat-turn", c.user_id, session, tags, question,
                                                   answer or None, "5.2.1", job.env), 0, 0)
        t = ms(rng.uniform(8, 40))
        cost = list_cost(call) if reports_cost and call.usage else None
        gen = tr.add(service, langfuse.generation("chat-completion", call, cost), t, t + call.duration_ns, root)
        root.end_ns = gen.end_ns + ms(rng.uniform(2, 15))
        if call.error is not None:
            root.status, root.message = gen.status, gen.message
        traces.append(tr.shift_to(start))
        gap_s = rng.uniform(20, 420)
        start = tr.end_ns + seconds(gap_s)
        warm = call.usage.input if call.usage else 0
        history = messages + [{"role": "assistant", "content": answer}]
    return traces
