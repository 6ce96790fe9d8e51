"""A tiny span model: what the scenarios build and ``otlp`` encodes.

Scenarios build a trace from time 0 (nanoseconds) and the schedule shifts it to
its place in the history, so a scenario never needs to know when it happens.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

INTERNAL, SERVER, CLIENT = 1, 2, 3  # OTLP SpanKind
UNSET, OK, ERROR = 0, 1, 2  # OTLP StatusCode
NS = 1_000_000_000


def seconds(s: float) -> int:
    return int(s * NS)


def random_id(rng: random.Random, n: int) -> bytes:
    """n random bytes, never all zero (an all-zero id is invalid in OTLP)."""
    while True:
        b = rng.getrandbits(8 * n).to_bytes(n, "big")
        if any(b):
            return b


@dataclass(frozen=True)
class Service:
    """One resource: a service in one environment, instrumented by one library."""

    name: str
    version: str
    env: str = "prod"
    scope: str = "demo"
    scope_version: str = ""
    env_key: str = "deployment.environment"
    sdk_language: str = "python"

    def resource_attrs(self) -> dict[str, Any]:
        return {
            "service.name": self.name,
            "service.version": self.version,
            self.env_key: self.env,
            "telemetry.sdk.name": "opentelemetry",
            "telemetry.sdk.language": self.sdk_language,
            "telemetry.sdk.version": "1.45.2",
            "llmops.demo": True,
        }

    def in_env(self, env: str, version: str | None = None) -> "Service":
        return Service(self.name, version or self.version, env, self.scope, self.scope_version, self.env_key,
                       self.sdk_language)


@dataclass
class Event:
    name: str
    time_ns: int
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class SpanShape:
    """What a dialect encoder says about one span: everything but ids and times."""

    name: str
    kind: int = INTERNAL
    attrs: dict[str, Any] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)  # times relative to the span's start
    status: int = UNSET
    message: str = ""
    time_attrs: dict[str, int] = field(default_factory=dict)  # key -> ns after the span's start, as ISO 8601


@dataclass
class Span:
    service: Service
    trace_id: bytes
    span_id: bytes
    parent_id: bytes | None
    name: str
    kind: int
    start_ns: int
    end_ns: int
    attrs: dict[str, Any] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    status: int = UNSET
    message: str = ""
    time_attrs: dict[str, int] = field(default_factory=dict)


class Trace:
    """The spans of one trace, built relative to time 0, then placed with ``shift``."""

    def __init__(self, rng: random.Random, scenario: str):
        self.rng = rng
        self.scenario = scenario
        self.trace_id = random_id(rng, 16)
        self.spans: list[Span] = []
        self.features: set[str] = set()  # what this trace shows: runaway, injection, pii, ...

    def add(self, service: Service, shape: SpanShape, start_ns: int, end_ns: int,
            parent: Span | None = None) -> Span:
        span = Span(service, self.trace_id, random_id(self.rng, 8), parent.span_id if parent else None,
                    shape.name, shape.kind, start_ns, max(end_ns, start_ns), dict(shape.attrs),
                    [Event(e.name, start_ns + e.time_ns, e.attrs) for e in shape.events], shape.status,
                    shape.message, dict(shape.time_attrs))
        self.spans.append(span)
        return span

    @property
    def start_ns(self) -> int:
        return min(s.start_ns for s in self.spans)

    @property
    def end_ns(self) -> int:
        return max(s.end_ns for s in self.spans)

    @property
    def duration_ns(self) -> int:
        return self.end_ns - self.start_ns

    def shift_to(self, start_ns: int) -> "Trace":
        delta = start_ns - self.start_ns
        for s in self.spans:
            s.start_ns += delta
            s.end_ns += delta
            for e in s.events:
                e.time_ns += delta
        return self

    @property
    def trace_id_hex(self) -> str:
        return self.trace_id.hex()
