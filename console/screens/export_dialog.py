"""Where to write an export, and in which format."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet


class ExportDialog(ModalScreen[tuple[str, str] | None]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    AUTO_FOCUS = "#export-path"
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="export.cancel", tooltip="Close without exporting")]

    def __init__(self, scope: str, stem: str, formats: tuple[str, ...] = ("jsonl", "csv")):
        super().__init__()
        self.scope, self.stem, self.formats = scope, stem, formats

    def compose(self) -> ComposeResult:
        with Vertical(id="export-box"):
            yield Label(f"Export {self.scope}")
            with RadioSet(id="export-format"):
                for i, f in enumerate(self.formats):
                    yield RadioButton(f.upper(), value=i == 0, id=f"fmt-{f}")
            yield Input(value=str(Path.cwd() / f"{self.stem}.{self.formats[0]}"), id="export-path")
            with Horizontal(id="export-buttons"):
                yield Button("Export", variant="primary", id="export-go")
                yield Button("Cancel", id="export-cancel")

    @property
    def fmt(self) -> str:
        pressed = self.query_one(RadioSet).pressed_button
        return pressed.id.removeprefix("fmt-") if pressed and pressed.id else self.formats[0]

    @on(RadioSet.Changed)
    def format_changed(self) -> None:
        inp = self.query_one("#export-path", Input)
        p = Path(inp.value)
        inp.value = str(p.with_suffix("." + self.fmt))

    @on(Button.Pressed, "#export-go")
    @on(Input.Submitted, "#export-path")
    def go(self) -> None:
        self.dismiss((self.query_one("#export-path", Input).value, self.fmt))

    @on(Button.Pressed, "#export-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
