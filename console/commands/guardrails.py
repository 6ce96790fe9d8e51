"""``llmops-console guardrails list|export``: the guardrail event log for scripts."""

from __future__ import annotations

import shlex
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from console.commands.output import print_json, rows_of

FILTER_OPTIONS = ("detector", "category", "severity", "action", "source", "service", "user", "direction")
FILTER_HELP = ('Filter, e.g. \'detector:pii.* severity>=high action:blocked fp:no "ignore all"\' '
               "(the language is in `llmops-console guardrails --help`).")


def _filter_options(f: Any) -> Any:
    """--detector, --category, ... (each a value, commas for several, * wildcards), --since, -f."""
    for name in reversed(FILTER_OPTIONS):
        f = click.option(f"--{name}", help=f"Only this {name} (commas for several, * wildcards).")(f)
    f = click.option("--since", help="Only events since a duration back (1h, 7d) or a date (2026-11-20).")(f)
    f = click.option("-f", "--filter", "query", default="", help=FILTER_HELP)(f)
    f = click.option("--store", type=click.Path(file_okay=False), envvar="LLMOPS_STORE",
                     help="Store directory (env LLMOPS_STORE).")(f)
    return f


def _filter(query: str, since: str | None, options: dict[str, str | None]):  # type: ignore[no-untyped-def]
    """The options as terms of the filter language, after ``-f``."""
    from store.query.filters import FilterError
    from store.query.guardrails import parse

    terms = [query] if query else []
    if since:
        terms.append(shlex.quote(f"since:{since}"))
    terms += [shlex.quote(f"{name}:{value}") for name, value in options.items() if value]
    try:
        return parse(" ".join(terms))
    except FilterError as e:
        raise click.UsageError(str(e)) from None


def _queries(ctx: click.Context, store: str | None):  # type: ignore[no-untyped-def]
    from console.cli import settings_from
    from store.query import StoreReader
    from store.query.guardrails import GuardrailQueries

    s = settings_from(ctx, store=store)
    if not (s.store / "manifest.json").exists():
        raise click.ClickException(f"no store at {s.store} yet: run `llmops-console collect` and send traces")
    return GuardrailQueries(StoreReader(s.store))


class _GuardrailsGroup(click.Group):
    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_help_text(ctx, formatter)
        from store.query import guardrails as language  # imported here: --help elsewhere stays quick

        formatter.write("\n")
        formatter.write((language.__doc__ or "").split("\n\n", 1)[1].replace("``", "").rstrip() + "\n")


@click.group(cls=_GuardrailsGroup)
def guardrails() -> None:
    """The guardrail event log: PII, secrets, injection, output checks and external
    guardrails (OpenInference, span events, LiteLLM, POST /v1/guardrail-events)."""


@guardrails.command("list")
@_filter_options
@click.option("-n", "--limit", default=50, show_default=True, help="How many events, newest first.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_context
def list_events(ctx: click.Context, store: str | None, query: str, since: str | None, limit: int, as_json: bool,
                **options: str | None) -> None:
    """Newest guardrail events first."""
    q = _queries(ctx, store)
    page = q.list(_filter(query, since, options), limit=limit)
    if as_json:
        for row in rows_of(page.rows):
            print_json(row)
        return
    if not page.rows.height:
        click.echo("no guardrail events match", err=True)
        return
    _print_events(page.rows.to_dicts())


def _print_events(rows: list[dict[str, Any]]) -> None:
    """A table that stays readable in 80 columns: the excerpt wraps, the rest does not."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from console.text import clean

    t = Table(box=None, pad_edge=False)
    for name in ("time (UTC)", "detector", "severity", "action", "user", "FP"):
        t.add_column(name, no_wrap=True)
    t.add_column("excerpt", ratio=1, overflow="fold")
    for r in rows:
        cells = [r["time"].strftime("%m-%d %H:%M:%S"), r["detector"], r["severity"], r["action"], r["user_id"] or "-",
                 "FP" if r["false_positive"] else "", r["excerpt"] or ""]
        t.add_row(*(Text(clean(c, 400, one_line=True)) for c in cells))  # stored text is never markup
    Console().print(t)


@guardrails.command("export")
@_filter_options
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl", "json"]), default="jsonl", show_default=True,
              help="CSV (details stay a JSON string), JSON lines, or one JSON array.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default stdout).")
@click.pass_context
def export_events(ctx: click.Context, store: str | None, query: str, since: str | None, fmt: str,
                  output: Path | None, **options: str | None) -> None:
    """Every matching event, newest first, with its false-positive mark."""
    from console.export import write_rows

    q = _queries(ctx, store)
    rows = q.all(_filter(query, since, options))
    if output is not None:
        n = write_rows(rows, output, fmt)
        click.echo(f"wrote {n} events to {output}", err=True)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"events.{fmt}"
        write_rows(rows, path, fmt)
        with open(path, "rb") as f:
            while chunk := f.read(1 << 16):
                sys.stdout.buffer.write(chunk)
    sys.stdout.flush()
