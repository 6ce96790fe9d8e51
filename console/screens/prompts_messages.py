"""Facts the prompts pane's workers report back to it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl
from textual.message import Message


@dataclass
class OverviewLoaded(Message):
    overview: Any  # console.services.prompts.PromptOverview


@dataclass
class FingerprintsLoaded(Message):
    stats: pl.DataFrame
    spans_looked_at: int = 0


@dataclass
class PromptOpened(Message):
    """A prompt file read for the editor (``text`` None: no such prompt)."""

    prompt_id: str
    text: str | None
    version: str | None
    path: str | None
    draft: Any = None  # store.prompts.Draft
    prompt: Any = None  # the file as a Prompt
    trace_id: str | None = None


@dataclass
class VersionsLoaded(Message):
    prompt_id: str
    versions: list[Any]


@dataclass
class ReplaySourceLoaded(Message):
    trace_id: str
    span: dict[str, Any] | None
    request: Any = None  # RecordedRequest
    prompt_id: str | None = None  # the prompt the span was made with, by prompt.id or fingerprint
    made_with: Any = None  # that version, as a Prompt, when the registry has it
    variables: dict[str, Any] | None = None
    linked_by: str | None = None  # "prompt.id", "fingerprint" or None
    run_after: bool = False
    error: str | None = None


@dataclass
class ReplayTokens(Message):
    generation: int
    label: str


@dataclass
class ReplayFinished(Message):
    generation: int
    label: str
    result: Any  # ReplayResult


@dataclass
class BatchPrepared(Message):
    generation: int
    items: list[Any]
    runner: Any
    variant_a: Any
    variant_b: Any
    estimate: Any
    source: str
    notes: list[str] = field(default_factory=list)
    feed: Any = None  # console.services.replay.BatchFeed


@dataclass
class BatchFinished(Message):
    generation: int
    report: Any
    error: str | None = None


@dataclass
class DraftSaved(Message):
    prompt_id: str
    text: str
    saved_at: Any


@dataclass
class PromptSaved(Message):
    prompt: Any
    old_id: str | None


@dataclass
class PaneFailed(Message):
    what: str
    error: str
