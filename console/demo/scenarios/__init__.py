"""One module per demo service; each ``build(world, job)`` returns finished traces
placed at ``job.start_ns`` (later turns of a session follow it)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timezone

from console.demo.corpus.people import ANALYSTS, Customer, customers
from console.demo.prompts import DemoPrompt, load_prompts
from console.demo.spans import NS

BETA_SHARE = 0.15  # customers in the beta cohort get the "beta" tag


@dataclass
class Job:
    kind: str  # support, rag, sql, chat, gateway, triage
    start_ns: int
    turns: int = 1
    feature: str | None = None  # a featured variant (runaway, card, injection, ...)
    env: str = "prod"
    pace: float = 1.0  # below 1, long featured traces are compressed to fit a short history window

    @property
    def when(self) -> datetime:
        return datetime.fromtimestamp(self.start_ns / NS, tz=timezone.utc)


@dataclass
class World:
    """What every scenario draws from: the seeded randomness, the prompts and the people."""

    rng: random.Random
    prompts: dict[str, DemoPrompt] = field(default_factory=load_prompts)
    people: list[Customer] = field(default_factory=list)
    beta: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not self.people:
            self.people = customers(self.rng, 90)
            self.beta = frozenset(c.user_id for c in self.people if self.rng.random() < BETA_SHARE)
        # a few heavy users and a long tail, as in real traffic
        self._weights = [1.0 / (i + 1) ** 0.8 for i in range(len(self.people))]

    def customer(self) -> Customer:
        return self.rng.choices(self.people, weights=self._weights)[0]

    def analyst(self) -> str:
        return self.rng.choice(ANALYSTS)

    def session_id(self, prefix: str = "sess") -> str:
        return f"{prefix}_{self.rng.getrandbits(64):016x}"

    def tags(self, job: Job, user_id: str | None, *extra: str) -> list[str]:
        tags = [job.env]
        if user_id in self.beta:
            tags.append("beta")
        tags.extend(t for t in extra if t and t not in tags)
        return tags


def ms(x: float) -> int:
    return int(x * 1_000_000)


def pick(rng: random.Random, weighted: tuple[tuple[object, float], ...]) -> object:
    items, weights = zip(*weighted)
    return rng.choices(items, weights=weights)[0]
