"""``llmops-console export costs``: the costs pane's view as CSV, JSON or Parquet."""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

import click

FORMATS = ("csv", "json", "jsonl", "parquet")


@click.group()
def export() -> None:
    """Export views to files people open (columns in docs/costs.md)."""


@export.command("costs")
@click.option("--store", type=click.Path(file_okay=False), envvar="LLMOPS_STORE")
@click.option("--since", default="7d", show_default=True, help="How far back: 7d, 24h, or a date (2026-11-01).")
@click.option("--until", default=None, help="Up to when (default: now).")
@click.option("--by", default="model", show_default=True,
              help="Group by, comma-separated: model, provider, service, user, session, tag, prompt, trace, "
                   "source, attr:<key>; or 'none'.")
@click.option("--bucket", type=click.Choice(["hour", "day", "week"]), default="day", show_default=True)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="File to write (default: stdout).")
@click.pass_context
def export_costs(ctx: click.Context, store: str | None, since: str, until: str | None, by: str, bucket: str,
                 fmt: str, output: str | None) -> None:
    """Spend per time bucket and group: the numbers the costs pane shows."""
    from console.cli import settings_from
    from console.services.costs import CostsService
    from store.query.costs import CostQueryError
    from store.query.filters import FilterError

    s = settings_from(ctx, store=store)
    if not (s.store / "manifest.json").exists():
        raise click.ClickException(f"no store at {s.store}")
    dims = tuple(d.strip() for d in by.split(",") if d.strip() and d.strip() != "none")
    service = CostsService(s, now=time.time, rollup_files=True)
    try:
        report = service.explore(service.query_between(since, until, bucket, dims), ordered=True)
    except (CostQueryError, FilterError) as e:
        raise click.UsageError(str(e)) from None
    if service.pricing_error:
        click.echo(f"warning: {service.pricing_error}; priced with LiteLLM's map only", err=True)
    if output:
        n = service.export(report, Path(output), fmt)
        click.echo(f"wrote {n} rows to {output}", err=True)
        return
    with tempfile.TemporaryDirectory() as tmp:  # the same writer as files, then to stdout
        path = Path(tmp) / f"costs.{fmt}"
        service.export(report, path, fmt)
        with open(path, "rb") as f:
            shutil.copyfileobj(f, sys.stdout.buffer)
        sys.stdout.buffer.flush()
