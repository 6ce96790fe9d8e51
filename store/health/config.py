"""The ``[health]`` settings section, checked, and the GPU source it names.

```toml
[health]
vllm = ["http://127.0.0.1:8000", "gpu-box:8001"]   # base URLs (scheme optional)
interval = 10          # seconds between the collector's scrapes (stored history)
pane_interval = 1      # seconds between the health pane's own scrapes while it is open
timeout = 2            # per request, seconds
gpu = "nvml"           # nvml | none | fake | nvidia-smi | dcgm:<url>
gpu_host = "gpu-box"   # optional: name the GPUs of a remote nvidia-smi/dcgm host
gpu_command = ["ssh", "gpu-box", "nvidia-smi"]   # optional argv for gpu = "nvidia-smi"
fake_gpus = 2          # how many GPUs gpu = "fake" pretends to have
quantile_window = 300  # seconds of traffic the p50/p90/p99 in the pane are over
rate_window = 10       # seconds the pane's rates (tokens/s, requests/s) are over

[health.thresholds]    # any field of store.health.rules.HealthThresholds
kv_cache_red = 0.9
gpu_temp_red_c = 85
```

``gpu = "nvml"`` on a machine without an NVIDIA driver is not an error: the
source reports "unavailable" with the reason, and everything else works.
``dcgm:<url>`` names a dcgm-exporter ``/metrics`` URL; its GPUs are stored under
``gpu:<host>:<index>`` where host is ``gpu_host`` or, for a non-loopback URL, the
URL's host.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

from store.health.endpoint import normalize_base_url
from store.health.gpu import DcgmExporterSource, FakeGpuSource, GpuSource, NvidiaSmiSource, NvmlSource
from store.health.rules import HealthThresholds

__all__ = ["HealthConfig", "HealthConfigError", "LOOPBACK_HOSTS"]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "0.0.0.0", "[::1]"})
_GPU_KINDS = ("nvml", "none", "fake", "nvidia-smi")
_KEYS = {
    "vllm", "interval", "pane_interval", "timeout", "gpu", "gpu_host", "gpu_command", "fake_gpus",
    "quantile_window", "rate_window", "thresholds",
}


class HealthConfigError(ValueError):
    """A ``[health]`` value that cannot be used; the message names the key."""


@dataclass(frozen=True)
class HealthConfig:
    vllm: tuple[str, ...] = ()
    interval: float = 10.0
    pane_interval: float = 1.0
    timeout: float = 2.0
    gpu: str = "nvml"
    gpu_host: str | None = None
    gpu_command: tuple[str, ...] = ("nvidia-smi",)
    fake_gpus: int = 2
    quantile_window: float = 300.0
    rate_window: float = 10.0
    thresholds: HealthThresholds = field(default_factory=HealthThresholds)

    @classmethod
    def from_dict(cls, section: Mapping[str, Any] | None) -> "HealthConfig":
        """Check the ``[health]`` table; raises ``HealthConfigError`` on a bad key or value."""
        section = dict(section or {})
        unknown = sorted(set(section) - _KEYS)
        if unknown:
            raise HealthConfigError(f"unknown key health.{unknown[0]} (known: {', '.join(sorted(_KEYS))})")
        vllm = section.get("vllm", [])
        if isinstance(vllm, str):
            vllm = [vllm]
        if not isinstance(vllm, (list, tuple)) or not all(isinstance(u, str) and u.strip() for u in vllm):
            raise HealthConfigError('health.vllm must be a list of URLs, e.g. ["http://127.0.0.1:8000"]')
        urls = tuple(dict.fromkeys(normalize_base_url(u) for u in vllm))  # keep order, drop repeats
        values: dict[str, Any] = {"vllm": urls}
        for key in ("interval", "pane_interval", "timeout", "quantile_window", "rate_window"):
            if key in section:
                values[key] = _positive(key, section[key])
        gpu = section.get("gpu", "nvml")
        if not isinstance(gpu, str) or not (gpu in _GPU_KINDS or (gpu.startswith("dcgm:") and len(gpu) > 5)):
            raise HealthConfigError(f'health.gpu must be one of {", ".join(_GPU_KINDS)} or "dcgm:<url>", got {gpu!r}')
        values["gpu"] = gpu
        if section.get("gpu_host") is not None:
            values["gpu_host"] = str(section["gpu_host"])
        if "gpu_command" in section:
            command = section["gpu_command"]
            if isinstance(command, str):
                command = command.split()
            if not isinstance(command, (list, tuple)) or not command or not all(isinstance(c, str) for c in command):
                raise HealthConfigError('health.gpu_command must be a list, e.g. ["ssh", "gpu-box", "nvidia-smi"]')
            values["gpu_command"] = tuple(command)
        if "fake_gpus" in section:
            count = section["fake_gpus"]
            if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= 64:
                raise HealthConfigError("health.fake_gpus must be a whole number from 0 to 64")
            values["fake_gpus"] = count
        values["thresholds"] = _thresholds(section.get("thresholds", {}))
        return cls(**values)

    @property
    def watches_anything(self) -> bool:
        return bool(self.vllm) or self.gpu != "none"

    def gpu_source(self, clock: Callable[[], datetime] | None = None) -> GpuSource | None:
        """A fresh source for the configured ``gpu`` (None for ``none``)."""
        kw: dict[str, Any] = {"clock": clock} if clock is not None else {}
        if self.gpu == "none":
            return None
        if self.gpu == "fake":
            return FakeGpuSource(self.fake_gpus, host=self.gpu_host, **kw)
        if self.gpu == "nvidia-smi":
            return NvidiaSmiSource(self.gpu_command, host=self.gpu_host, timeout=max(self.timeout, 5.0), **kw)
        if self.gpu.startswith("dcgm:"):
            url = self.gpu[len("dcgm:"):]
            return DcgmExporterSource(url, host=self.gpu_host or _remote_host(url), timeout=self.timeout, **kw)
        return NvmlSource(**kw)


def _positive(key: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise HealthConfigError(f"health.{key} must be a number of seconds, got {value!r}") from None
    if isinstance(value, bool) or not number > 0:
        raise HealthConfigError(f"health.{key} must be more than 0 seconds, got {value!r}")
    return number


def _thresholds(table: Any) -> HealthThresholds:
    if not isinstance(table, Mapping):
        raise HealthConfigError("[health.thresholds] must be a table")
    names = {f.name: f for f in dataclasses.fields(HealthThresholds)}
    values: dict[str, Any] = {}
    for key, value in table.items():
        spec = names.get(key)
        if spec is None:
            raise HealthConfigError(f"unknown key health.thresholds.{key} (known: {', '.join(names)})")
        cast = int if spec.type in (int, "int") else float
        try:
            if isinstance(value, bool):
                raise ValueError
            values[key] = cast(value)
        except (TypeError, ValueError):
            raise HealthConfigError(f"health.thresholds.{key} must be a number, got {value!r}") from None
    return HealthThresholds(**values)


def _remote_host(url: str) -> str | None:
    host = urlsplit(url if "://" in url else f"http://{url}").hostname
    return None if host is None or host in LOOPBACK_HOSTS else host
