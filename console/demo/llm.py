"""One LLM call as the demo's apps make it: messages in, a message out, and the
tokens, cache hits and timing a real provider would report for that text.

Messages here are the store's normalized shape (``role``, ``content``,
``tool_calls: [{id, name, arguments}]``, ``tool_call_id``); each dialect writes
them its own way.
"""

from __future__ import annotations

import json
import math
import random
import string
from dataclasses import dataclass, field
from typing import Any

from console.demo.models import Model

_ALNUM = string.ascii_letters + string.digits


def tokens(text: str | None) -> int:
    """About four characters a token for English prose, a little less for JSON and code."""
    if not text:
        return 0
    return max(1, round(len(text) / 3.8))


def message_tokens(messages: list[dict[str, Any]]) -> int:
    n = 3
    for m in messages:
        n += 4 + tokens(m.get("content"))
        for tc in m.get("tool_calls") or ():
            n += 3 + tokens(tc["name"]) + tokens(tc["arguments"])
    return n


def rand_str(rng: random.Random, n: int, alphabet: str = _ALNUM) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def response_id(rng: random.Random, model: Model) -> str:
    if model.provider == "anthropic":
        return "msg_01" + rand_str(rng, 22)
    if model.provider == "google":
        return rand_str(rng, 22)
    if model.provider == "vllm":
        return "chatcmpl-" + rand_str(rng, 32, "0123456789abcdef")
    return "chatcmpl-" + rand_str(rng, 29)


def tool_call_id(rng: random.Random, model: Model) -> str:
    if model.provider == "anthropic":
        return "toolu_01" + rand_str(rng, 22)
    if model.provider == "vllm":
        return "chatcmpl-tool-" + rand_str(rng, 32, "0123456789abcdef")
    return "call_" + rand_str(rng, 24)


def tool_call(rng: random.Random, model: Model, name: str, args: dict[str, Any]) -> dict[str, str]:
    return {"id": tool_call_id(rng, model), "name": name, "arguments": json.dumps(args, ensure_ascii=False)}


@dataclass
class Usage:
    input: int  # all prompt tokens, cached ones included
    output: int  # all completion tokens, reasoning included
    cache_read: int = 0
    cache_write: int = 0
    reasoning: int = 0

    @property
    def total(self) -> int:
        return self.input + self.output

    @property
    def uncached_input(self) -> int:
        return max(0, self.input - self.cache_read - self.cache_write)


@dataclass(frozen=True)
class CallError:
    type: str  # error.type: an exception class or an HTTP status
    message: str
    http_status: int | None = None


@dataclass(frozen=True)
class PromptLink:
    id: str
    version: str
    variables: dict[str, str]
    template: str = ""  # the user template, for dialects that record it

    def variables_json(self) -> str:
        return json.dumps(self.variables, ensure_ascii=False)


@dataclass
class LLMCall:
    model: Model
    messages: list[dict[str, Any]]
    output: dict[str, Any] | None  # None when the call failed
    usage: Usage | None
    ttft_s: float | None
    duration_s: float
    response_id: str
    params: dict[str, Any] = field(default_factory=dict)
    tools: list[dict[str, Any]] | None = None  # OpenAI tool schemas
    error: CallError | None = None
    prompt: PromptLink | None = None
    stream: bool = False

    @property
    def system(self) -> str | None:
        for m in self.messages:
            if m["role"] == "system":
                return m["content"]
        return None

    @property
    def chat(self) -> list[dict[str, Any]]:
        """The messages without the system prompt (for dialects that send it apart)."""
        return [m for m in self.messages if m["role"] != "system"]

    @property
    def finish_reason(self) -> str | None:
        return self.output.get("finish_reason") if self.output else None

    @property
    def duration_ns(self) -> int:
        return int(self.duration_s * 1e9)


def assistant(content: str | None = None, tool_calls: list[dict[str, str]] | None = None,
              finish_reason: str | None = None) -> dict[str, Any]:
    msg: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        msg["tool_calls"] = tool_calls
    msg["finish_reason"] = finish_reason or ("tool_calls" if tool_calls else "stop")
    return msg


