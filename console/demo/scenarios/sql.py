"""demo-sql-agent: the analytics agent (Traceloop OpenLLMetry). A question becomes
a query (sometimes a wrong one first), ``run_sql`` runs it, and the model explains
the result. The featured run is the export the agent polled all night: 40+ LLM
calls repeating the same tool call with the same arguments."""

from __future__ import annotations

from typing import Any

from console.demo.corpus import sql as corpus
from console.demo.corpus.support import Step
from console.demo.dialects import openllmetry as oll
from console.demo.models import GPT_4O, O3_MINI
from console.demo.scenarios import Job, World, ms, pick
from console.demo.scenarios.agent import Loop, run
from console.demo.spans import ERROR, Service, Trace

SERVICE = Service("demo-sql-agent", "1.3.0", scope="opentelemetry.instrumentation.openai.v1",
                  scope_version="0.47.3")
MODELS: tuple[tuple[object, float], ...] = ((O3_MINI, 7), (GPT_4O, 3))
RUNAWAY_POLLS = 46
RUNAWAY_WAIT_S = 540.0  # the agent sleeps between polls: 46 polls run all night


def _rows(q: corpus.SqlQuestion) -> dict[str, Any]:
    return {"columns": list(q.columns), "rows": [list(r) for r in q.rows], "row_count": len(q.rows)}


def _rounds(world: World, q: corpus.SqlQuestion) -> list[list[Step]]:
    rounds = []
    if q.bad_sql and world.rng.random() < 0.6:
        rounds.append([Step("run_sql", {"query": q.bad_sql}, q.bad_error, (0.05, 0.3))])
    rounds.append([Step("run_sql", {"query": q.sql}, _rows(q), (0.4, 6.0))])
    return rounds


def _runaway_rounds(wait_s: float) -> list[list[Step]]:
    job = corpus.RUNAWAY_JOB
    rounds = [[Step("start_export", {"table": "invoices", "period": "last_quarter", "destination":
                                     "s3://finance-exports/invoices/"}, {"job_id": job, "status": "queued"},
                    (0.3, 0.9), "I'll start the export now.")]]
    for i in range(RUNAWAY_POLLS):
        say = corpus.RUNAWAY_SAYS[i % len(corpus.RUNAWAY_SAYS)].format(job=job)
        rounds.append([Step("get_export_status", {"job_id": job}, corpus.RUNAWAY_STATUS, (0.2, 0.8), say, wait_s)])
    return rounds


def build(world: World, job: Job) -> list[Trace]:
    rng = world.rng
    runaway = job.feature == "runaway"
    if runaway:
        team, question = corpus.RUNAWAY_REQUEST
        rounds, answer, model = _runaway_rounds(RUNAWAY_WAIT_S * job.pace), "", GPT_4O
    else:
        q = rng.choice(corpus.QUESTIONS)
        team, question, rounds, answer = q.team, q.question, _rounds(world, q), q.answer
        model = O3_MINI if job.feature else pick(rng, MODELS)
    analyst = world.analyst()
    session = world.session_id("nb")
    ctx = oll.association("analytics_agent", {"user_id": analyst, "session_id": session, "team": team})
    tags = world.tags(job, analyst, "analytics", "internal")
    messages, link = world.prompts["sql-generate"].render(question=question, team=team, schema=corpus.SCHEMA)
    params = {"max_tokens": 2000} if model.reasoning else {"temperature": 0, "max_tokens": 2000}
    service = SERVICE if job.env == "prod" else SERVICE.in_env(job.env)

    tr = Trace(rng, "sql")
    root_attrs = {**ctx, "user.id": analyst, "session.id": session, "llmops.tags": ",".join(tags)}
    root = tr.add(service, oll.entity("agent", "analytics_agent", {"question": question, "team": team},
                                      answer or None, root_attrs), 0, 0)
    loop = Loop(tr, service, root, rng, model, lambda call: oll.llm(call, ctx), lambda r: oll.tool(r, ctx),
                tools=corpus.TOOLS, params=params, prompt=link, tool_error_rate=0.0 if runaway else 0.03,
                fail_first_tool=job.feature == "timeout")
    if runaway:
        # the loop never reaches an answer: the operator kills it in the morning
        end, _ = run(loop, ms(rng.uniform(5, 20)), messages, rounds[:-1], rounds[-1][0].say or "")
        root.end_ns = end + ms(40)
        root.status, root.message = ERROR, "agent cancelled by operator after 7h (export job never completed)"
        root.attrs["error.type"] = "CancelledError"
        tr.features |= {"runaway", "error"}
    else:
        root.end_ns = run(loop, ms(rng.uniform(5, 20)), messages, rounds, answer)[0] + ms(3)
        if job.feature == "timeout":
            tr.features.add("timeout")
    return [tr.shift_to(job.start_ns)]

