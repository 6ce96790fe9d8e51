"""``llmops-console costs reprice``: recompute stored costs after a price change."""

from __future__ import annotations

import time

import click

from console.commands.output import print_json


@click.group()
def costs() -> None:
    """Cost maintenance (the explorer is the costs pane; exports are `export costs`)."""


@costs.command("reprice")
@click.option("--store", type=click.Path(file_okay=False), envvar="LLMOPS_STORE")
@click.option("--since", required=True, help="How far back: 30d, 12h, or a date such as 2026-11-01.")
@click.option("--until", default=None, help="Up to when (default: now); same forms as --since.")
@click.option("--dry-run", is_flag=True, help="Say what would change; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="The report as one JSON object.")
@click.pass_context
def reprice_command(ctx: click.Context, store: str | None, since: str, until: str | None, dry_run: bool,
                    as_json: bool) -> None:
    """Reprice the stored spans of a range with the current [pricing] config, without
    re-ingesting: the affected day segments are rewritten through the store's single
    writer (the running collector's, if one holds the store). Reported costs stay."""
    from console.cli import settings_from
    from console.services.costs import parse_time, reprice
    from store.pricing.validation import ConfigError
    from store.query.filters import FilterError

    s = settings_from(ctx, store=store)
    if not (s.store / "manifest.json").exists():
        raise click.ClickException(f"no store at {s.store}")
    now = time.time()
    try:
        since_us = parse_time(since, now)
        until_us = parse_time(until, now) if until else int(now * 1_000_000)
    except FilterError as e:
        raise click.UsageError(str(e)) from None
    if until_us <= since_us:
        raise click.UsageError("--until must be after --since")
    try:
        outcome = reprice(s, since_us, until_us, dry_run)
    except ConfigError as e:
        raise click.UsageError(f"[pricing] {e}") from None
    except RuntimeError as e:
        raise click.ClickException(str(e)) from None
    report = outcome.report
    if as_json:
        print_json({**report.to_json(), "via": outcome.via,
                    "collector_pricing_differs": outcome.collector_pricing_differs})
        return
    _print_report(report, outcome.via, outcome.collector_pricing_differs)


def _print_report(report, via: str, differs: bool) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    def day(us: int) -> str:
        return datetime.fromtimestamp(us / 1e6, UTC).strftime("%Y-%m-%d %H:%M")

    verb = "would change" if report.dry_run else "changed"
    click.echo(f"repriced {day(report.since_us)} .. {day(report.until_us)} UTC through {via}")
    click.echo(f"  priced spans checked: {report.spans:,}   {verb}: {report.changed:,}")
    if not report.changed:
        click.echo("  nothing to do: every stored cost already matches the current prices")
        return
    delta = report.cost_after - report.cost_before
    click.echo(f"  cost of those spans: ${report.cost_before:,.4f} -> ${report.cost_after:,.4f} "
               f"({'+' if delta >= 0 else '-'}${abs(delta):,.4f})")
    click.echo("")
    click.echo(f"  {'model':<40} {'source':<24} {'spans':>8} {'before':>12} {'after':>12}")
    for m in report.models[:30]:
        source = f"{m.source_before or '-'} -> {m.source_after or '-'}"
        before = "?" if m.cost_before is None else f"${m.cost_before:,.4f}"
        after = "?" if m.cost_after is None else f"${m.cost_after:,.4f}"
        click.echo(f"  {(m.model or '-')[:40]:<40} {source:<24} {m.spans:>8,} {before:>12} {after:>12}")
    if len(report.models) > 30:
        click.echo(f"  … {len(report.models) - 30} more (use --json)")
    days = [d for d in report.days if d.changed]
    click.echo("")
    click.echo(f"  {len(days)} day(s) {'would be' if report.dry_run else ''} rewritten: "
               + ", ".join(d.day for d in days[:10]) + (" …" if len(days) > 10 else ""))
    if report.correction_parts:
        click.echo(f"  {report.correction_parts} trace(s) got a correction part (their part was in an older day)")
    if differs:
        click.echo("  note: the running collector still prices new spans with the config it started with; "
                   "restart it to use the new prices for new traffic")
