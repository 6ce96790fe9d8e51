"""The replay engine: one streamed LLM call per replay, any provider, clear errors.

::

    engine = ReplayEngine(api_base="http://127.0.0.1:8000/v1")   # optional endpoint
    result = await engine.run(RecordedRequest.from_span(row), Variant.edited_prompt(p), on_token=print)
    result.text, result.usage, result.cost_usd, result.latency_ms, result.ttft_ms, result.error

``run`` never raises for a provider problem: the result's ``error`` holds a
:class:`ReplayError` with one clear message. It does raise ``CancelledError``
when its task is cancelled (after closing the stream), so callers can stop work.

Calls go through ``litellm.acompletion(stream=True, stream_options={"include_usage": True})``
with LiteLLM's and the OpenAI SDK's own retries off (``max_retries=0``): the
engine retries by its :class:`RetryPolicy` (429 by default: exponential backoff,
honouring Retry-After, bounded in attempts and total wait). Parameters a
provider does not support are dropped (``drop_params``) so one variant can go
to several providers.

Timing: ``latency_ms`` is the last attempt, from the request to the end of the
stream; ``ttft_ms`` to its first content (or tool-call) chunk. ``total_ms``
includes retries and waits.
"""

from __future__ import annotations

import asyncio
import inspect
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from console.replay.errors import ReplayError, classify, no_key_error
from console.replay.keys import KEYLESS, KeyLookup, resolve_key
from console.replay.llm import load_litellm
from console.replay.providers import ENDPOINT_PROVIDER
from console.replay.request import CallPlan, PlanError, RecordedRequest, Variant, plan_call
from console.replay.usage import CostCalculator, Usage

TokenCallback = Callable[[str], Any] | Callable[[str], Awaitable[Any]]
# Sent as the key to endpoints that need none (the OpenAI SDK refuses an empty one).
NO_KEY_PLACEHOLDER = "no-key"
KEY_MISS_TTL_S = 30.0


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0  # a Retry-After above this is not waited for: the call fails at once
    max_total_wait_s: float = 60.0
    jitter: float = 0.1  # up to this fraction added to each delay, so parallel calls spread out
    retry_on: frozenset[str] = frozenset({"rate_limit"})

    def delay(self, attempt: int, retry_after_s: float | None) -> float:
        base = retry_after_s if retry_after_s is not None else self.base_delay_s * 2 ** (attempt - 1)
        return min(base, self.max_delay_s) * (1 + self.jitter * random.random())


@dataclass
class ReplayResult:
    variant: str  # the variant's label, "A" or "B"
    text: str
    messages: list[dict[str, Any]]  # output, normalized (one assistant message)
    usage: Usage
    cost_usd: float | None
    latency_ms: float | None
    ttft_ms: float | None
    error: ReplayError | None = None
    model: str | None = None
    provider: str | None = None
    api_base: str | None = None
    request_messages: list[dict[str, Any]] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    finish_reason: str | None = None
    from_recording: bool = False
    attempts: int = 0
    total_ms: float | None = None
    cost_source: str | None = None
    prompt_id: str | None = None
    prompt_version: str | None = None
    variables: dict[str, Any] | None = None  # the template variables the request was rendered with
    started_at_ns: int | None = None  # wall clock, for recording
    trace_id: str | None = None  # of this call's replay trace, once recorded
    span_id: str | None = None

    def __post_init__(self) -> None:
        # The classmethod below shares the field's name and so became its default:
        # a result built without from_recording=... would read as recorded.
        if not isinstance(self.from_recording, bool):
            self.from_recording = False

    @property
    def ok(self) -> bool:
        return self.error is None

    @classmethod
    def from_recording(cls, request: RecordedRequest, label: str = "A") -> ReplayResult:
        """The recorded output as a result: no call, the span's own figures."""
        last = request.output_messages[-1] if request.output_messages else {}
        return cls(
            variant=label,
            text=request.output_text,
            messages=[dict(m) for m in request.output_messages],
            usage=request.usage,
            cost_usd=request.cost_usd,
            latency_ms=request.duration_ms,
            ttft_ms=request.ttft_ms,
            model=request.model,
            provider=request.provider,
            request_messages=[dict(m) for m in request.messages],
            params=dict(request.params),
            finish_reason=last.get("finish_reason"),
            from_recording=True,
            prompt_id=request.prompt_id,
            prompt_version=request.prompt_version,
            variables=request.prompt_vars,
            trace_id=request.trace_id,
            span_id=request.span_id,
        )

    @classmethod
    def failed(cls, label: str, error: ReplayError, plan: CallPlan | None = None) -> ReplayResult:
        return cls(
            variant=label,
            text="",
            messages=[],
            usage=Usage(),
            cost_usd=None,
            latency_ms=None,
            ttft_ms=None,
            error=error,
            model=plan.model if plan else error.model,
            provider=plan.provider if plan else error.provider,
            api_base=plan.api_base if plan else None,
            request_messages=plan.messages if plan else [],
            params=plan.params if plan else {},
            prompt_id=plan.prompt_id if plan else None,
            prompt_version=plan.prompt_version if plan else None,
            variables=plan.variables if plan else None,
        )


