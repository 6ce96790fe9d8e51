"""``llmops-console``: with no command it opens the console; the commands below are a
contract for users' scripts (``--store`` everywhere, ``collect --listen``, ``--json``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from store.config import ConfigError, Settings, load

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

STORE_HELP = "Store directory (env LLMOPS_STORE; default: the user data dir)."
LISTEN_HELP = "Collector address HOST:PORT (env LLMOPS_LISTEN; default 127.0.0.1:4318)."


def settings_from(ctx: click.Context, **overrides: Any) -> Settings:
    obj = ctx.find_root().obj or {}
    store = overrides.pop("store", None) or obj.get("store")
    listen = overrides.pop("listen", None) or obj.get("listen")
    try:
        return load(store=Path(store).expanduser() if store else None, listen=listen, **overrides)
    except ConfigError as e:
        raise click.UsageError(str(e)) from None


def store_option(f: Any) -> Any:
    return click.option("--store", type=click.Path(file_okay=False), envvar="LLMOPS_STORE", help=STORE_HELP)(f)


# Each command lives in console/commands/<name>.py and exposes one click command of that
# name; its module is imported when the command is used (or listed), so a one-shot
# command does not pay for importing the others (a third of a second).
COMMANDS = ("traces", "demo", "costs", "export", "guardrails", "health", "keys", "replay")


class LazyCommands(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *(n for n in COMMANDS if self._load(n) is not None)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, cmd_name) or (self._load(cmd_name) if cmd_name in COMMANDS else None)

    @staticmethod
    def _load(name: str) -> click.Command | None:
        import importlib

        try:
            mod = importlib.import_module(f"console.commands.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"console.commands.{name}":
                raise
            return None  # a command whose module is not there yet
        return getattr(mod, name)


@click.group(cls=LazyCommands, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@store_option
@click.option("--listen", envvar="LLMOPS_LISTEN", help=LISTEN_HELP)
@click.option("--theme", help="Theme name (llmops-dark, llmops-light).")
@click.version_option(package_name="llmops-console")
@click.pass_context
def main(ctx: click.Context, store: str | None, listen: str | None, theme: str | None) -> None:
    """The operations console for LLM applications: traces, prompts, cost, guardrails
    and GPU/vLLM health, in your terminal."""
    ctx.ensure_object(dict)
    ctx.obj.update(store=store, listen=listen)
    if ctx.invoked_subcommand is None:
        from console.launch import launch

        settings = settings_from(ctx, theme=theme)
        sys.exit(launch(settings))


@main.command()
@store_option
@click.option("--listen", envvar="LLMOPS_LISTEN", help=LISTEN_HELP)
@click.option("--workers", type=int, help="Decoder processes (default 2).")
@click.pass_context
def collect(ctx: click.Context, store: str | None, listen: str | None, workers: int | None) -> None:
    """Run the collector in the foreground: OTLP/HTTP in, the store out."""
    from store.collector.__main__ import run_collector

    s = settings_from(ctx, store=store, listen=listen)
    sys.exit(run_collector(str(s.store), s.listen, workers))


