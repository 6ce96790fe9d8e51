"""Prompt registry and prompt-in-traces queries on behalf of the prompts pane
(always called from a worker thread)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from store.prompts import Issue, Prompt, PromptMatcher, PromptRegistry, PromptVersion, TraceVersion
from store.query import prompts as queries
from store.query.filters import TraceFilter

MAX_BATCH_TRACES = 1000


@dataclass
class PromptOverview:
    """The prompts list: valid prompts, files with errors, and what each version served."""

    directory: Path
    prompts: list[Prompt]
    problems: dict[Path, list[Issue]]
    linked: pl.DataFrame  # store.query.prompts.STATS_COLUMNS
    versions: dict[str, list[PromptVersion]] = field(default_factory=dict)


class PromptsService:
    def __init__(self, settings: Any, store: Any):
        self.settings = settings
        self.store = store
        self.registry = PromptRegistry(Path(settings.prompts_dir).expanduser())

    @property
    def reader(self) -> Any:
        return self.store.reader

    def overview(self) -> PromptOverview:
        prompts = self.registry.list()
        try:
            linked = queries.linked_stats(self.reader)
        except Exception:  # an empty or unreadable store still lists the files
            linked = queries.empty_stats()
        versions = {}
        for p in prompts:
            seen = linked.filter((pl.col("prompt_id") == p.id) & (pl.col("prompt_version") != ""))
            trace_versions = [TraceVersion(r["prompt_version"], (), r["traces"])
                              for r in seen.iter_rows(named=True)]
            versions[p.id] = self.registry.history(p.id, trace_versions)
        return PromptOverview(self.registry.directory, prompts, self.registry.problems(), linked, versions)

    def fingerprint(self, limit: int = queries.FINGERPRINT_SPANS) -> pl.DataFrame:
        """Recent LLM spans without prompt.id, attributed by fingerprint (every git version counts)."""
        matcher = PromptMatcher(self.registry, include_history=True)
        if not len(matcher):
            return queries.empty_stats()
        return queries.fingerprint_stats(queries.unlinked_llm_spans(self.reader, limit), matcher)

    def versions(self, prompt_id: str) -> list[PromptVersion]:
        """Every version of a prompt: the file, git, and versions seen in traces (with examples)."""
        try:
            seen = queries.trace_versions(self.reader, prompt_id)
        except Exception:
            seen = []
        return self.registry.history(prompt_id, seen)

    def span(self, trace_id: str, span_id: str | None) -> dict[str, Any] | None:
        """The span to replay: ``span_id`` of the trace, or its first LLM span."""
        rows = self.store.traces.spans(trace_id).to_dicts()
        if span_id:
            return next((r for r in rows if r.get("span_id") == span_id), None)
        return next((r for r in rows if r.get("kind") == "llm"), None) or next((r for r in rows if r.get("model")), None)

    def match(self, messages: list[dict[str, Any]]) -> tuple[Prompt | None, dict[str, str] | None]:
        """The registry prompt (version included, from git history) that rendered these messages."""
        found = PromptMatcher(self.registry, include_history=True).match(messages)
        if found is None:
            return None, None
        try:
            return self.registry.get(found.prompt_id, found.version), found.variables
        except KeyError:
            return None, found.variables

    def latest_span_for(self, prompt_id: str) -> dict[str, Any] | None:
        spans = queries.prompt_spans(self.reader, prompt_id, limit=1)
        if not spans.height:
            return None
        row = spans.row(0, named=True)
        return self.span(row["trace_id"], row["span_id"])

    def spans_for_filter(self, f: TraceFilter, limit: int, prompt_id: str | None = None) -> list[dict[str, Any]]:
        """One LLM span per trace of the filtered view (newest first), up to ``limit`` traces."""
        limit = max(1, min(limit, MAX_BATCH_TRACES))
        page = self.store.traces.list(f, limit=limit)
        ids = page.rows["trace_id"].to_list()
        return queries.first_llm_spans(self.reader, ids, f.time_range, prompt_id=prompt_id)

    def span_loader(self):  # type: ignore[no-untyped-def]
        """For datasets whose rows name traces (console.replay.dataset.SpanLoader)."""
        return self.span
