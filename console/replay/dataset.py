"""Replay datasets: JSONL files, one case per line.

Two kinds of line, mixable in one file::

    {"trace_id": "4bf9...", "span_id": "00f0..."}                   # a recorded call (span_id optional)
    {"id": "inv-1", "variables": {"document": "..."}, "expected": "42.10", "checks": [{"type": "json"}]}

``variables`` (alias ``vars``/``inputs``) are rendered into the prompt under test;
``expected`` is the reference answer (for the judge and the ``similar``/``equals``
checks); ``checks`` add to the prompt's own. Blank lines and lines starting with
``#`` are skipped. A trace line needs a ``span_loader`` to fetch its span row
from the store: ``loader(trace_id, span_id | None) -> span row dict | None``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from store.prompts import MissingVariables, Prompt
from store.prompts.files import atomic_write

from console.replay.checks import Check, CheckSpecError, parse_checks
from console.replay.request import RecordedRequest

SpanLoader = Callable[[str, str | None], Mapping[str, Any] | None]


class DatasetError(ValueError):
    pass


@dataclass
class DatasetRow:
    id: str
    trace_id: str | None = None
    span_id: str | None = None
    variables: dict[str, Any] | None = None
    expected: str | None = None
    checks: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    line: int | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id}
        for key in ("trace_id", "span_id", "variables", "expected"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        if self.checks:
            data["checks"] = self.checks
        if self.metadata:
            data["metadata"] = self.metadata
        return data


def _row(data: Any, line: int) -> DatasetRow:
    if not isinstance(data, dict):
        raise DatasetError(f"line {line}: each line must be a JSON object")
    variables = next((data[k] for k in ("variables", "vars", "inputs") if k in data), None)
    if variables is not None and not isinstance(variables, dict):
        raise DatasetError(f"line {line}: variables must be an object")
    if variables is None and not data.get("trace_id"):
        raise DatasetError(f"line {line}: needs trace_id, or variables")
    checks = data.get("checks") or []
    try:
        parse_checks(checks)
    except CheckSpecError as exc:
        raise DatasetError(f"line {line}: {exc}") from exc
    expected = data.get("expected", data.get("expected_output"))
    return DatasetRow(
        id=str(data.get("id") or data.get("trace_id") or f"row-{line}"),
        trace_id=data.get("trace_id"),
        span_id=data.get("span_id"),
        variables=variables,
        expected=None if expected is None else expected if isinstance(expected, str) else json.dumps(expected),
        checks=list(checks),
        metadata=dict(data.get("metadata") or {}),
        line=line,
    )


def load_dataset(path: Path | str) -> list[DatasetRow]:
    """Read a JSONL dataset; :class:`DatasetError` names the first bad line."""
    path = Path(path)
    try:
        lines = path.read_text("utf-8").splitlines()
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc.strerror}") from exc
    rows = []
    for number, text in enumerate(lines, start=1):
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise DatasetError(f"{path.name} line {number}: not JSON ({exc.msg})") from exc
        rows.append(_row(data, number))
    if not rows:
        raise DatasetError(f"{path.name}: no rows")
    return rows


def save_dataset(path: Path | str, rows: Iterable[DatasetRow]) -> None:
    atomic_write(Path(path), "".join(json.dumps(r.to_json(), ensure_ascii=False) + "\n" for r in rows))


def rows_from_spans(span_rows: Iterable[Mapping[str, Any]]) -> list[DatasetRow]:
    """Dataset rows pointing at spans (e.g. a selection in the traces pane)."""
    return [DatasetRow(id=str(r.get("span_id") or r.get("trace_id")), trace_id=r.get("trace_id"), span_id=r.get("span_id")) for r in span_rows]


def store_span_loader(store_dir: Path | str) -> SpanLoader:
    """A span loader over a store folder: the row with ``span_id`` in the trace, or,
    without one, the trace's first LLM span (the first with a model)."""
    from store.query.reader import StoreReader
    from store.query.traces import TraceQueries

    queries = TraceQueries(StoreReader(store_dir))

    def load(trace_id: str, span_id: str | None) -> Mapping[str, Any] | None:
        rows = queries.spans(trace_id).to_dicts()
        if span_id:
            return next((r for r in rows if r.get("span_id") == span_id), None)
        return next((r for r in rows if r.get("kind") == "llm"), None) or next((r for r in rows if r.get("model")), None)

    return load


@dataclass
class Case:
    """A dataset row made ready to replay."""

    row: DatasetRow
    request: RecordedRequest
    checks: list[Check]


def build_cases(
    rows: Iterable[DatasetRow],
    *,
    prompt: Prompt | None = None,
    model: str | None = None,
    span_loader: SpanLoader | None = None,
    extra_checks: Iterable[Mapping[str, Any]] = (),
) -> list[Case]:
    """Requests for the rows: variables are rendered into ``prompt``; trace rows are
    loaded with ``span_loader``. Raises :class:`DatasetError` for a row that cannot be made."""
    common = list(extra_checks)
    cases = []
    for row in rows:
        if row.variables is not None:
            if prompt is None:
                raise DatasetError(f"row {row.id}: variables need a prompt to render")
            try:
                request = RecordedRequest.from_prompt(prompt, row.variables, model=model)
            except MissingVariables as exc:
                raise DatasetError(f"row {row.id}: {exc}") from exc
        else:
            if span_loader is None:
                raise DatasetError(f"row {row.id}: trace rows need the trace store (no span loader given)")
            span = span_loader(row.trace_id or "", row.span_id)
            if span is None:
                raise DatasetError(f"row {row.id}: no LLM span found for trace {row.trace_id}")
            request = RecordedRequest.from_span(span)
        cases.append(Case(row, request, parse_checks([*common, *row.checks])))
    return cases
