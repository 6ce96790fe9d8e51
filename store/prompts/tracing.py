"""Link an application's LLM spans to the prompt (and version) that produced them.

For apps, one line::

    with prompt_context(prompt, variables={"document": doc}):
        client.chat.completions.create(...)

It sets ``prompt.id``, ``prompt.version`` and ``prompt.variables`` (JSON) on the
current span, and, when the app's tracer provider has
:func:`prompt_span_processor` installed, on every span started inside the block
(the LLM client's own span, typically). ``annotate_span(span, prompt)`` sets them
on one given span. OpenTelemetry is imported only when these run, and without
``opentelemetry-api`` they do nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from store.prompts.model import Prompt

PROMPT_ID = "prompt.id"
PROMPT_VERSION = "prompt.version"
PROMPT_VARIABLES = "prompt.variables"

_CONTEXT_KEY: Any = None


def prompt_attributes(prompt: Prompt | str, version: str | None = None, variables: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The span attributes for a prompt (an id, or a :class:`Prompt` whose version is used)."""
    if isinstance(prompt, Prompt):
        prompt_id, version = prompt.id, version or prompt.version
    else:
        prompt_id = prompt
    attributes = {PROMPT_ID: prompt_id}
    if version:
        attributes[PROMPT_VERSION] = version
    if variables is not None:
        attributes[PROMPT_VARIABLES] = json.dumps(dict(variables), ensure_ascii=False, default=str)
    return attributes


def annotate_span(span: Any, prompt: Prompt | str, version: str | None = None, variables: Mapping[str, Any] | None = None) -> None:
    """Set the prompt attributes on ``span`` (None: the current span)."""
    if span is None:
        try:
            from opentelemetry import trace
        except ImportError:
            return
        span = trace.get_current_span()
    if span is not None and span.is_recording():
        span.set_attributes(prompt_attributes(prompt, version, variables))


def _context_key() -> Any:
    global _CONTEXT_KEY
    if _CONTEXT_KEY is None:
        from opentelemetry.context import create_key

        _CONTEXT_KEY = create_key("llmops-console.prompt")
    return _CONTEXT_KEY


@contextmanager
def prompt_context(prompt: Prompt | str, version: str | None = None, variables: Mapping[str, Any] | None = None) -> Iterator[dict[str, str]]:
    """Within the block, the current span and spans started inside carry the prompt attributes."""
    attributes = prompt_attributes(prompt, version, variables)
    try:
        from opentelemetry import context, trace
    except ImportError:
        yield attributes
        return
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attributes(attributes)
    token = context.attach(context.set_value(_context_key(), attributes))
    try:
        yield attributes
    finally:
        context.detach(token)


def current_prompt_attributes(parent_context: Any = None) -> dict[str, str] | None:
    """The attributes set by an enclosing :func:`prompt_context`, if any."""
    from opentelemetry import context

    return context.get_value(_context_key(), parent_context)  # type: ignore[return-value]


def prompt_span_processor() -> Any:
    """A span processor that stamps spans started inside :func:`prompt_context`.

    ``tracer_provider.add_span_processor(prompt_span_processor())``
    """
    from opentelemetry.sdk.trace import SpanProcessor

    class PromptSpanProcessor(SpanProcessor):
        def on_start(self, span: Any, parent_context: Any = None) -> None:
            attributes = current_prompt_attributes(parent_context)
            if attributes:
                span.set_attributes(attributes)

    return PromptSpanProcessor()
