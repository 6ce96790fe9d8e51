"""``llmops-console health --once [--json]``: scrape the configured vLLM endpoints
and GPUs once, for scripts and CI. Exit codes: 0 healthy, 1 unhealthy (an
endpoint down or a health rule active), 3 not ready (an endpoint warming up or
draining), 2 usage or configuration error. See ``store.health.report``."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import click

from console.commands.output import print_json

EPILOG = """\b
Exit codes:
  0  healthy: no endpoint down, no rule active (no GPU is fine)
  1  unhealthy: an endpoint is down or a health rule is active
  3  not ready: an endpoint is warming up or draining
  2  usage or configuration error
"""


@click.command(epilog=EPILOG)
@click.option("--store", type=click.Path(file_okay=False), envvar="LLMOPS_STORE",
              help="Store directory (env LLMOPS_STORE); only its config is read.")
@click.option("--once", is_flag=True, default=True, help="Scrape once and exit (the only mode; the pane is live).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.option("--endpoint", "endpoints", multiple=True, metavar="URL",
              help="A vLLM base URL instead of [health] vllm (repeat for several).")
@click.option("--gpu", help='GPU source instead of [health] gpu: nvml, none, fake, nvidia-smi or "dcgm:<url>".')
@click.option("--rates", type=float, default=0.0, metavar="SECONDS",
              help="Scrape again after SECONDS to fill rates and p50/p90/p99 (default: gauges only).")
@click.option("--timeout", type=float, help="Per-request timeout in seconds (default [health] timeout, 2).")
@click.pass_context
def health(ctx: click.Context, store: str | None, once: bool, as_json: bool, endpoints: tuple[str, ...],
           gpu: str | None, rates: float, timeout: float | None) -> None:
    """Check GPU and vLLM server health once and exit with its verdict."""
    from console.cli import settings_from
    from store.health.config import HealthConfig, HealthConfigError
    from store.health.report import check

    settings = settings_from(ctx, store=store)
    section = dict(settings.health or {})
    if endpoints:
        section["vllm"] = list(endpoints)
    if gpu is not None:
        section["gpu"] = gpu
    if timeout is not None:
        section["timeout"] = timeout
    if rates < 0:
        raise click.UsageError("--rates must be 0 or more seconds")
    try:
        config = HealthConfig.from_dict(section)
    except HealthConfigError as e:
        raise click.UsageError(str(e)) from None
    if not config.vllm and config.gpu == "none":
        raise click.UsageError('nothing to check: no [health] vllm endpoints (or --endpoint) and gpu = "none"')
    doc = asyncio.run(check(config, rates))
    if as_json:
        print_json(doc)
    else:
        _print_human(doc)
    sys.exit(doc["exit_code"])


def _print_human(doc: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.text import Text

    from console.widgets.health_format import number, pct, seconds

    out = Console(highlight=False)
    for e in doc["endpoints"]:
        line = Text(f"{e['state']:<9}", style="bold")
        line.append(e["url"])
        total = e.get("total") or {}
        if total:
            line.append(f"  KV {pct(total.get('kv_cache_usage'))} · running {number(total.get('running'))}"
                        f" · waiting {number(total.get('waiting'))}")
            if total.get("generation_tokens_per_s") is not None:
                line.append(f" · {number(total['generation_tokens_per_s'])} tok/s")
            ttft = (total.get("latency_s") or {}).get("ttft") or {}
            if ttft.get("p99") is not None:
                line.append(f" · TTFT p50 {seconds(ttft.get('p50'))} p99 {seconds(ttft['p99'])}")
        if e.get("error"):
            line.append(f"  ({e['error']})")
        out.print(line)
    gpu = doc.get("gpu")
    if gpu is not None:
        if not gpu["available"]:
            out.print(Text(f"{'no GPU':<9}{gpu.get('reason') or 'unavailable'}"))
        for d in gpu["devices"]:
            out.print(Text(f"{'gpu ' + str(d['index']):<9}{d.get('name') or '?'}  util {number(d.get('util_percent'))}%"
                           f" · mem {pct(d.get('mem_fraction'))} · {number(d.get('temperature_c'))} °C"
                           f" · {number(d.get('power_w'))}/{number(d.get('power_limit_w'))} W"))
    for c in doc["conditions"]:
        if c["active"]:
            out.print(Text(f"{c['severity'].upper():<9}{c['message']}"))
    out.print(Text(f"{doc['status']} (exit {doc['exit_code']})", style="bold"))
