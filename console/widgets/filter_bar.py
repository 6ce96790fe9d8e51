"""The filter input with its error line; parses as you type."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static

from store.query.filters import FilterError, TraceFilter, parse

PLACEHOLDER = 'filter: model:gpt-4o* status:error user:alice cost>0.01 latency>2s tag:prod since:1h "text"'


class FilterBar(Vertical):
    class Changed(Message):
        def __init__(self, query: str, parsed: TraceFilter):
            super().__init__()
            self.query = query
            self.parsed = parsed

    class Submitted(Message):
        pass

    def compose(self) -> ComposeResult:
        yield Input(placeholder=PLACEHOLDER, id="filter-input")
        yield Static("", id="filter-error")

    DEBOUNCE = 0.15  # seconds of quiet typing before the query runs

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        timer = getattr(self, "_timer", None)
        if timer is not None:
            timer.stop()
        self._timer = self.set_timer(self.DEBOUNCE, lambda v=event.value: self._apply(v))

    def _apply(self, value: str) -> None:
        err = self.query_one("#filter-error", Static)
        try:
            parsed = parse(value)
        except FilterError as e:
            err.update(Text(f"⚠ {e}"))  # the user's own text: never markup
            err.display = True
            return
        err.update("")
        err.display = False
        self.post_message(self.Changed(value, parsed))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        timer = getattr(self, "_timer", None)
        if timer is not None:
            timer.stop()
            self._apply(event.value)
        self.post_message(self.Submitted())

    def focus_input(self) -> None:
        self.query_one(Input).focus()

    @property
    def value(self) -> str:
        return self.query_one(Input).value