def to_openai_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Normalized messages (conventions file) to the OpenAI chat format LiteLLM takes."""
    out = []
    for message in messages:
        item: dict[str, Any] = {"role": message.get("role") or "user", "content": message.get("content")}
        if message.get("tool_calls"):
            item["tool_calls"] = [
                {
                    "id": call.get("id"),
                    "type": "function",
                    "function": {
                        "name": call.get("name"),
                        "arguments": call["arguments"] if isinstance(call.get("arguments"), str) else _dumps(call.get("arguments") or {}),
                    },
                }
                for call in message["tool_calls"]
            ]
        for key in ("tool_call_id", "name"):
            if message.get(key):
                item[key] = message[key]
        out.append(item)
    return out


def _dumps(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


class _Stream:
    """Accumulates a streamed answer: text, tool calls, usage, timing."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.parts: list[str] = []
        self.tool_calls: dict[int, dict[str, Any]] = {}
        self.finish_reason: str | None = None
        self.usage: Any = None
        self.first_token: float | None = None

    def add(self, chunk: Any) -> str | None:
        """Take one chunk; returns its new text, if any."""
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self.usage = usage
        choices = getattr(chunk, "choices", None) or []
        if not choices:
            return None
        choice = choices[0]
        if choice.finish_reason:
            self.finish_reason = choice.finish_reason
        delta = choice.delta
        text = getattr(delta, "content", None)
        for call in getattr(delta, "tool_calls", None) or []:
            slot = self.tool_calls.setdefault(call.index or 0, {"id": None, "name": "", "arguments": ""})
            slot["id"] = call.id or slot["id"]
            if call.function is not None:
                slot["name"] += call.function.name or ""
                slot["arguments"] += call.function.arguments or ""
            self._mark_first()
        if text:
            self.parts.append(text)
            self._mark_first()
            return text
        return None

    def _mark_first(self) -> None:
        if self.first_token is None:
            self.first_token = time.perf_counter()

    def message(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self.parts) or None}
        if self.tool_calls:
            message["tool_calls"] = [self.tool_calls[i] for i in sorted(self.tool_calls)]
        if self.finish_reason:
            message["finish_reason"] = self.finish_reason
        return message


