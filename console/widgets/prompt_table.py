"""The prompts list: one row per prompt version (the file, git commits, versions seen in
traces), with what each served: traces linked by ``prompt.id`` and by fingerprint,
calls, cost, mean latency, error rate."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from console import format as fmt
from console.palette import Palette
from console.text import clean

COLUMNS = (("prompt", 22), ("version", 12), ("source", 13), ("traces", 7), ("+fp", 5), ("calls", 6),
           ("cost", 9), ("latency", 8), ("errors", 6), ("last seen", 11))


@dataclass
class VersionRow:
    prompt_id: str
    version: str  # "" for spans that carry prompt.id without a version
    sources: tuple[str, ...]
    linked: dict[str, Any] | None  # a STATS_COLUMNS row
    fingerprinted: dict[str, Any] | None
    path: Path | None = None
    problem: str | None = None  # a file with errors: what is wrong
    first: bool = False

    @property
    def key(self) -> str:
        return f"{self.prompt_id}\x00{self.version}\x00{self.path or ''}"


def _merge(a: dict[str, Any] | None, b: dict[str, Any] | None) -> dict[str, Any]:
    """Linked and fingerprinted figures together (the two sets of spans are disjoint)."""
    rows = [r for r in (a, b) if r]
    calls = sum(r["calls"] or 0 for r in rows)
    costs = [r["cost_usd"] for r in rows if r["cost_usd"] is not None]

    def weighted(name: str) -> float | None:
        parts = [(r[name], r["calls"] or 0) for r in rows if r[name] is not None]
        total = sum(w for _v, w in parts)
        return sum(v * w for v, w in parts) / total if total else (parts[0][0] if parts else None)

    return {"calls": calls, "cost_usd": sum(costs) if costs else None,
            "unpriced": sum(r["unpriced"] or 0 for r in rows), "mean_latency_ms": weighted("mean_latency_ms"),
            "error_rate": weighted("error_rate"), "last_seen": max((r["last_seen"] for r in rows if r["last_seen"]),
                                                                   default=None)}


def version_rows(overview: Any, fingerprints: pl.DataFrame | None) -> list[VersionRow]:
    linked = {(r["prompt_id"], r["prompt_version"]): r for r in overview.linked.iter_rows(named=True)}
    fps = {(r["prompt_id"], r["prompt_version"]): r for r in fingerprints.iter_rows(named=True)} \
        if fingerprints is not None else {}
    out: list[VersionRow] = []
    for prompt in overview.prompts:
        rows: list[VersionRow] = []
        known: set[str] = set()
        for v in overview.versions.get(prompt.id, []):
            known.add(v.version)
            rows.append(VersionRow(prompt.id, v.version, v.sources, linked.get((prompt.id, v.version)),
                                   fps.get((prompt.id, v.version)), prompt.path))
        for (pid, version), stats in sorted({**fps, **linked}.items(), key=lambda kv: str(kv[0])):
            if pid == prompt.id and version not in known:
                known.add(version)
                sources = tuple(s for s, d in (("trace", linked), ("fingerprint", fps)) if (pid, version) in d)
                rows.append(VersionRow(pid, version, sources, linked.get((pid, version)), fps.get((pid, version)),
                                       prompt.path))
        if rows:
            rows[0].first = True
        out.extend(rows)
    known_ids = {p.id for p in overview.prompts}
    for (pid, version), stats in sorted(linked.items(), key=lambda kv: str(kv[0])):
        if pid not in known_ids:  # spans name a prompt the folder does not have
            out.append(VersionRow(pid, version, ("trace",), stats, None, None, "no file in the prompts folder",
                                  first=not out or out[-1].prompt_id != pid))
    for path, issues in sorted(overview.problems.items()):
        errors = [i for i in issues if i.severity == "error"]
        if errors:
            out.append(VersionRow(path.name, "", ("file",), None, None, path, str(errors[0]), first=True))
    return out


def cells(row: VersionRow, c: Palette, current: str | None = None) -> list[Any]:
    if row.problem and row.path is not None and row.linked is None:
        return [Text(f"✗ {clean(row.prompt_id, 60, one_line=True)}", style=c("error", "bold")), Text("-"),
                Text("invalid file", style=c("error")), "", "", "", "", "", "",
                Text(clean(row.problem, 200, one_line=True), style=c("error"))]
    name = Text()
    if row.first:
        name.append(clean(row.prompt_id, 80, one_line=True), style=c("foreground", "bold"))
        if current == row.prompt_id:
            name.append(" ✎", style=c("accent", "bold"))
    else:
        name.append("  └", style=c("muted"))
    stats = _merge(row.linked, row.fingerprinted)
    traces = (row.linked or {}).get("traces") or 0
    fp = (row.fingerprinted or {}).get("traces") or 0
    source = "+".join({"working": "file"}.get(s, s) for s in row.sources if s != "trace") or "traces only"
    err = stats["error_rate"]
    return [
        name,
        Text(row.version or "(no version)", style=c("muted") if not row.version else ""),
        Text(source, style=c("warning") if row.problem else c("muted")),
        Text(str(traces) if traces else "-", justify="right"),
        Text(f"+{fp}" if fp else "-", justify="right", style=c("accent") if fp else c("muted")),
        Text(str(stats["calls"]) if stats["calls"] else "-", justify="right"),
        Text(fmt.usd(stats["cost_usd"], bool(stats["unpriced"])) if stats["calls"] else "-", justify="right"),
        Text(fmt.duration_ms(stats["mean_latency_ms"]), justify="right"),
        Text("-" if err is None else f"{err:.0%}", justify="right",
             style=c("status-error") if err else ""),
        Text(fmt.when(stats["last_seen"]) if stats["last_seen"] else "-"),
    ]


class PromptTable(DataTable):
    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="prompts.down", tooltip="Next version"),
        Binding("k", "cursor_up", "Up", show=False, id="prompts.up", tooltip="Previous version"),
    ]

    def __init__(self, **kw: Any):
        super().__init__(cursor_type="row", zebra_stripes=True, **kw)
        self.rows_by_key: dict[str, VersionRow] = {}
        self.order: list[str] = []

    def on_mount(self) -> None:
        for label, width in COLUMNS:
            self.add_column(label, width=width, key=label)

    def show(self, rows: list[VersionRow], current: str | None = None) -> None:
        c = Palette.of(self.app)
        keep = self.current.key if self.current else None
        self.clear()
        self.rows_by_key = {r.key: r for r in rows}
        self.order = [r.key for r in rows]
        for r in rows:
            self.add_row(*cells(r, c, current), key=r.key)
        if keep in self.rows_by_key:
            self.move_cursor(row=self.order.index(keep), animate=False)

    @property
    def current(self) -> VersionRow | None:
        if not self.order or not 0 <= self.cursor_row < len(self.order):
            return None
        return self.rows_by_key.get(self.order[self.cursor_row])
