"""``?``: the keys of the pane you are in, the global keys, and the filter language."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from store.query import filters


def _bindings_table(title: str, screen_or_app: object, app: object) -> Table:
    t = Table(title=title, title_justify="left", box=None, show_header=False, pad_edge=False)
    t.add_column(style="bold", min_width=14)
    t.add_column()
    seen = set()
    for b in getattr(screen_or_app, "BINDINGS", []):
        if not isinstance(b, Binding) or b.id in seen:
            continue
        seen.add(b.id)
        keys = ", ".join(app.get_key_display(Binding(k.strip(), b.action)) for k in b.key.split(","))  # type: ignore[attr-defined]
        t.add_row(Text(keys), Text(b.tooltip or b.description or b.action))
    return t


def _own_bindings(widget: object) -> bool:
    """Whether keys of the console's own are bound on ``widget`` (not only Textual's)."""
    return any(k.__module__.startswith("console.") and k.__dict__.get("BINDINGS")
               for k in type(widget).__mro__)


class HelpScreen(ModalScreen[None]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close", id="help.close", tooltip="Close help")]

    def __init__(self, pane: Screen):
        super().__init__()
        self.pane = pane

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(_bindings_table(f"{getattr(self.pane, 'PANE', '') or 'this screen'} keys", self.pane, self.app))
            for child in self.pane.query("*"):
                if _own_bindings(child):
                    yield Static(_bindings_table(type(child).__name__, child, self.app))
            yield Static(_bindings_table("everywhere", self.app, self.app))
            name, doc = getattr(self.pane, "FILTER_HELP", ("traces", filters.__doc__ or ""))
            yield Static(Text.assemble((f"Filter language ({name})\n", "bold"), doc.strip()))
            yield Static(Text("Ctrl+P opens the command palette with this pane's commands. Esc closes this."))

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)
