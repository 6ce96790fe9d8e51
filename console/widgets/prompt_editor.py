"""The prompt editor: the YAML text with ``{{variables}}`` highlighted, the request
fields (model, temperature, max_tokens), the variables it uses, and live validation.

Textual's YAML highlighting needs tree-sitter, which is not installed, so the
highlighting here is our own and small: top-level keys, comments, block-scalar
bodies, ``{{variables}}`` and stray ``{{``.
"""

from __future__ import annotations

import re
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Label, Static, TextArea

from console.palette import Palette
from console.prompt_fields import FIELDS, set_top_level
from console.text import clean
from store.prompts import Issue, Prompt, parse_prompt
from store.prompts import template as tpl
from store.prompts.render import variables as prompt_variables

VALIDATE_DELAY_S = 0.15
_VAR = re.compile(r"\{\{\{?\s*" + tpl.NAME + r"\s*\}?\}\}")
_ESCAPED = re.compile(r"\\\{\{")
_STRAY = re.compile(r"\{\{")
_KEY = re.compile(r"^(?P<indent>\s*(?:-\s+)?)(?P<key>[A-Za-z_][\w.\-/]*)\s*:(?=\s|$)")
_BLOCK = re.compile(r":\s*[|>][-+0-9]*\s*(#.*)?$")


