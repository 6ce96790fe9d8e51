"""What was asked (a recorded span, or a prompt and variables), and what to change.

A :class:`RecordedRequest` is one LLM call as the store recorded it. A
:class:`Variant` says how to replay it:

- ``Variant.recorded()``: the recorded output, no call (the usual side A);
- ``Variant.original()``: the same request sent again;
- ``Variant.edited_prompt(prompt)``: the prompt re-rendered with the span's template
  variables (see below), with the prompt's model and parameters;
- ``Variant.other_model(model)`` / ``Variant.other_params(...)``: the same messages elsewhere.

The attributes combine (an edited prompt on another model is one variant).

Template variables of a span, for an edited prompt: the span's ``prompt_vars``
when the app sent them; otherwise they are read back out of the recorded messages
by fingerprinting them against the prompt they came from (the variant's ``base``,
else the registry's ``prompt_id``@``prompt_version``, else its current version,
else the edited prompt itself). Recorded messages after the templated ones
(conversation history, tool results) are kept after the re-rendered ones.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from store.prompts import MissingVariables, Prompt, PromptMatcher
from store.prompts import render as render_prompt

from console.replay.providers import ENDPOINT_PROVIDER, api_base_for_server, normalize_provider, route, split_model
from console.replay.usage import Usage

# Request parameters passed on to the provider; anything else in request_params is dropped.
CALL_PARAMS = (
    "temperature", "max_tokens", "max_completion_tokens", "top_p", "stop", "seed", "tools", "tool_choice",
    "response_format", "frequency_penalty", "presence_penalty", "logit_bias", "parallel_tool_calls",
    "reasoning_effort", "top_k",
)  # fmt: skip


def _json(value: Any, default: Any) -> Any:
    if value is None or value == "":
        return default
    if isinstance(value, str | bytes):
        try:
            return json.loads(value)
        except ValueError:
            return default
    return value


def _text_of(messages: Sequence[Mapping[str, Any]]) -> str:
    return "".join(m.get("content") or "" for m in messages if m.get("role") == "assistant" and isinstance(m.get("content"), str))


@dataclass
class RecordedRequest:
    messages: list[dict[str, Any]]
    model: str | None = None
    provider: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    output_messages: list[dict[str, Any]] = field(default_factory=list)
    prompt_id: str | None = None
    prompt_version: str | None = None
    prompt_vars: dict[str, Any] | None = None
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = None
    duration_ms: float | None = None
    ttft_ms: float | None = None
    server_address: str | None = None
    trace_id: str | None = None
    span_id: str | None = None

    @classmethod
    def from_span(cls, span_row: Mapping[str, Any]) -> RecordedRequest:
        """From a row of the SPANS table (a dict of its columns); JSON columns may be
        strings or already decoded. Missing or unreadable columns become empty."""
        row = span_row
        messages = _json(row.get("input_messages"), [])
        if not messages and row.get("input_value"):
            messages = [{"role": "user", "content": str(row["input_value"])}]
        outputs = _json(row.get("output_messages"), [])
        if not outputs and row.get("output_value"):
            outputs = [{"role": "assistant", "content": str(row["output_value"])}]
        prompt_vars = _json(row.get("prompt_vars"), None)
        return cls(
            messages=[dict(m) for m in messages if isinstance(m, Mapping)],
            model=row.get("model"),
            provider=row.get("provider"),
            params=dict(_json(row.get("request_params"), {}) or {}),
            output_messages=[dict(m) for m in outputs if isinstance(m, Mapping)],
            prompt_id=row.get("prompt_id"),
            prompt_version=row.get("prompt_version"),
            prompt_vars=prompt_vars if isinstance(prompt_vars, dict) else None,
            usage=Usage(row.get("input_tokens"), row.get("output_tokens"), row.get("cache_read_tokens"), row.get("reasoning_tokens")),
            cost_usd=row.get("cost_usd"),
            duration_ms=row.get("duration_ms"),
            ttft_ms=row.get("ttft_ms"),
            server_address=row.get("server_address"),
            trace_id=row.get("trace_id"),
            span_id=row.get("span_id"),
        )

    @classmethod
    def from_prompt(cls, prompt: Prompt, variables: Mapping[str, Any] | None = None, *, model: str | None = None) -> RecordedRequest:
        """A request that was never made: the prompt rendered with ``variables`` (a dataset row)."""
        values = dict(variables or {})
        return cls(
            messages=render_prompt(prompt, values),
            model=model or prompt.model,
            params=prompt.request_params(),
            prompt_id=prompt.id,
            prompt_version=prompt.version,
            prompt_vars=values,
        )

    @property
    def output_text(self) -> str:
        return _text_of(self.output_messages)

    @property
    def has_recording(self) -> bool:
        return bool(self.output_messages)

    def template_variables(self, *candidates: Prompt | None) -> tuple[dict[str, Any] | None, Prompt | None]:
        """The span's template variables, and the prompt they were matched against (None
        when they came from ``prompt_vars``). Tries each candidate prompt in turn."""
        if self.prompt_vars is not None:
            return dict(self.prompt_vars), None
        for candidate in candidates:
            if candidate is None:
                continue
            found = PromptMatcher.from_prompts([candidate]).match(self.messages)
            if found is not None:
                return dict(found.variables), candidate
        return None, None


@dataclass(frozen=True)
class Variant:
    label: str = "B"
    use_recorded: bool = False
    prompt: Prompt | None = None  # re-render this prompt with the request's variables
    base: Prompt | None = None  # the prompt the request was made with (for reading its variables back)
    model: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)  # overrides; a None value removes the parameter
    api_base: str | None = None
    messages: Sequence[Mapping[str, Any]] | None = None  # explicit messages, instead of all of the above

    @classmethod
    def recorded(cls, label: str = "A") -> Variant:
        return cls(label=label, use_recorded=True)

    @classmethod
    def original(cls, label: str = "A", **kwargs: Any) -> Variant:
        return cls(label=label, **kwargs)

    @classmethod
    def edited_prompt(cls, prompt: Prompt, label: str = "B", *, base: Prompt | None = None, **kwargs: Any) -> Variant:
        return cls(label=label, prompt=prompt, base=base, **kwargs)

    @classmethod
    def other_model(cls, model: str, label: str = "B", *, api_base: str | None = None, **kwargs: Any) -> Variant:
        return cls(label=label, model=model, api_base=api_base, **kwargs)

    @classmethod
    def other_params(cls, label: str = "B", **params: Any) -> Variant:
        return cls(label=label, params=params)

    def describe(self) -> str:
        if self.use_recorded:
            return "recorded output"
        parts = []
        if self.prompt is not None:
            parts.append(f"prompt {self.prompt.id}@{self.prompt.version or 'unsaved'}")
        if self.model:
            parts.append(f"model {self.model}")
        if self.params:
            parts.append(", ".join(f"{k}={v}" for k, v in self.params.items()))
        return "; ".join(parts) or "original request"


class PlanError(ValueError):
    """The variant cannot be applied to this request (e.g. no variables to re-render with)."""


@dataclass(frozen=True)
class CallPlan:
    """Everything one provider call needs."""

    model: str  # LiteLLM model string
    provider: str | None  # the name its key is stored under; None: LiteLLM infers it
    api_base: str | None
    messages: list[dict[str, Any]]  # normalized
    params: dict[str, Any]
    prompt_id: str | None = None
    prompt_version: str | None = None
    variables: dict[str, Any] | None = None


def _rerender(request: RecordedRequest, variant: Variant, registry: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    assert variant.prompt is not None
    candidates: list[Prompt | None] = [variant.base]
    if registry is not None and request.prompt_id:
        for version in (request.prompt_version, None):
            try:
                candidates.append(registry.get(request.prompt_id, version=version))
            except KeyError:
                pass
    candidates.append(variant.prompt)
    variables, matched = request.template_variables(*candidates)
    if variables is None:
        raise PlanError(
            f"cannot re-render {variant.prompt.id}: the span carries no prompt variables (prompt.variables) "
            "and its messages do not match the prompt it came from"
        )
    try:
        messages = render_prompt(variant.prompt, variables)
    except MissingVariables as exc:
        raise PlanError(f"cannot re-render {variant.prompt.id}: {exc} (add a default under variables:)") from exc
    # Keep what followed the templated messages in the recording (history, tool results).
    source = matched or next((c for c in candidates if c is not None and c.id == request.prompt_id), None)
    if source is not None:
        templated = len(source.parts())
        roles = [role for role, _text in source.parts()]
        if [m.get("role") for m in request.messages[:templated]] == roles:
            messages.extend(dict(m) for m in request.messages[templated:])
    return messages, variables


def _recorded_endpoint(request: RecordedRequest) -> str | None:
    """The recorded server, for an OpenAI-compatible call only: an address read from a
    trace never receives a cloud provider's key (see ``providers``)."""
    prefix, _bare = split_model(request.model or "")
    provider = normalize_provider(request.provider)
    if prefix not in (None, "openai", "hosted_vllm", "vllm") or provider not in (None, "openai", ENDPOINT_PROVIDER):
        return None
    return api_base_for_server(request.server_address)


