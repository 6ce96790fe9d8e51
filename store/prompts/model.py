"""What a prompt is, once read from its YAML file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

# Request parameters a prompt file may set at its top level, besides temperature and max_tokens.
PARAM_KEYS = (
    "top_p",
    "stop",
    "seed",
    "frequency_penalty",
    "presence_penalty",
    "response_format",
    "tools",
    "tool_choice",
)
# Keys kept as they are (in ``Prompt.extra``) without a warning.
EXTRA_KEYS = ("description", "tags", "metadata", "checks")
KNOWN_KEYS = ("id", "template", "system", "messages", "model", "temperature", "max_tokens", "variables", *PARAM_KEYS, *EXTRA_KEYS)
ROLES = ("system", "user", "assistant", "tool")


@dataclass(frozen=True)
class VariableSpec:
    name: str
    default: str | None = None
    description: str | None = None
    declared: bool = True  # False: only seen in the text

    @property
    def required(self) -> bool:
        return self.default is None


@dataclass(frozen=True)
class Issue:
    """One finding of :func:`store.prompts.parse.validate`; lines and columns are 1-based."""

    severity: Literal["error", "warning"]
    code: str  # yaml, not-mapping, missing-id, missing-template, bad-type, bad-value, duplicate-key,
    # unknown-key, undefined-variable, unused-variable, stray-braces, duplicate-id
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{self.severity}: {where}{self.message}"


@dataclass
class Prompt:
    """A prompt template and the request settings that go with it.

    ``version`` is the short hash of the file bytes it was read from (None when
    it was built in memory and not saved yet).
    """

    id: str
    template: str | None = None
    system: str | None = None
    messages: list[dict[str, str]] = field(default_factory=list)
    model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, VariableSpec] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    version: str | None = None
    path: Path | None = None
    text: str | None = None
    declares_variables: bool = False  # the file has a ``variables:`` section

    @property
    def description(self) -> str | None:
        return self.extra.get("description")

    @property
    def checks(self) -> list[dict[str, Any]]:
        """Output checks the file asks for (see ``console.replay.checks``)."""
        return list(self.extra.get("checks") or [])

    def parts(self) -> list[tuple[str, str]]:
        """The templated messages, in request order: system, ``messages``, then ``template`` as a user turn."""
        out: list[tuple[str, str]] = []
        if self.system:
            out.append(("system", self.system))
        out.extend((m["role"], m["content"]) for m in self.messages)
        if self.template is not None:
            out.append(("user", self.template))
        return out

    def request_params(self) -> dict[str, Any]:
        """temperature, max_tokens and the other parameters the file sets (None values left out)."""
        params = {"temperature": self.temperature, "max_tokens": self.max_tokens, **self.params}
        return {k: v for k, v in params.items() if v is not None}


class PromptError(Exception):
    """A prompt file that cannot be used; ``issues`` says why."""

    def __init__(self, message: str, issues: list[Issue] | None = None, path: Path | None = None) -> None:
        super().__init__(message)
        self.issues = issues or []
        self.path = path

    def __str__(self) -> str:
        head = super().__str__()
        errors = [str(i) for i in self.issues if i.severity == "error"]
        return head + ("".join(f"\n  {e}" for e in errors) if errors else "")


class PromptNotFound(KeyError):
    def __str__(self) -> str:
        return f"no prompt {self.args[0]!r}"
