"""The line at the bottom: collector state, spans/s, store size, today's cost and
guardrail hits, firing alerts."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from console import format as fmt
from console.messages import StatusSampled
from console.text import clean


class StatusBar(Horizontal):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $foreground; }
    StatusBar > Static { width: auto; padding: 0 1; }
    StatusBar > #status-collector.-down { color: $warning; }
    StatusBar > #status-alerts.-firing { color: $error; text-style: bold; }
    StatusBar > #status-spacer { width: 1fr; }
    """

    def compose(self) -> ComposeResult:
        yield Static("collector …", id="status-collector")
        yield Static("", id="status-rate")
        yield Static("", id="status-store")
        yield Static("", id="status-spacer")
        yield Static("", id="status-cost")
        yield Static("", id="status-guardrails")
        yield Static("", id="status-alerts")

    def on_mount(self) -> None:
        self.watch(self.app, "status", self.show, init=False)
        self.call_after_refresh(lambda: self.show(self.app.status))  # type: ignore[attr-defined]

    def show(self, s: StatusSampled | None) -> None:
        if s is None or not self.query("#status-alerts"):
            return  # not composed yet; the next sample fills it
        col = self.query_one("#status-collector", Static)
        col.update(Text(("● " if s.collector_ok else "○ ") + clean(s.collector, 80, one_line=True)))
        col.set_class(not s.collector_ok, "-down")
        self.query_one("#status-rate", Static).update(f"{fmt.rate(s.spans_per_s)} spans" if s.collector_ok else "")
        self.query_one("#status-store", Static).update(f"store {fmt.size(s.store_bytes)}")
        self.query_one("#status-cost", Static).update(f"today {fmt.usd(s.cost_today)}")
        self.query_one("#status-guardrails", Static).update(f"guardrails {s.guardrail_hits_today or 0}")
        alerts = self.query_one("#status-alerts", Static)
        alerts.update(f"⚠ {s.alerts_firing} alert{'s' if s.alerts_firing != 1 else ''}" if s.alerts_firing else "")
        alerts.set_class(bool(s.alerts_firing), "-firing")
