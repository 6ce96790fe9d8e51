"""demo-ticket-triage: a queue worker that routes new support tickets with the
self-hosted Llama on vLLM (127.0.0.1:8000) and, for outages and security
reports, writes an on-call summary with gpt-4o-mini. Instrumented with the old
GenAI names (``gen_ai.system``, prompt/completion tokens, content in events)."""

from __future__ import annotations

from console.demo.corpus.support import aws_key, random_case
from console.demo.dialects import genai
from console.demo.llm import CallError, assistant, plan_call
from console.demo.models import GPT_4O_MINI, LLAMA_8B
from console.demo.scenarios import Job, World, gateway, ms
from console.demo.spans import INTERNAL, Service, SpanShape, Trace

SERVICE = Service("demo-ticket-triage", "0.4.1", scope="opentelemetry.instrumentation.openai", scope_version="0.48b0")
ON_CALL_SYSTEM = "Summarize this support ticket for the on-call engineer in one sentence. Include ids and regions."
VLLM_DOWN_SHARE = 0.01


def build(world: World, job: Job) -> list[Trace]:
    rng = world.rng
    c = world.customer()
    case = aws_key(rng, c, job.when) if job.feature == "secret" else random_case(rng, c, job.when)
    label = "security" if job.feature == "secret" else gateway.TRIAGE_LABELS[case.intent]
    ticket_id = f"T-{rng.randint(10400, 19999)}"
    messages, link = world.prompts["ticket-triage"].render(ticket_id=ticket_id, ticket=case.question)
    ctx = {"user.id": c.user_id}
    service = SERVICE if job.env == "prod" else SERVICE.in_env(job.env)
    tr = Trace(rng, "triage")
    tr.features |= case.features

    root = tr.add(service, SpanShape("support-tickets process", INTERNAL, {
        "messaging.system": "aws_sqs", "messaging.operation.type": "process",
        "messaging.destination.name": "support-tickets", "messaging.message.id": ticket_id,
        "ticket.id": ticket_id, "ticket.priority": "high" if label in ("outage", "security") else "normal"}), 0, 0)
    t = ms(rng.uniform(2, 9))
    down = rng.random() < VLLM_DOWN_SHARE and not job.feature
    if down:  # the vLLM server restarting: the worker retries once
        fail = plan_call(rng, LLAMA_8B, messages, None, params={"temperature": 0, "max_tokens": 8}, prompt=link,
                         error=CallError("APIConnectionError", "Connection error: [Errno 111] Connection refused "
                                                               "(127.0.0.1:8000)"), error_after_s=0.004)
        t = tr.add(service, genai.chat_old(fail, ctx), t, t + fail.duration_ns, root).end_ns
        t += ms(rng.uniform(500, 2000))
        tr.features.add("error")
    call = plan_call(rng, LLAMA_8B, messages, assistant(label), params={"temperature": 0, "max_tokens": 8},
                     prompt=link, warm=gateway.triage_prefix_tokens(world))
    t = tr.add(service, genai.chat_old(call, ctx), t, t + call.duration_ns, root).end_ns + ms(rng.uniform(1, 5))
    if label in ("outage", "security") or rng.random() < 0.08:
        summary = (f"{ticket_id} ({c.company}, {c.plan}): " + case.question.split("\n")[0][:160]).rstrip()
        msgs = [{"role": "system", "content": ON_CALL_SYSTEM}, {"role": "user", "content": case.question}]
        call = plan_call(rng, GPT_4O_MINI, msgs, assistant(summary), params={"temperature": 0.2, "max_tokens": 120})
        t = tr.add(service, genai.chat_old(call, ctx), t, t + call.duration_ns, root).end_ns + ms(rng.uniform(1, 4))
    root.end_ns = t
    return [tr.shift_to(job.start_ns)]
