"""Turning a prompt and variable values into chat messages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from store.prompts import template as tpl
from store.prompts.model import Prompt, VariableSpec


def variables(prompt: Prompt) -> dict[str, VariableSpec]:
    """Every variable of a prompt: those used in its text (in order of first use), then
    declared ones no text uses. Declared ones carry their default and description;
    the others come back with ``declared=False`` and no default."""
    found: dict[str, VariableSpec] = {}
    for _role, part in prompt.parts():
        for name in tpl.variable_names(part):
            if name not in found:
                found[name] = prompt.variables.get(name) or VariableSpec(name, declared=False)
    for name, spec in prompt.variables.items():
        found.setdefault(name, spec)
    return found


def values_with_defaults(prompt: Prompt, values: Mapping[str, Any] | None) -> dict[str, Any]:
    merged: dict[str, Any] = {n: s.default for n, s in prompt.variables.items() if s.default is not None}
    merged.update({k: v for k, v in (values or {}).items() if v is not None})
    return merged


def render(prompt: Prompt, values: Mapping[str, Any] | None = None, *, strict: bool = True) -> list[dict[str, Any]]:
    """The prompt's messages, in the normalized message format (``{"role", "content"}``).

    ``values`` override the declared defaults. With ``strict`` a variable left
    without a value raises :class:`store.prompts.template.MissingVariables`
    (naming all of them); otherwise it stays as ``{{name}}`` in the text.
    """
    merged = values_with_defaults(prompt, values)
    messages: list[dict[str, Any]] = []
    missing: list[str] = []
    for role, part in prompt.parts():
        try:
            content = tpl.render_text(part, merged, strict=strict)
        except tpl.MissingVariables as exc:
            missing.extend(exc.names)
            continue
        messages.append({"role": role, "content": content})
    if missing:
        raise tpl.MissingVariables(list(dict.fromkeys(missing)))
    return messages
