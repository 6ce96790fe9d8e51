"""Numbers and times the way the console shows them."""

from __future__ import annotations

from datetime import datetime, timezone


def tokens(n: int | None) -> str:
    if n is None:
        return "-"
    if n >= 1_000_000:
        return f"{n / 1e6:.1f}M"
    if n >= 10_000:
        return f"{n / 1e3:.0f}k"
    if n >= 1_000:
        return f"{n / 1e3:.1f}k"
    return str(n)


def usd(v: float | None, unknown: bool = False) -> str:
    """Unknown cost is shown as unknown, never as $0."""
    if v is None or (v == 0 and unknown):
        return "?"
    if v >= 100:
        s = f"${v:,.0f}"
    elif v >= 1:
        s = f"${v:.2f}"
    elif v >= 0.01:
        s = f"${v:.3f}"
    elif v == 0:
        s = "$0"
    else:
        s = f"${v:.4f}" if v >= 0.0001 else "<$0.0001"
    return s + ("+?" if unknown else "")


def duration_ms(ms: float | None) -> str:
    if ms is None:
        return "-"
    if ms < 1:
        return f"{ms * 1000:.0f}µs"
    if ms < 1000:
        return f"{ms:.0f}ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f}s"
    if ms < 3_600_000:
        return f"{ms / 60_000:.1f}m"
    return f"{ms / 3_600_000:.1f}h"


def when(ts: datetime | None, now: datetime | None = None) -> str:
    if ts is None:
        return "-"
    now = now or datetime.now(timezone.utc)
    local = ts.astimezone()
    if local.date() == now.astimezone().date():
        return local.strftime("%H:%M:%S")
    return local.strftime("%m-%d %H:%M")


def size(n: int | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n}"


def rate(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:,.0f}/s" if v >= 10 else f"{v:.1f}/s"