def plan_call(request: RecordedRequest, variant: Variant, *, api_base: str | None = None, registry: Any = None) -> CallPlan:
    """Apply ``variant`` to ``request``. ``api_base`` is the engine-wide endpoint
    (``--api-base``); a variant's own wins. With neither, a request to a self-hosted
    server goes back to the recorded ``server_address`` unless the model changes."""
    prompt = variant.prompt
    variables = request.prompt_vars
    if variant.messages is not None:
        messages = [dict(m) for m in variant.messages]
    elif prompt is not None:
        messages, variables = _rerender(request, variant, registry)
    else:
        messages = [dict(m) for m in request.messages]
    if not messages:
        raise PlanError("the request has no input messages to send")

    model = variant.model or (prompt.model if prompt is not None else None) or request.model
    if not model:
        raise PlanError("no model: the span has none, and the variant names none")
    params = {k: v for k, v in request.params.items() if k in CALL_PARAMS}
    if prompt is not None:
        params.update(prompt.request_params())
    for key, value in variant.params.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value

    same_model = model == request.model
    endpoint = variant.api_base or api_base or (_recorded_endpoint(request) if same_model else None)
    resolved = route(model, request.provider if same_model else None, endpoint)
    return CallPlan(
        model=resolved.model,
        provider=resolved.provider,
        api_base=resolved.api_base,
        messages=messages,
        params=params,
        prompt_id=prompt.id if prompt is not None else request.prompt_id,
        prompt_version=prompt.version if prompt is not None else request.prompt_version,
        variables=variables,
    )