class ReplayEngine:
    """Replays requests. ``api_base``/``api_key`` apply to every call (a local endpoint);
    ``recorder`` sends each call to the collector (``recording.ReplayRecorder``);
    ``registry`` lets edited-prompt variants find the prompt a span was made with;
    ``pricer`` is a ``store.pricing`` Pricer (default: built on first use)."""

    def __init__(
        self,
        *,
        api_base: str | None = None,
        api_key: str | None = None,
        timeout_s: float = 120.0,
        retry: RetryPolicy | None = None,
        recorder: Any = None,
        registry: Any = None,
        pricer: Any = None,
        key_resolver: Callable[[str], KeyLookup] = resolve_key,
        run_id: str | None = None,
    ) -> None:
        self.api_base = api_base
        self.api_key = api_key
        self.timeout_s = timeout_s
        self.retry = retry or RetryPolicy()
        self.recorder = recorder
        self.registry = registry
        self.costs = CostCalculator(pricer)
        self.key_resolver = key_resolver
        self.run_id = run_id or uuid.uuid4().hex[:16]
        self._keys: dict[str, tuple[KeyLookup, float]] = {}

    def forget_keys(self) -> None:
        """Look keys up again on the next call (after ``keys set``/``delete``)."""
        self._keys.clear()

    async def warm_up(self) -> None:
        """Import LiteLLM in a thread (seconds), so the first replay does not stall a UI."""
        await asyncio.to_thread(load_litellm)

    async def run(
        self,
        request: RecordedRequest,
        variant: Variant | None = None,
        on_token: TokenCallback | None = None,
        *,
        run_id: str | None = None,
        record: bool = True,
    ) -> ReplayResult:
        """Replay ``request`` as ``variant`` (default: the original request, sent again)."""
        variant = variant or Variant.original()
        if variant.use_recorded:
            if not request.has_recording:
                missing = ReplayError("no_recording", "This request has no recorded output to compare with.", model=request.model)
                return ReplayResult.failed(variant.label, missing)
            return ReplayResult.from_recording(request, variant.label)
        try:
            plan = plan_call(request, variant, api_base=self.api_base, registry=self.registry)
        except PlanError as exc:
            return ReplayResult.failed(variant.label, ReplayError("render", str(exc), model=variant.model or request.model))
        result = await self.call(plan, on_token, label=variant.label)
        if record and self.recorder is not None:
            self._record(result, request, run_id or self.run_id)
        return result

    async def complete(
        self,
        messages: list[dict[str, Any]],
        model: str,
        params: dict[str, Any] | None = None,
        *,
        api_base: str | None = None,
        on_token: TokenCallback | None = None,
        label: str = "call",
    ) -> ReplayResult:
        """A plain call (used by the judge): not recorded."""
        request = RecordedRequest(messages=messages, model=model, params=dict(params or {}))
        try:
            plan = plan_call(request, Variant.original(label=label), api_base=api_base or self.api_base)
        except PlanError as exc:
            return ReplayResult.failed(label, ReplayError("render", str(exc), model=model))
        return await self.call(plan, on_token, label=label)

    def _record(self, result: ReplayResult, request: RecordedRequest, run_id: str) -> None:
        try:
            ids = self.recorder.record(result, request=request, run_id=run_id)
        except Exception:  # recording is best effort: it never fails a replay
            return
        if ids:
            result.trace_id, result.span_id = ids

    def _key_for(self, plan: CallPlan) -> tuple[str | None, ReplayError | None]:
        if self.api_key:
            return self.api_key, None
        provider = plan.provider
        if provider is None:
            try:
                provider = load_litellm().get_llm_provider(plan.model)[1]
            except Exception:
                provider = None
        if provider is None or provider in KEYLESS:
            return None, None
        cached = self._keys.get(provider)
        if cached is not None and (cached[0].found or time.monotonic() - cached[1] < KEY_MISS_TTL_S):
            lookup = cached[0]
        else:
            # A keyring read costs ~0.5 ms: found keys are kept; a miss is asked again
            # after a while, so a key stored meanwhile (`keys set`) is picked up.
            lookup = self.key_resolver(provider)
            self._keys[provider] = (lookup, time.monotonic())
        if lookup.found:
            return lookup.key, None
        if provider == ENDPOINT_PROVIDER:
            return NO_KEY_PLACEHOLDER, None  # self-hosted servers mostly run without a key
        return None, no_key_error(provider, plan.model, lookup)

    async def call(self, plan: CallPlan, on_token: TokenCallback | None = None, *, label: str = "B") -> ReplayResult:
        """Send one planned call, retrying by the policy."""
        key, key_error = self._key_for(plan)
        if key_error is not None:
            return ReplayResult.failed(label, key_error, plan)
        litellm = load_litellm()
        kwargs: dict[str, Any] = {
            "model": plan.model,
            "messages": to_openai_messages(plan.messages),
            "stream": True,
            "stream_options": {"include_usage": True},
            "timeout": self.timeout_s,
            "max_retries": 0,
            "drop_params": True,
            # Requests with tools otherwise go through LiteLLM's MCP-gateway check, which imports
            # the optional `mcp` package and fails (as a "connection" error) without it.
            "_skip_mcp_handler": True,
            **plan.params,
        }
        if plan.api_base:
            kwargs["api_base"] = plan.api_base
        if key is not None:
            kwargs["api_key"] = key
        began = time.perf_counter()
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            started_wall = time.time_ns()
            started = time.perf_counter()
            stream = _Stream(started)
            try:
                async with asyncio.timeout(self.timeout_s):
                    response = await litellm.acompletion(**kwargs)
                    try:
                        async for chunk in response:
                            text = stream.add(chunk)
                            if text and on_token is not None:
                                outcome = on_token(text)
                                if inspect.isawaitable(outcome):
                                    await outcome
                    finally:
                        await _close(response)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                error = classify(exc, provider=plan.provider, model=plan.model, api_base=plan.api_base, timeout_s=self.timeout_s)
                delay = self.retry.delay(attempt, error.retry_after_s)
                retry = (
                    error.kind in self.retry.retry_on
                    and not stream.parts  # tokens already went to on_token: a retry would repeat them
                    and attempt < self.retry.max_attempts
                    and (error.retry_after_s is None or error.retry_after_s <= self.retry.max_delay_s)
                    and waited + delay <= self.retry.max_total_wait_s
                )
                if retry:
                    waited += delay
                    await asyncio.sleep(delay)
                    continue
                failed = ReplayResult.failed(label, error.with_attempts(attempt), plan)
                failed.text = "".join(stream.parts)
                failed.attempts = attempt
                failed.latency_ms = (time.perf_counter() - started) * 1000
                failed.total_ms = (time.perf_counter() - began) * 1000
                failed.started_at_ns = started_wall
                return failed
            break
        ended = time.perf_counter()
        usage = Usage.from_openai(stream.usage)
        cost, cost_source = self.costs.cost(plan.model, plan.provider, usage, _server_of(plan.api_base))
        message = stream.message()
        return ReplayResult(
            variant=label,
            text=message["content"] or "",
            messages=[message],
            usage=usage,
            cost_usd=cost,
            latency_ms=(ended - started) * 1000,
            ttft_ms=(stream.first_token - started) * 1000 if stream.first_token is not None else None,
            model=plan.model,
            provider=plan.provider,
            api_base=plan.api_base,
            request_messages=plan.messages,
            params=plan.params,
            finish_reason=stream.finish_reason,
            attempts=attempt,
            total_ms=(ended - began) * 1000,
            cost_source=cost_source,
            prompt_id=plan.prompt_id,
            prompt_version=plan.prompt_version,
            variables=plan.variables,
            started_at_ns=started_wall,
        )


def _server_of(api_base: str | None) -> str | None:
    if not api_base:
        return None
    return api_base.split("://")[-1].split("/")[0]


async def _close(response: Any) -> None:
    close = getattr(response, "aclose", None)
    if close is None:
        return
    try:
        await close()
    except Exception:
        pass  # the stream is finished or broken either way

