"""Replay A against B: the setup (what each side is, model, parameters, endpoint),
the two outputs side by side as they stream, each side's figures, and a word diff.

Tokens arrive on the replay thread; :class:`TokenBuffer` keeps them and asks for one
repaint at a time, so a fast stream costs a few repaints a second, not one per token.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Label, Select, Static

from console import format as fmt
from console.palette import Palette
from console.text import clean
from console.widgets.diff_view import stats_line, word_diff_text
from store.prompts.diff import word_diff

A_CHOICES = [("recorded output", "recorded"), ("fresh run of the original", "original")]
B_CHOICES = [("edited prompt", "prompt"), ("original request", "original")]
OUTPUT_LIMIT = 50_000


class TokenBuffer:
    """Thread-safe: ``push`` (replay thread) collects text and calls ``notify`` once until
    the UI ``drain``s it; so at most one repaint request is in flight per side."""

    def __init__(self, notify: Callable[[], None]):
        self._parts: list[str] = []
        self._lock = threading.Lock()
        self._pending = False
        self._notify = notify

    def push(self, text: str) -> None:
        with self._lock:
            self._parts.append(text)
            if self._pending:
                return
            self._pending = True
        self._notify()

    def drain(self) -> str:
        with self._lock:
            text = "".join(self._parts)
            self._parts.clear()
            self._pending = False
            return text


def result_metrics(result: Any, c: Palette) -> Text:
    """tokens, cost, latency, time to first token (and the error, if any) of one side."""
    t = Text()
    if result is None:
        return t
    if result.error is not None:
        t.append("✗ ", style=c("error", "bold"))
        t.append(clean(result.error.message, 600), style=c("error"))
        detail = result.error.detail
        if detail and detail not in result.error.message:
            t.append(f"\n{clean(detail, 300, one_line=True)}", style=c("muted"))
        return t
    u = result.usage
    parts = []
    if result.from_recording:
        parts.append("recorded")
    parts += [f"{fmt.tokens(u.input_tokens)} in / {fmt.tokens(u.output_tokens)} out tokens",
              fmt.usd(result.cost_usd), fmt.duration_ms(result.latency_ms), f"ttft {fmt.duration_ms(result.ttft_ms)}"]
    if result.finish_reason:
        parts.append(clean(result.finish_reason, 20, one_line=True))
    t.append(" · ".join(parts), style=c("foreground"))
    return t


class ReplaySetup(Vertical):
    """What A and B are. The screen reads the fields when a run starts."""

    def compose(self) -> ComposeResult:
        yield Static(Text("no trace chosen: r on a trace (traces pane), or ctrl+r to replay this prompt's latest trace"),
                     id="replay-source")
        with Horizontal(classes="replay-row"):
            yield Label("A", classes="replay-label replay-side-a")
            yield Select(A_CHOICES, value="recorded", allow_blank=False, id="replay-a", compact=True)
            yield Label("B", classes="replay-label replay-side-b")
            yield Select(B_CHOICES, value="prompt", allow_blank=False, id="replay-b", compact=True)
            yield Label("B model", classes="replay-label")
            yield Input(placeholder="blank: the prompt's or the span's", id="replay-model", compact=True)
        with Horizontal(classes="replay-row"):
            yield Label("temperature", classes="replay-label")
            yield Input(placeholder="same", id="replay-temperature", compact=True, classes="replay-number")
            yield Label("max_tokens", classes="replay-label")
            yield Input(placeholder="same", id="replay-max-tokens", compact=True, classes="replay-number")
            yield Label("endpoint", classes="replay-label")
            yield Input(placeholder="OpenAI-compatible api_base, e.g. http://127.0.0.1:8000/v1", id="replay-endpoint",
                        compact=True)
            yield Button("Run ▶", id="replay-run", compact=True, variant="primary")

    def value(self, wid: str) -> str:
        widget = self.query_one(f"#{wid}")
        if isinstance(widget, Select):
            return str(widget.value)
        return widget.value.strip() if isinstance(widget, Input) else ""

    def set_value(self, wid: str, value: str) -> None:
        widget = self.query_one(f"#{wid}")
        if isinstance(widget, Input | Select):
            widget.value = value

    def set_source(self, text: Text) -> None:
        self.query_one("#replay-source", Static).update(text)


class ReplaySide(Vertical):
    def __init__(self, label: str, **kw: Any):
        super().__init__(**kw)
        self.label = label
        self.text = ""

    def compose(self) -> ComposeResult:
        yield Static(Text(self.label), classes="replay-title")
        with VerticalScroll(classes="replay-output"):
            yield Static("", classes="replay-text")
        yield Static("", classes="replay-metrics")

    def set_title(self, title: Text) -> None:
        self.query_one(".replay-title", Static).update(title)

    def clear(self, placeholder: str = "") -> None:
        self.text = ""
        c = Palette.of(self.app)
        self.query_one(".replay-text", Static).update(Text(placeholder, style=c("muted", "italic")))
        self.query_one(".replay-metrics", Static).update("")

    def append(self, text: str) -> None:
        self.text += text
        self._paint()

    def show_text(self, text: str) -> None:
        self.text = text
        self._paint()

    def _paint(self) -> None:
        self.query_one(".replay-text", Static).update(Text(clean(self.text, OUTPUT_LIMIT)))
        scroll = self.query_one(VerticalScroll)
        if scroll.max_scroll_y - scroll.scroll_y <= 2:
            scroll.scroll_end(animate=False, immediate=False)

    def show_metrics(self, metrics: Text) -> None:
        self.query_one(".replay-metrics", Static).update(metrics)


class ReplayView(Vertical):
    """A | B side by side, then the word diff once both are done."""

    def compose(self) -> ComposeResult:
        with Horizontal(id="replay-sides"):
            yield ReplaySide("A", id="replay-side-a")
            yield ReplaySide("B", id="replay-side-b")
        yield Static("", id="replay-diff-title")
        with VerticalScroll(id="replay-diff-box"):
            yield Static("", id="replay-diff")

    def side(self, label: str) -> ReplaySide:
        return self.query_one(f"#replay-side-{label.lower()}", ReplaySide)

    def clear_diff(self, note: str = "") -> None:
        c = Palette.of(self.app)
        self.query_one("#replay-diff-title", Static).update(Text("diff A → B", style=c("muted", "bold")))
        self.query_one("#replay-diff", Static).update(Text(note, style=c("muted", "italic")))

    def show_diff(self, a_text: str, b_text: str) -> None:
        c = Palette.of(self.app)
        ops = word_diff(a_text or "", b_text or "")
        title = Text("diff A → B  ", style=c("foreground", "bold"))
        title.append(stats_line(ops), style=c("muted"))
        if all(op.op == "equal" for op in ops):
            title.append("  identical", style=c("success", "bold"))
        self.query_one("#replay-diff-title", Static).update(title)
        self.query_one("#replay-diff", Static).update(word_diff_text(ops, c))
