"""``llmops-console demo``: fill a store with realistic synthetic traffic, sent
through the real collector, so the console has something to show."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command()
@click.option("--store", type=click.Path(file_okay=False), envvar="LLMOPS_STORE",
              help="Store directory (env LLMOPS_STORE; default: the user data dir).")
@click.option("--listen", envvar="LLMOPS_LISTEN",
              help="Collector address HOST:PORT (env LLMOPS_LISTEN; default 127.0.0.1:4318). A collector already "
                   "running there is used; otherwise the demo runs its own until it ends.")
@click.option("--traces", "n_traces", type=click.IntRange(1, 500_000), default=1500, show_default=True,
              help="How many traces of history to send.")
@click.option("--days", type=click.FloatRange(0.05, 90), default=7.0, show_default=True,
              help="Spread the history over the last DAYS days (busier today).")
@click.option("--live", is_flag=True, help="After the history, keep sending a few traces a second until Ctrl-C.")
@click.option("--seed", type=int, help="Make the traffic repeatable (default: a new seed, printed at the end).")
@click.option("--demo-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where to write the demo's prompt files (default: llmops-demo/ next to the store).")
@click.pass_context
def demo(ctx: click.Context, store: str | None, listen: str | None, n_traces: int, days: float, live: bool,
         seed: int | None, demo_dir: Path | None) -> None:
    """Fill the store with demo traffic: agents, RAG, SQL, chats and a gateway, over
    six trace dialects, with errors, PII, prompt injections and one runaway agent."""
    from console.cli import settings_from
    from console.demo import DemoError, DemoOptions, DemoReport, run_demo

    settings = settings_from(ctx, store=store, listen=listen)
    tty = sys.stderr.isatty()

    def ready(report: DemoReport) -> None:
        how = "started a collector on" if report.started_collector else "using the collector at"
        click.echo(f"demo: {how} {report.url}; store {report.store}; prompts in {report.prompts_dir}", err=True)
        if live:
            click.echo("demo: after the history, live traffic until Ctrl-C", err=True)

    def progress(sent: int) -> None:
        if tty:
            label = f"{sent:,}/{n_traces:,} traces" if sent <= n_traces else f"{sent - n_traces:,} live traces"
            click.echo(f"\rdemo: sent {label}   ", nl=False, err=True)

    options = DemoOptions(traces=n_traces, days=days, seed=seed, live=live, demo_dir=demo_dir)
    try:
        report = run_demo(settings, options, on_progress=progress, on_ready=ready)
    except DemoError as e:
        raise click.ClickException(str(e)) from None
    if tty:
        click.echo("", err=True)
    for line in report.lines():
        click.echo(line)
    if report.interrupted and not live:
        sys.exit(130)
