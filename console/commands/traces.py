"""``llmops-console traces list|show``."""

from __future__ import annotations

import sys

import click

from console.commands.output import print_json, print_table, rows_of


def _queries(ctx: click.Context, store: str | None):  # type: ignore[no-untyped-def]
    from console.cli import settings_from
    from store.query import StoreReader
    from store.query.traces import TraceQueries

    s = settings_from(ctx, store=store)
    if not (s.store / "manifest.json").exists():
        raise click.ClickException(f"no store at {s.store} yet: run `llmops-console collect` and send traces")
    return TraceQueries(StoreReader(s.store), runaway_llm_calls=s.runaway_llm_calls)


@click.group()
def traces() -> None:
    """List and show traces from the store."""


@traces.command("list")
@click.option("--store", type=click.Path(file_okay=False), envvar="LLMOPS_STORE")
@click.option("-f", "--filter", "query", default="", help='Filter, e.g. \'model:gpt-4o* status:error since:1h "text"\'.')
@click.option("-n", "--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_context
def list_traces(ctx: click.Context, store: str | None, query: str, limit: int, as_json: bool) -> None:
    """Newest traces first."""
    from store.query.filters import FilterError, parse

    q = _queries(ctx, store)
    try:
        f = parse(query)
    except FilterError as e:
        raise click.UsageError(str(e)) from None
    page = q.list(f, limit=limit)
    if as_json:
        for row in rows_of(page.rows):
            print_json(row)
        return
    if not page.rows.height:
        click.echo("no traces match", err=True)
        return
    print_table(page.rows, ["start_time", "trace_id", "root_name", "service", "models", "span_count",
                            "total_tokens", "cost_usd", "latency_ms", "error_count"],
                ["time", "trace", "name", "service", "models", "spans", "tokens", "cost $", "latency ms", "errors"])


@traces.command("show")
@click.argument("trace_id")
@click.option("--store", type=click.Path(file_okay=False), envvar="LLMOPS_STORE")
@click.option("--json", "as_json", is_flag=True, help="The trace summary and all spans as one JSON object.")
@click.pass_context
def show_trace(ctx: click.Context, trace_id: str, store: str | None, as_json: bool) -> None:
    """One trace with all its spans."""
    q = _queries(ctx, store)
    summary = q.summary(trace_id.lower())
    if summary is None:
        raise click.ClickException(f"no trace {trace_id}")
    spans = q.spans(trace_id.lower())
    if as_json:
        print_json({"trace": summary, "spans": rows_of(spans)})
        return
    click.echo(f"trace {trace_id}  {summary['root_name'] or ''}  spans={summary['span_count']} "
               f"cost=${summary['cost_usd'] or 0:.6f}  latency={summary['latency_ms']:.0f}ms")
    print_table(spans, ["start_time", "span_id", "parent_id", "kind", "name", "model", "input_tokens",
                        "output_tokens", "cost_usd", "status"])
    sys.stdout.flush()