def _lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return median * math.exp(rng.gauss(0.0, sigma))


def _cache(rng: random.Random, model: Model, prompt: int, warm: int, tail: int) -> tuple[int, int]:
    """(cache_read, cache_write) for a prompt whose first ``warm`` tokens were sent recently."""
    if model.cache == "auto":  # OpenAI: automatic, in 128-token steps, from 1024 tokens
        if prompt >= 1024 and warm >= 1024 and rng.random() < 0.85:
            return (min(warm, prompt) // 128) * 128, 0
        return 0, 0
    if model.cache == "explicit":  # Anthropic: breakpoints after the shared prefix and at the end of the history
        if not warm:
            return 0, 0
        read = min(warm, prompt) if rng.random() < 0.92 else 0
        return read, max(0, prompt - read - tail)
    if model.cache == "prefix":  # vLLM automatic prefix caching, 16-token blocks
        if warm and rng.random() < 0.5:
            return (min(warm, prompt) // 16) * 16, 0
    return 0, 0


def plan_call(rng: random.Random, model: Model, messages: list[dict[str, Any]], output: dict[str, Any] | None, *,
              tools: list[dict[str, Any]] | None = None, params: dict[str, Any] | None = None, warm: int = 0,
              error: CallError | None = None, prompt: PromptLink | None = None, stream: bool = False,
              error_after_s: float | None = None) -> LLMCall:
    """The call with plausible usage and timing for its text and model.

    ``warm``: how many leading prompt tokens the provider has seen recently (the
    previous turn of the same conversation), which drives cache reads.
    """
    rid = response_id(rng, model)
    if error is not None or output is None:
        duration = error_after_s if error_after_s is not None else _lognormal(rng, 0.35, 0.5)
        return LLMCall(model, messages, None, None, None, duration, rid, dict(params or {}), tools, error, prompt,
                       stream)
    prompt_tokens = message_tokens(messages) + (tokens(json.dumps(tools)) if tools else 0)
    tail = message_tokens(messages[-1:]) if messages else 0
    visible = tokens(output.get("content")) + sum(3 + tokens(tc["arguments"]) for tc in output.get("tool_calls") or ())
    visible = max(visible, 1)
    reasoning = 0
    if model.reasoning:
        reasoning = max(64, min(8192, int(_lognormal(rng, 520, 0.7)) // 64 * 64))
    read, write = _cache(rng, model, prompt_tokens, warm, tail)
    usage = Usage(prompt_tokens, visible + reasoning, read, write, reasoning)
    prefill = (prompt_tokens - read) / (9000.0 if model.provider == "vllm" else 30000.0)
    ttft = _lognormal(rng, model.ttft, 0.35) + prefill + reasoning / model.tps
    if rng.random() < 0.03:  # the provider's bad minute: a slow tail
        ttft *= rng.uniform(3, 7)
    generation = visible / (model.tps * math.exp(rng.gauss(0.0, 0.15)))
    return LLMCall(model, messages, output, usage, round(ttft, 4), ttft + generation + 0.015, rid, dict(params or {}),
                   tools, None, prompt, stream)


def embedding_usage(texts: list[str]) -> int:
    return sum(tokens(t) for t in texts)


@dataclass
class ToolRun:
    """One execution of a tool call the model asked for."""

    call: dict[str, str]  # {"id", "name", "arguments"}
    result: str  # what goes back to the model (JSON text, or the error)
    duration_s: float
    error: CallError | None = None

    @property
    def name(self) -> str:
        return self.call["name"]

    @property
    def duration_ns(self) -> int:
        return int(self.duration_s * 1e9)

    def message(self) -> dict[str, Any]:
        return {"role": "tool", "tool_call_id": self.call["id"], "name": self.name, "content": self.result}


def list_cost(call: LLMCall) -> float:
    """The call's cost at list prices: what an SDK or gateway that reports cost would say."""
    u = call.usage
    if u is None:
        return 0.0
    return call.model.list_cost(u.uncached_input, u.output, u.cache_read, u.cache_write)
