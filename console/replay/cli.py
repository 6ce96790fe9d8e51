"""Click commands for the ``llmops-console`` CLI: ``keys`` (a group) and ``replay``.

Wire them into the main group with ``cli.add_command(keys)`` and
``cli.add_command(replay)``. Neither imports LiteLLM until a call is made.
"""

from __future__ import annotations

import sys

import click

from console.replay import keys as key_store


@click.group("keys")
def keys() -> None:
    """Provider API keys, kept in the system keyring (environment variables win)."""


@keys.command("set")
@click.argument("provider")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the key from standard input instead of prompting.")
def keys_set(provider: str, from_stdin: bool) -> None:
    """Store PROVIDER's API key (e.g. openai, anthropic, hosted_vllm)."""
    key = sys.stdin.readline().strip() if from_stdin else click.prompt(f"{provider} API key", hide_input=True).strip()
    if not key:
        raise click.ClickException("empty key; nothing stored")
    try:
        key_store.set_key(provider, key)
    except key_store.KeyStoreError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Stored the {provider} key in the keyring ({key_store.backend_name()}).")
    if warning := key_store.backend_warning():
        click.echo(f"warning: {warning}", err=True)
    if key_store.resolve_key(provider).source == "env":
        click.echo(f"note: {key_store.env_var_for(provider)} is set and takes precedence over the stored key.", err=True)


@keys.command("get")
@click.argument("provider")
@click.option("--show", is_flag=True, help="Print the whole key, not a masked form.")
def keys_get(provider: str, show: bool) -> None:
    """Say where PROVIDER's key comes from (masked unless --show)."""
    lookup = key_store.resolve_key(provider)
    if lookup.key is None:
        raise click.ClickException(key_store.missing_key_message(provider, lookup))
    where = lookup.env_var if lookup.source == "env" else "keyring"
    click.echo(f"{provider}: {lookup.key if show else key_store.mask(lookup.key)} (from {where})")


@keys.command("delete")
@click.argument("provider")
def keys_delete(provider: str) -> None:
    """Remove PROVIDER's key from the keyring."""
    try:
        deleted = key_store.delete_key(provider)
    except key_store.KeyStoreError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Deleted the {provider} key." if deleted else f"No stored key for {provider}.")


def _configured_pricing_and_token() -> tuple[object | None, str | None]:
    """The user's price overrides and collector token from the config file, when it loads.
    A config problem is not a reason to fail a CI run: it falls back to the bundled prices."""
    try:
        from store.config import load
        from store.pricing import PricingConfig

        settings = load()
        return PricingConfig.from_dict(settings.pricing).pricer(), settings.token
    except Exception as exc:
        click.echo(f"note: using default prices ({type(exc).__name__}: {exc})", err=True)
        return None, None


def _fraction(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    if value is not None and not 0 <= value <= 1:
        raise click.BadParameter("must be between 0 and 1")
    return value


@click.command("replay")
@click.option("--prompt", "prompt_path", required=True, type=click.Path(dir_okay=False), help="The prompt YAML file under test.")
@click.option("--dataset", "dataset_path", required=True, type=click.Path(dir_okay=False), help="JSONL of variables (and expected outputs) or trace ids.")
@click.option("--judge", "judge_model", help="Judge model (LiteLLM name, e.g. openai/gpt-4o-mini); no judging without it.")
@click.option("--rubric", help="What the judge scores against (default: a generic correctness rubric).")
@click.option("--fail-under", type=float, callback=_fraction, help="Fail when the pass rate (or mean judge score) is below this, 0..1.")
@click.option("--baseline", help='Compare with a baseline: "previous" (the last committed version), a version hash or a git revision.')
@click.option("--tolerance", type=float, default=0.0, show_default=True, callback=_fraction, help="How much worse than the baseline still passes.")
@click.option("--model", help="Call this model instead of the prompt's.")
@click.option("--api-base", help="An OpenAI-compatible endpoint for the calls, e.g. http://127.0.0.1:8000/v1.")
@click.option("--judge-api-base", help="Endpoint for the judge model (default: --api-base).")
@click.option("--concurrency", type=click.IntRange(1, 64), default=4, show_default=True, help="Calls in flight at once.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), help="Write a JSON report here.")
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False), help="Write a JUnit XML report here.")
@click.option("--collector", "collector_url", help="Also send the replays to a collector (OTLP/HTTP traces URL).")
@click.option("--store", "store_dir", type=click.Path(file_okay=False), envvar="LLMOPS_STORE", help="The trace store, for dataset rows that name a trace_id.")
def replay(
    prompt_path: str,
    dataset_path: str,
    judge_model: str | None,
    rubric: str | None,
    fail_under: float | None,
    baseline: str | None,
    tolerance: float,
    model: str | None,
    api_base: str | None,
    judge_api_base: str | None,
    concurrency: int,
    report_path: str | None,
    junit_path: str | None,
    collector_url: str | None,
    store_dir: str | None,
) -> None:
    """Replay a prompt over a dataset and gate it: exit 0 pass, 1 gate failed, 2 could not run."""
    from console.replay.ci import run_ci

    pricer, token = _configured_pricing_and_token()
    span_loader = None
    if store_dir:
        from console.replay.dataset import store_span_loader

        span_loader = store_span_loader(store_dir)

    code = run_ci(
        prompt_path,
        dataset_path,
        judge_model,
        fail_under,
        report_path,
        junit_path,
        baseline,
        model=model,
        api_base=api_base,
        judge_api_base=judge_api_base or api_base,
        concurrency=concurrency,
        rubric=rubric,
        tolerance=tolerance,
        collector_url=collector_url,
        collector_token=token,
        span_loader=span_loader,
        pricer=pricer,
        echo=click.echo,
    )
    sys.exit(code)
