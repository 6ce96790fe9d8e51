"""The serving endpoint around one LLM span, as text for the trace view's
"Server" tab: KV cache, queue and state at the scrapes before and after the
span's start, what the server reported between them, and its GPUs."""

from __future__ import annotations

from rich.text import Text

from console.palette import Palette
from console.text import clean
from console.widgets.health_format import level_style, millis, number, pct, seconds
from store.health.rules import HealthThresholds
from store.query.health import ServerReading, ServerState


def server_text(state: ServerState | None, span: dict, c: Palette, th: HealthThresholds) -> Text:
    t = Text()
    if not span.get("server_address"):
        t.append("This span names no server (no server.address attribute), so it cannot be tied to an "
                 "endpoint's health samples.", style=c("muted"))
        return t
    address = clean(span.get("server_address"), 200, one_line=True)
    if state is None:
        t.append(f"server {address}\n", style=c("foreground", "bold"))
        t.append("No server state for this span (it is kept for LLM and embedding calls).", style=c("muted"))
        return t
    t.append("server    ", style=c("muted"))
    t.append(address, style=c("foreground", "bold"))
    if state.target:
        t.append(f"\nscraped as {clean(state.target, 200, one_line=True)}", style=c("muted"))
    t.append("\nthis call ", style=c("muted"))
    t.append(f"{millis(span.get('duration_ms'))} total · TTFT {millis(span.get('ttft_ms'))}\n")
    if state.note:
        t.append(f"\n{clean(state.note, 300)}\n", style=c("muted"))
        if state.target is None:
            return t
    if state.before is not None or state.after is not None:
        t.append("\n")
        t.append(f"{'':<12}{_head('before', state.before):>18}{_head('after', state.after):>18}\n", style=c("muted"))
        _row(t, c, "state", state.before, state.after, lambda r: r.state or "-", lambda r: _state_level(r.state))
        _row(t, c, "KV cache", state.before, state.after, lambda r: pct(r.kv_cache_usage),
             lambda r: th.level("kv_cache_usage", r.kv_cache_usage))
        _row(t, c, "running", state.before, state.after, lambda r: number(r.running), lambda r: None)
        _row(t, c, "waiting", state.before, state.after, lambda r: number(r.waiting),
             lambda r: th.level("waiting", r.waiting))
    if state.generation_tokens_per_s is not None or state.ttft is not None:
        finished = next((x.count for x in (state.ttft, state.e2e) if x is not None and x.count is not None), None)
        t.append("\nthe server reported between them", style=c("muted"))
        t.append(f" ({finished:.0f} requests)\n" if finished is not None else "\n", style=c("muted"))
        t.append(f"  {number(state.generation_tokens_per_s)} tok/s generated · {number(state.requests_per_s)} requests/s\n")
        for label, summary in (("TTFT", state.ttft), ("e2e", state.e2e)):
            if summary is not None and summary.count:
                t.append(f"  {label:<5}", style=c("muted"))
                t.append(f"p50 {seconds(summary.p50)} · p90 {seconds(summary.p90)} · p99 {seconds(summary.p99)}\n")
    if state.gpus:
        t.append(f"\nGPUs ({clean(state.gpu_scope or '', 80, one_line=True)}), nearest reading\n", style=c("muted"))
        for gpu in state.gpus:
            t.append(f"  {clean(gpu.target, 40, one_line=True):<12}", style=c("muted"))
            t.append("util ")
            t.append(f"{'-' if gpu.util_percent is None else f'{gpu.util_percent:.0f}%':>5}")
            t.append("  mem ")
            t.append(f"{pct(gpu.mem_fraction):>5}", style=level_style(c, th.level("gpu_mem_fraction", gpu.mem_fraction)))
            if gpu.temperature_c is not None:
                t.append("  ")
                t.append(f"{gpu.temperature_c:.0f} °C", style=level_style(c, th.level("gpu_temperature_c", gpu.temperature_c)))
            t.append(f"  ({gpu.offset_s:+.0f}s)\n", style=c("muted"))
    elif state.target:
        t.append("\nNo GPU readings stored near this time.\n", style=c("muted"))
    return t


def _head(label: str, reading: ServerReading | None) -> str:
    return f"{label} (-)" if reading is None else f"{label} ({reading.offset_s:+.1f}s)"


def _state_level(state: str | None) -> str | None:
    return "red" if state == "down" else "amber" if state in ("warming", "draining") else None


def _row(t: Text, c: Palette, label: str, before: ServerReading | None, after: ServerReading | None,
         value, level) -> None:  # type: ignore[no-untyped-def]
    t.append(f"{label:<12}", style=c("muted"))
    for reading in (before, after):
        if reading is None:
            t.append(f"{'-':>18}", style=c("muted"))
        else:
            t.append(f"{value(reading):>18}", style=level_style(c, level(reading)))
    t.append("\n")
