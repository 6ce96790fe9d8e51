"""The prompts pane's dialogs: a question with a coloured diff (save, leave with
unsaved changes), a plain question (a batch's cost estimate), and a diff between
any two versions of a prompt."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Select, Static

from console.palette import Palette
from console.widgets.diff_view import line_diff_text, stats_line
from store.prompts import PromptVersion
from store.prompts.diff import word_diff


@dataclass(frozen=True)
class Choice:
    label: str
    result: str | None
    variant: str = "default"
    disabled: bool = False


class ChoiceDialog(ModalScreen[str | None]):
    """A question, an optional body, an optional diff of ``old`` → ``new``, and buttons;
    dismissed with the chosen button's result (escape: None)."""

    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel", tooltip="Close without doing anything")]

    def __init__(self, title: str, choices: list[Choice], *, body: Text | str | None = None,
                 old: str | None = None, new: str | None = None, dialog_id: str = "choice"):
        super().__init__(id=f"{dialog_id}-dialog")
        self.title_text, self.choices, self.body = title, choices, body
        self.old, self.new = old, new

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog-box"):
            yield Label(Text(self.title_text), id="dialog-title")
            if self.body is not None:
                yield Static(self.body if isinstance(self.body, Text) else Text(self.body), id="dialog-body")
            if self.old is not None and self.new is not None:
                yield Static("", id="dialog-diff-stats")
                with VerticalScroll(id="dialog-diff-box"):
                    yield Static("", id="dialog-diff")
            with Horizontal(id="dialog-buttons"):
                for index, choice in enumerate(self.choices):
                    yield Button(choice.label, variant=choice.variant, id=f"dialog-choice-{index}",  # type: ignore[arg-type]
                                 disabled=choice.disabled, compact=True)

    def on_mount(self) -> None:
        if self.old is not None and self.new is not None:
            c = Palette.of(self.app)
            self.query_one("#dialog-diff-stats", Static).update(
                Text(stats_line(word_diff(self.old, self.new)), style=c("muted")))
            self.query_one("#dialog-diff", Static).update(line_diff_text(self.old, self.new, c))
        first = next((b for b in self.query(Button) if not b.disabled), None)
        if first is not None:
            first.focus()

    @on(Button.Pressed)
    def chosen(self, event: Button.Pressed) -> None:
        index = int((event.button.id or "-0").rsplit("-", 1)[-1])
        self.dismiss(self.choices[index].result)

    def action_cancel(self) -> None:
        self.dismiss(None)


def version_label(v: PromptVersion) -> str:
    when = v.latest_revision.date.strftime("%Y-%m-%d") if v.latest_revision else ""
    seen = f", {v.trace_count} traces" if v.trace_count else ""
    subject = f" {v.latest_revision.subject[:30]}" if v.latest_revision else ""
    return f"{v.version} ({'+'.join(v.sources)}{seen}) {when}{subject}".strip()


def version_text(v: PromptVersion) -> str:
    """The file's text; for a version seen only in traces, a rendered example of it."""
    if v.text is not None:
        return v.text
    example = v.examples[0] if v.examples else "(no example recorded)\n"
    return f"# version {v.version} is known only from traces; a rendered example:\n{example}"


class VersionDiffScreen(ModalScreen[None]):
    """Pick two versions (git, the file, traces) and read the diff between them."""

    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS = [Binding("escape,q", "close", "Close", id="versions.close", tooltip="Close the version diff")]

    def __init__(self, prompt_id: str, versions: list[PromptVersion], old: str | None = None, new: str | None = None):
        super().__init__()
        self.prompt_id, self.versions = prompt_id, versions
        self.old = old or (versions[1].version if len(versions) > 1 else versions[0].version if versions else None)
        self.new = new or (versions[0].version if versions else None)

    def compose(self) -> ComposeResult:
        options = [(version_label(v), v.version) for v in self.versions]
        with Vertical(id="dialog-box"):
            yield Label(Text(f"Versions of {self.prompt_id}"), id="dialog-title")
            with Horizontal(id="versions-pick"):
                yield Label("from", classes="versions-label")
                yield Select(options, value=self.old or Select.BLANK, id="versions-old", compact=True, allow_blank=False)
                yield Label("to", classes="versions-label")
                yield Select(options, value=self.new or Select.BLANK, id="versions-new", compact=True, allow_blank=False)
            yield Static("", id="dialog-diff-stats")
            with VerticalScroll(id="dialog-diff-box"):
                yield Static("", id="dialog-diff")

    def on_mount(self) -> None:
        self.show()

    @on(Select.Changed)
    def show(self) -> None:
        by_version = {v.version: v for v in self.versions}
        old = by_version.get(str(self.query_one("#versions-old", Select).value))
        new = by_version.get(str(self.query_one("#versions-new", Select).value))
        c = Palette.of(self.app)
        if old is None or new is None:
            self.query_one("#dialog-diff", Static).update(Text("this prompt has one version", style=c("muted")))
            return
        a, b = version_text(old), version_text(new)
        self.query_one("#dialog-diff-stats", Static).update(Text(stats_line(word_diff(a, b)), style=c("muted")))
        self.query_one("#dialog-diff", Static).update(line_diff_text(a, b, c))

    def action_close(self) -> None:
        self.dismiss(None)
