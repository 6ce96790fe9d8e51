"""GPU-hour endpoints: which self-hosted server a span belongs to.

Kept apart from the allocation maths (``gpu_time``) so the ingest hot path can
match endpoints without importing polars.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from store.pricing.validation import fail, fields_of, get_number, get_str


def _glob(pattern: str | None) -> re.Pattern[str] | None:
    return re.compile(fnmatch.translate(pattern), re.IGNORECASE) if pattern else None


@dataclass(frozen=True)
class GpuEndpoint:
    """A model server paid by the GPU-hour.

    A span belongs to the endpoint when its ``server_address`` matches ``server``
    (``host:port``, glob allowed: ``10.0.0.*:8000``) or its model matches ``model``
    (glob: ``my-llama-*``); give at least one.
    """

    name: str
    usd_per_gpu_hour: float
    gpu_count: int = 1
    server: str | None = None
    model: str | None = None
    _server_re: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    _model_re: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.server is None and self.model is None:
            raise ValueError(f"GPU endpoint {self.name!r} needs a server or a model pattern")
        object.__setattr__(self, "_server_re", _glob(self.server))
        object.__setattr__(self, "_model_re", _glob(self.model))

    @property
    def usd_per_hour(self) -> float:
        return self.usd_per_gpu_hour * self.gpu_count

    def matches(self, server_address: str | None, model: str | None) -> bool:
        if self._server_re is not None and server_address and self._server_re.match(server_address):
            return True
        return self._model_re is not None and bool(model) and self._model_re.match(model) is not None

    @classmethod
    def from_dict(cls, data: Any, path: str) -> GpuEndpoint:
        """``{"name": "llama-box", "usd_per_gpu_hour": 2.5, "gpu_count": 4,
        "server": "10.0.0.5:8000", "model": "my-llama-*"}``"""
        data = fields_of(cls, data, path)
        gpu_count = get_number(data, "gpu_count", path, 1, minimum=1)
        if not isinstance(gpu_count, int):
            fail(f"{path}.gpu_count", f"expected a whole number, got {gpu_count!r}")
        server = get_str(data, "server", path, None)
        model = get_str(data, "model", path, None)
        if server is None and model is None:
            fail(path, "give a server (host:port) or a model pattern, or both")
        return cls(
            name=get_str(data, "name", path),
            usd_per_gpu_hour=float(get_number(data, "usd_per_gpu_hour", path, minimum=0)),
            gpu_count=gpu_count,
            server=server,
            model=model,
        )


def endpoint_for(endpoints: Iterable[GpuEndpoint], server_address: str | None, model: str | None) -> GpuEndpoint | None:
    """The first endpoint, in config order, that a span belongs to."""
    for endpoint in endpoints:
        if endpoint.matches(server_address, model):
            return endpoint
    return None
