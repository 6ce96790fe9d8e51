"""How health figures read: percentages, latencies, rates, bytes; and the theme
style of a threshold level."""

from __future__ import annotations

from console import format as fmt
from console.palette import Palette

GIB = 1024**3


def pct(fraction: float | None, digits: int = 0) -> str:
    return "-" if fraction is None else f"{fraction * 100:.{digits}f}%"


def seconds(value: float | None) -> str:
    """A latency in seconds, in the unit that reads best (µs, ms, s, m)."""
    return "-" if value is None else fmt.duration_ms(value * 1000)


def millis(value: float | None) -> str:
    return fmt.duration_ms(value)


def window(value: float | None) -> str:
    """A window length in whole units: 20s, 5m, 6h."""
    if value is None:
        return "-"
    for limit, unit, size in ((90, "s", 1), (5400, "m", 60)):
        if value < limit:
            return f"{value / size:.0f}{unit}"
    return f"{value / 3600:.0f}h"


def number(value: float | None) -> str:
    """Compact: 7, 12.5, 980, 1.2k, 34k, 1.5M."""
    if value is None:
        return "-"
    size = abs(value)
    if size >= 1e6:
        return f"{value / 1e6:.1f}M"
    if size >= 1e4:
        return f"{value / 1e3:.0f}k"
    if size >= 1e3:
        return f"{value / 1e3:.1f}k"
    if size >= 100 or value == int(value):
        return f"{value:.0f}"
    return f"{value:.1f}"


def per_s(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{number(value)}/s" if value >= 10 or value == 0 else f"{value:.2f}/s"


def gib(value: float | None) -> str:
    return "-" if value is None else f"{value / GIB:.1f}"


def big(value: float | None) -> str:
    """Text for a Digits display: digits only (Digits has no k, no %)."""
    if value is None:
        return "-"
    if abs(value) >= 100 or value == int(value):
        return f"{value:.0f}"
    return f"{value:.1f}"


def level_style(palette: Palette, level: str | None, *extra: str) -> str:
    """The theme colour of a level (amber and red), else the plain foreground."""
    if level == "red":
        return palette("level-red", "bold", *extra)
    if level == "amber":
        return palette("level-amber", *extra)
    return palette("foreground", *extra)
