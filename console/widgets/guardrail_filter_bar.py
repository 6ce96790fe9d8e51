"""The guardrails pane's filter input: the traces filter bar (debounced as you type)
with the guardrails filter language (documented in ``store.query.guardrails``)."""

from __future__ import annotations

import time
from typing import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Input, Static

from console.widgets.filter_bar import FilterBar
from store.query.filters import FilterError
from store.query.guardrails import parse

PLACEHOLDER = 'filter: detector:pii.* category:injection severity>=high action:blocked user:alice fp:no since:1h "text"'


class GuardrailFilterBar(FilterBar):
    def __init__(self, clock: Callable[[], float] = time.time, **kw: object):
        super().__init__(**kw)  # type: ignore[arg-type]
        self.clock = clock

    def compose(self) -> ComposeResult:
        yield Input(placeholder=PLACEHOLDER, id="filter-input")
        yield Static("", id="filter-error")

    def _apply(self, value: str) -> None:
        err = self.query_one("#filter-error", Static)
        try:
            parsed = parse(value, now=self.clock())
        except FilterError as e:
            err.update(Text(f"⚠ {e}"))  # the query is the user's text, never markup
            err.display = True
            return
        err.update("")
        err.display = False
        self.post_message(self.Changed(value, parsed))  # type: ignore[arg-type]

    def set_query(self, query: str) -> None:
        self.query_one(Input).value = query
