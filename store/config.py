"""Configuration: a TOML file in the user's config dir, overridden by ``LLMOPS_*``
environment variables, overridden by command-line flags.

Headless on purpose: the collector reads the same settings as the console.
Sections that belong to one subsystem (``pricing``, ``guardrails``, ``health``,
``budgets``, ``alerts``, ``keymap``) are passed to it as plain dicts and validated there.
"""

from __future__ import annotations

import os
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

APP = "llmops-console"
DEFAULT_LISTEN = "127.0.0.1:4318"


class ConfigError(ValueError):
    pass


def _home_dir(kind: str) -> Path:
    home = Path.home()
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / APP
    if os.name == "nt":
        base = os.environ.get("APPDATA" if kind == "config" else "LOCALAPPDATA") or str(home)
        return Path(base) / APP
    var, fallback = {"config": ("XDG_CONFIG_HOME", ".config"), "data": ("XDG_DATA_HOME", ".local/share")}[kind]
    return Path(os.environ.get(var) or home / fallback) / APP


def config_dir() -> Path:
    return _home_dir("config")


def data_dir() -> Path:
    return _home_dir("data")


def default_config_file() -> Path:
    return Path(os.environ.get("LLMOPS_CONFIG_FILE") or config_dir() / "config.toml")


def parse_listen(listen: str) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ConfigError(f"listen address {listen!r} must look like HOST:PORT, e.g. 127.0.0.1:4318")
    p = int(port)
    if not 0 <= p <= 65535:
        raise ConfigError(f"port {p} is out of range")
    return host.strip("[]"), p


@dataclass
class Settings:
    """Everything a command needs; see ``docs/configuration.md`` for every key."""

    store: Path = field(default_factory=lambda: data_dir() / "store")
    listen: str = DEFAULT_LISTEN
    token: str | None = None
    theme: str = "llmops-dark"
    prompts_dir: Path = Path("prompts")
    retention_days: int = 0
    workers: int = 2
    flush_interval: float = 0.5
    max_body_mb: int = 16
    langfuse_public_key: str | None = None
    langfuse_secret_key: str | None = None
    runaway_llm_calls: int = 25
    trace_budget_usd: float = 0.5  # traces costing more are flagged "over budget" in the list
    pricing: dict[str, Any] = field(default_factory=dict)
    guardrails: dict[str, Any] = field(default_factory=dict)
    health: dict[str, Any] = field(default_factory=dict)
    budgets: dict[str, Any] = field(default_factory=dict)
    alerts: dict[str, Any] = field(default_factory=dict)
    keymap: dict[str, str] = field(default_factory=dict)
    source: str = "defaults"

    @property
    def host_port(self) -> tuple[str, int]:
        return parse_listen(self.listen)

    @property
    def collector_url(self) -> str:
        host, port = self.host_port
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{port}"


# env var -> (setting, converter)
_ENV: dict[str, tuple[str, Any]] = {
    "LLMOPS_STORE": ("store", lambda v: Path(v).expanduser()),
    "LLMOPS_LISTEN": ("listen", str),
    "LLMOPS_TOKEN": ("token", str),
    "LLMOPS_THEME": ("theme", str),
    "LLMOPS_PROMPTS_DIR": ("prompts_dir", lambda v: Path(v).expanduser()),
    "LLMOPS_RETENTION_DAYS": ("retention_days", int),
    "LLMOPS_WORKERS": ("workers", int),
    "LLMOPS_FLUSH_INTERVAL": ("flush_interval", float),
    "LLMOPS_LANGFUSE_PUBLIC_KEY": ("langfuse_public_key", str),
    "LLMOPS_LANGFUSE_SECRET_KEY": ("langfuse_secret_key", str),
}

_SCALARS = {
    "store": lambda v: Path(str(v)).expanduser(),
    "listen": str,
    "token": str,
    "theme": str,
    "prompts_dir": lambda v: Path(str(v)).expanduser(),
    "retention_days": int,
    "runaway_llm_calls": int,
    "trace_budget_usd": float,
}
_SECTIONS = ("pricing", "guardrails", "health", "budgets", "alerts", "keymap")


def load(path: Path | None = None, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
    env = os.environ if env is None else env
    s = Settings()
    path = path or default_config_file()
    if path.exists():
        try:
            doc = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: {e}") from None
        _apply_file(s, doc, path)
        s.source = str(path)
    for var, (name, conv) in _ENV.items():
        if env.get(var):
            try:
                setattr(s, name, conv(env[var]))
            except ValueError as e:
                raise ConfigError(f"{var}={env[var]!r}: {e}") from None
    for name, value in overrides.items():
        if value is not None:
            setattr(s, name, value)
    parse_listen(s.listen)
    return s


def _apply_file(s: Settings, doc: dict[str, Any], path: Path) -> None:
    for key, value in doc.items():
        try:
            if key in _SCALARS:
                setattr(s, key, _SCALARS[key](value))
            elif key in _SECTIONS:
                if not isinstance(value, dict):
                    raise ConfigError(f"[{key}] must be a table")
                setattr(s, key, value)
            elif key == "collector":
                for k, v in value.items():
                    if k not in ("workers", "flush_interval", "max_body_mb"):
                        raise ConfigError(f"unknown key collector.{k}")
                    setattr(s, k, type(getattr(s, k))(v))
            elif key == "langfuse":
                s.langfuse_public_key = value.get("public_key") or None
                s.langfuse_secret_key = value.get("secret_key") or None
            else:
                raise ConfigError(f"unknown setting {key!r}")
        except (TypeError, ValueError) as e:
            raise ConfigError(f"{path}: {key}: {e}") from None