def short(value: Any, limit: int) -> str:
    """One line of at most ``limit`` characters, cut with an ellipsis."""
    text = clean(value, 10 * limit, one_line=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def line_kinds(lines: list[str]) -> list[str]:
    """Per line: "key" (a mapping key starts it), "block" (inside a | or > scalar),
    "comment", or "text"."""
    kinds: list[str] = []
    block_indent: int | None = None
    for line in lines:
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        if block_indent is not None:
            if not stripped or indent > block_indent:
                kinds.append("block")
                continue
            block_indent = None
        if stripped.startswith("#"):
            kinds.append("comment")
            continue
        match = _KEY.match(line)
        if match is None:
            kinds.append("text")
            continue
        kinds.append("key")
        if _BLOCK.search(line):
            block_indent = len(match.group("indent"))
    return kinds


class TemplateArea(TextArea):
    """A TextArea that colours prompt YAML and its template variables."""

    def __init__(self, text: str = "", **kw: Any):
        super().__init__(text, soft_wrap=True, show_line_numbers=True, tab_behavior="indent", **kw)
        self._kinds: list[str] = []
        self._styles: dict[str, str] = {}

    def on_mount(self) -> None:
        self.watch(self.app, "theme", self._recolour, init=True)

    def _recolour(self, _theme: str) -> None:
        c = Palette.of(self.app)
        self._styles = {"key": c("primary", "bold"), "comment": c("muted", "italic"), "var": c("accent", "bold"),
                        "stray": c("warning", "underline"), "indicator": c("muted")}
        self._line_cache.clear()
        self.refresh()

    def _build_highlight_map(self) -> None:
        super()._build_highlight_map()
        self._kinds = line_kinds(self.document.lines)

    def get_line(self, line_index: int) -> Text:
        line = super().get_line(line_index)
        s, plain = self._styles, line.plain
        if not s or not plain:
            return line
        kind = self._kinds[line_index] if line_index < len(self._kinds) else "text"
        if kind == "comment":
            line.stylize(s["comment"])
            return line
        if kind == "key":
            match = _KEY.match(plain)
            if match:
                line.stylize(s["key"], match.start("key"), match.end("key"))
            block = _BLOCK.search(plain)
            if block:
                line.stylize(s["indicator"], block.start() + 1, len(plain))
        taken: list[tuple[int, int]] = []
        for match in _ESCAPED.finditer(plain):
            taken.append(match.span())
        for match in _VAR.finditer(plain):
            line.stylize(s["var"], *match.span())
            taken.append(match.span())
        for match in _STRAY.finditer(plain):
            if not any(a <= match.start() < b for a, b in taken):
                line.stylize(s["stray"], *match.span())
        return line


class PromptEditor(Horizontal):
    """Emits :class:`Validated` (debounced) after every change."""

    class Validated(Message):
        def __init__(self, text: str, prompt: Prompt | None, issues: list[Issue]):
            super().__init__()
            self.text, self.prompt, self.issues = text, prompt, issues

    def __init__(self, **kw: Any):
        super().__init__(**kw)
        self.prompt: Prompt | None = None
        self.issues: list[Issue] = []
        self.values: dict[str, Any] | None = None  # the replay source's recorded variables
        self._syncing = False
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield TemplateArea(id="prompt-text")
        with Vertical(id="prompt-side"):
            yield Label("Request", classes="prompt-side-title")
            for key in FIELDS:
                with Horizontal(classes="prompt-field"):
                    yield Label(key, classes="prompt-field-label")
                    yield Input(placeholder="-" if key != "model" else "(the span's model)", id=f"field-{key}",
                                compact=True)
            yield Label("Variables", classes="prompt-side-title")
            yield Static("", id="prompt-vars")
            yield Label("Validation", classes="prompt-side-title")
            with VerticalScroll(id="prompt-issues-box"):
                yield Static("", id="prompt-issues")

    @property
    def area(self) -> TemplateArea:
        return self.query_one(TemplateArea)

    @property
    def text(self) -> str:
        return self.area.text

    def load(self, text: str) -> None:
        """Replace the buffer (a newly opened file): undo history starts here."""
        self.area.load_text(text)
        self.validate_now()

    def set_values(self, values: dict[str, Any] | None) -> None:
        self.values = values
        self._show_variables()

    # -- validation ------------------------------------------------------------------------
    @on(TextArea.Changed, "#prompt-text")
    def _changed(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(VALIDATE_DELAY_S, self.validate_now)

    def validate_now(self) -> None:
        self._timer = None
        text = self.text
        prompt, issues = parse_prompt(text)
        self.prompt = prompt
        self.issues = sorted(issues, key=lambda i: (i.severity != "error", i.line or 0))
        self._sync_fields(prompt, text)
        self._show_variables()
        self._show_issues()
        self.post_message(self.Validated(text, prompt, self.issues))

    def _show_issues(self) -> None:
        c = Palette.of(self.app)
        t = Text()
        if not self.issues:
            t.append("✓ valid", style=c("success", "bold"))
        for issue in self.issues:
            mark, style = ("✗", c("error", "bold")) if issue.severity == "error" else ("⚠", c("warning"))
            where = f"line {issue.line}: " if issue.line else ""
            t.append(f"{mark} {where}", style=style)
            t.append(clean(issue.message, 400) + "\n")
        self.query_one("#prompt-issues", Static).update(t)

    def _show_variables(self) -> None:
        c = Palette.of(self.app)
        t = Text()
        if self.prompt is None:  # the YAML does not parse: still list what the text uses
            for name in tpl.variable_names(self.text):
                t.append(f"{{{{{name}}}}}", style=c("accent", "bold"))
                recorded = (self.values or {}).get(name)
                if recorded is not None:
                    t.append(f" = {short(recorded, 60)}", style=c("foreground"))
                t.append("\n")
        for spec in prompt_variables(self.prompt).values() if self.prompt is not None else ():
            t.append(f"{{{{{spec.name}}}}}", style=c("accent", "bold"))
            recorded = (self.values or {}).get(spec.name)
            if recorded is not None:
                t.append(f" = {short(recorded, 60)}", style=c("foreground"))
                t.append("  (trace)", style=c("muted"))
            elif spec.default is not None:
                t.append(f" default {short(spec.default, 50)}", style=c("muted"))
            else:
                t.append(" required", style=c("warning"))
            if not spec.declared and self.prompt is not None and self.prompt.declares_variables:
                t.append(" undeclared", style=c("error"))
            t.append("\n")
        if not t.plain:
            t.append("none", style=c("muted"))
        self.query_one("#prompt-vars", Static).update(t.rstrip() or t)

    # -- request fields <-> YAML -------------------------------------------------------------
    def _sync_fields(self, prompt: Prompt | None, text: str) -> None:
        if prompt is None:
            return  # keep what the fields show until the YAML parses again
        self._syncing = True
        try:
            for key in FIELDS:
                field = self.query_one(f"#field-{key}", Input)
                value = getattr(prompt, key)
                shown = "" if value is None else str(value)
                if not field.has_focus and field.value != shown:
                    field.value = shown
        finally:
            self._syncing = False

    @on(Input.Submitted, ".prompt-field Input")
    @on(Input.Blurred, ".prompt-field Input")
    def _field_done(self, event: Input.Submitted | Input.Blurred) -> None:
        """A field goes into the text when it is submitted or left: one undoable edit, and
        no half-typed value ("0.") flashing an error on the way."""
        event.stop()
        if self._syncing:
            return
        key = (event.input.id or "").removeprefix("field-")
        self.apply_text(set_top_level(self.text, key, event.input.value))

    def apply_text(self, new: str) -> None:
        """Change the buffer to ``new`` as one edit (undoable, the cursor kept where it can be)."""
        old = self.text
        if new == old:
            return
        start = 0
        while start < min(len(old), len(new)) and old[start] == new[start]:
            start += 1
        end_old, end_new = len(old), len(new)
        while end_old > start and end_new > start and old[end_old - 1] == new[end_new - 1]:
            end_old -= 1
            end_new -= 1
        doc = self.area.document
        self.area.replace(new[start:end_new], doc.get_location_from_index(start), doc.get_location_from_index(end_old))
