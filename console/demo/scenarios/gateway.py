"""demo-gateway: the company's LiteLLM proxy. Internal jobs call it for summaries,
translations, invoice extraction, ticket routing and reply drafts; the support bot
calls it for intent routing, so some traces cross services. It writes LiteLLM's
spans (``litellm_request`` with the cost in ``hidden_params``)."""

from __future__ import annotations

from typing import Any

from console.demo.corpus import gateway as text
from console.demo.corpus.support import random_case
from console.demo.dialects import http, litellm
from console.demo.llm import CallError, LLMCall, assistant, plan_call, tokens
from console.demo.models import CLAUDE_SONNET, GEMINI_FLASH, GPT_4O, GPT_4O_MINI, LLAMA_8B, Model
from console.demo.scenarios import Job, World, ms, pick
from console.demo.spans import Service, Span, Trace, seconds

SERVICE = Service("demo-gateway", "1.106.2", scope="litellm", scope_version="1.106.2")
ROUTE = "/v1/chat/completions"
RATE_LIMIT_SHARE = 0.02

TRIAGE_LABELS = {"billing": "billing", "refund": "billing", "deploy": "deploy", "domains": "domains",
                 "outage": "outage", "sso": "account", "rate_limit": "other", "database": "database",
                 "account": "account", "other": "other"}


def _rate_limited(model: Model) -> CallError:
    if model.provider == "anthropic":
        detail = ('AnthropicException - {"type":"error","error":{"type":"rate_limit_error","message":"This request '
                  'would exceed the rate limit for your organization of 400,000 input tokens per minute."}}')
    else:
        detail = ("OpenAIException - Rate limit reached for gpt-4o in organization org-demo on tokens per min (TPM): "
                  "Limit 2000000, Used 1998402, Requested 3120.")
    return CallError("RateLimitError", f"litellm.RateLimitError: {detail}", 429)


def serve(world: World, tr: Trace, t: int, calls: list[LLMCall], key_alias: str, team: str,
          parent: Span | None = None, end_user: str = "", service: Service = SERVICE) -> int:
    """One proxied request: the HTTP server span and a ``litellm_request`` per attempt
    (failed attempts first, as LiteLLM's router retries or falls back)."""
    rng = world.rng
    status = 200 if calls[-1].error is None else (calls[-1].error.http_status or 500)
    server = tr.add(service, http.server("POST", ROUTE, status, "OpenAI/Python 1.99.9"), t, t, parent)
    t += ms(rng.uniform(1, 4))
    for call in calls:
        req = tr.add(service, litellm.request(rng, call, key_alias, team, end_user), t, t + call.duration_ns, server)
        if call.error is None:
            tr.add(service, litellm.raw_request(call), req.start_ns + ms(2), req.end_ns - ms(1), req)
        t = req.end_ns + (seconds(rng.uniform(0.8, 3.0)) if call.error else ms(rng.uniform(1, 3)))
    server.end_ns = t
    return t


def triage_prefix_tokens(world: World) -> int:
    """The routing prompt's fixed instructions: what vLLM's prefix cache holds."""
    return tokens((world.prompts["ticket-triage"].prompt.template or "").split("Ticket {{")[0])


def _messages(system: str, user: str) -> list[dict[str, Any]]:
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def _task(world: World, job: Job) -> tuple[Model, list[dict[str, Any]], str, dict[str, Any], str, str]:
    """(model, messages, answer, params, key alias, team) for one internal job."""
    rng = world.rng
    # the featured routing call: its prompt reaches the store with no prompt attributes, so only
    # its text links it to the ticket-triage prompt, and every demo should show that once
    task = "classify" if job.feature == "text_linked" else pick(
        rng, (("summarize", 3), ("classify", 2.5), ("extract", 1.5), ("draft", 1.5), ("translate", 1)))
    if task == "summarize":
        transcript, summary = rng.choice(text.TRANSCRIPTS)
        return (GPT_4O_MINI, _messages("You summarize support calls for the CRM. Write 2-4 sentences: the problem, "
                                       "what was done, and any follow-ups.", transcript), summary,
                {"temperature": 0.3, "max_tokens": 300}, "crm-summarizer", "team-support")
    if task == "classify":
        case = random_case(rng, world.customer(), job.when)
        messages, _link = world.prompts["ticket-triage"].render(ticket_id=f"T-{rng.randint(10400, 19999)}",
                                                               ticket=case.question)
        return (LLAMA_8B, messages, TRIAGE_LABELS[case.intent], {"temperature": 0, "max_tokens": 8},
                "helpdesk-router", "team-support")
    if task == "extract":
        invoice, fields = rng.choice(text.INVOICES)
        return (CLAUDE_SONNET, _messages("Extract the invoice fields as JSON with keys vendor, invoice_number, date "
                                         "(ISO 8601), currency, subtotal, tax, total. Output JSON only.", invoice),
                fields, {"temperature": 0, "max_tokens": 500}, "ap-automation", "team-finance")
    if task == "draft":
        ticket, reply = rng.choice(text.REPLY_TICKETS)
        return (GPT_4O, _messages("Draft a reply for the support agent to review. Warm, concise, and no promises "
                                  "about dates.", ticket), reply, {"temperature": 0.6, "max_tokens": 400},
                "support-drafts", "team-support")
    lang = rng.choice(text.LANGUAGES)
    return (GEMINI_FLASH, _messages("Translate UI text for Northwind Cloud. Keep product names and placeholders "
                                    "unchanged. Reply with the translation only.",
                                    f"Translate to {lang}:\n\n{text.UI_STRINGS[0]}"), text.TRANSLATIONS[lang],
            {"temperature": 0.2, "max_tokens": 200}, "l10n-pipeline", "team-localization")


def build(world: World, job: Job) -> list[Trace]:
    rng = world.rng
    tr = Trace(rng, "gateway")
    service = SERVICE if job.env == "prod" else SERVICE.in_env(job.env)
    if job.feature == "rate_limit":  # Anthropic says 429; the router falls back to gpt-4o
        invoice, fields = text.INVOICES[0]
        messages = _messages("Extract the invoice fields as JSON with keys vendor, invoice_number, date (ISO 8601), "
                             "currency, subtotal, tax, total. Output JSON only.", invoice)
        params = {"temperature": 0, "max_tokens": 500}
        calls = [plan_call(rng, CLAUDE_SONNET, messages, None, params=params, error=_rate_limited(CLAUDE_SONNET)),
                 plan_call(rng, GPT_4O, messages, assistant(fields), params=params)]
        key, team = "ap-automation", "team-finance"
        tr.features.add("rate_limit")
    else:
        model, messages, answer, params, key, team = _task(world, job)
        if job.feature == "text_linked":
            tr.features.add("text_linked")
        ok = plan_call(rng, model, messages, assistant(answer), params=params,
                       warm=triage_prefix_tokens(world) if model.cache == "prefix" else 0)
        calls = [ok]
        if model.provider in ("openai", "anthropic") and rng.random() < RATE_LIMIT_SHARE:
            calls.insert(0, plan_call(rng, model, messages, None, params=params, error=_rate_limited(model)))
    serve(world, tr, 0, calls, key, team, service=service)
    return [tr.shift_to(job.start_ns)]
