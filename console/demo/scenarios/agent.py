"""The tool-calling loop every agent here runs: ask the model, run the tools it
asks for (in parallel), feed the results back, until it answers. Written once;
the dialect encoders decide how each span looks."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from console.demo.corpus.support import Step
from console.demo.llm import CallError, LLMCall, PromptLink, ToolRun, assistant, plan_call, tool_call
from console.demo.models import Model
from console.demo.scenarios import ms
from console.demo.spans import Span, SpanShape, Trace, seconds

TOOL_TIMEOUT_S = 30.0


@dataclass
class Loop:
    """One agent run's fixed settings."""

    trace: Trace
    service: Any
    parent: Span
    rng: random.Random
    model: Model
    encode_llm: Callable[[LLMCall], SpanShape]
    encode_tool: Callable[[ToolRun], SpanShape]
    tools: list[dict[str, Any]] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    prompt: PromptLink | None = None
    stream: bool = False
    tool_error_rate: float = 0.03
    fail_first_tool: bool = False  # a featured timeout: the first tool call times out
    calls: list[LLMCall] = field(default_factory=list)
    tool_runs: list[ToolRun] = field(default_factory=list)


def _result_text(result: Any) -> str:
    return result if isinstance(result, str) else json.dumps(result, ensure_ascii=False)


def _ask(loop: Loop, t: int, messages: list[dict[str, Any]], output: dict[str, Any], warm: int,
         error: CallError | None = None) -> tuple[int, LLMCall]:
    call = plan_call(loop.rng, loop.model, messages, output, tools=loop.tools, params=loop.params, warm=warm,
                     prompt=loop.prompt, stream=loop.stream, error=error)
    span = loop.trace.add(loop.service, loop.encode_llm(call), t, t + call.duration_ns, loop.parent)
    loop.calls.append(call)
    return span.end_ns, call


def _history(msg: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in msg.items() if k != "finish_reason"}


def run(loop: Loop, t: int, messages: list[dict[str, Any]], rounds: list[list[Step]], answer: str,
        warm: int = 0, say: Callable[[], str | None] | None = None) -> tuple[int, list[dict[str, Any]]]:
    """Run the rounds from time ``t``; returns the end time and the whole conversation."""
    rng = loop.rng
    pending = [list(r) for r in rounds]
    retried: set[int] = set()  # steps already retried once (ids: the same objects come back)
    while pending:
        steps = pending.pop(0)
        calls = [tool_call(rng, loop.model, s.tool, s.args) for s in steps]
        text = steps[0].say if steps[0].say is not None else (say() if say else None)
        out = assistant(text, calls)
        t, call = _ask(loop, t, messages, out, warm)
        warm = call.usage.input if call.usage else warm
        messages = messages + [_history(out)]
        t += ms(rng.uniform(2, 12))
        ends, failed = [t], []
        for i, (step, c) in enumerate(zip(steps, calls)):
            start = t + ms(i * rng.uniform(0.3, 2.0))
            if loop.fail_first_tool or rng.random() < loop.tool_error_rate:
                loop.fail_first_tool = False
                run_ = ToolRun(c, f"Error: {step.tool} timed out after {TOOL_TIMEOUT_S:.0f} seconds",
                               TOOL_TIMEOUT_S + rng.uniform(0, 0.05),
                               CallError("TimeoutError", f"{step.tool} did not answer within {TOOL_TIMEOUT_S:.0f}s"))
                failed.append(step)
            else:
                run_ = ToolRun(c, _result_text(step.result), rng.uniform(*step.seconds))
            span = loop.trace.add(loop.service, loop.encode_tool(run_), start, start + run_.duration_ns, loop.parent)
            loop.tool_runs.append(run_)
            messages.append(run_.message())
            ends.append(span.end_ns)
        t = max(ends) + ms(rng.uniform(3, 20)) + seconds(steps[-1].wait_s)
        # the model retries what timed out, with the same arguments, once: a third identical
        # call is the runaway heuristic's loop, which only the featured runaway should show
        again = [s for s in failed if id(s) not in retried]
        if again:
            retried.update(id(s) for s in again)
            pending.insert(0, again)
    out = assistant(answer)
    t, call = _ask(loop, t, messages, out, warm)
    return t, messages + [_history(out)]
