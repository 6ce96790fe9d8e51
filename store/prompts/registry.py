"""The prompt registry: a folder of YAML files, one prompt per file.

::

    registry = PromptRegistry("prompts/")
    prompt = registry.get("extract-invoice")
    messages = registry.render(prompt, {"document": text})

Files are ``*.yaml``/``*.yml`` anywhere below the folder, hidden folders (such as
the default drafts folder ``.drafts/``) excepted. Parsed files are cached by
modification time and size, so ``list()`` is cheap to call again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from store.prompts import render as rendering
from store.prompts.drafts import Draft, DraftStore
from store.prompts.files import atomic_write, version_of
from store.prompts.history import PromptVersion, TraceVersion, file_history
from store.prompts.model import Issue, Prompt, PromptError, PromptNotFound, VariableSpec
from store.prompts.parse import dump_prompt, load_prompt, parse_prompt, validate

DRAFTS_FOLDER = ".drafts"


class PromptRegistry:
    def __init__(self, directory: Path | str, *, drafts_dir: Path | str | None = None) -> None:
        self.directory = Path(directory)
        self.drafts = DraftStore(Path(drafts_dir) if drafts_dir else self.directory / DRAFTS_FOLDER)
        self._cache: dict[Path, tuple[tuple[int, int], Prompt | None, list[Issue]]] = {}

    # -- reading ---------------------------------------------------------------

    def files(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        found = [
            p
            for pattern in ("*.yaml", "*.yml")
            for p in self.directory.rglob(pattern)
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(self.directory).parts)
        ]
        return sorted(found)

    def _read(self, path: Path) -> tuple[Prompt | None, list[Issue]]:
        try:
            stat = path.stat()
        except OSError as exc:
            return None, [Issue("error", "io", f"cannot read {path}: {exc.strerror}")]
        stamp = (stat.st_mtime_ns, stat.st_size)
        cached = self._cache.get(path)
        if cached and cached[0] == stamp:
            return cached[1], cached[2]
        data = path.read_bytes()
        prompt, issues = parse_prompt(data.decode("utf-8-sig", "replace"), path, version=version_of(data))
        self._cache[path] = (stamp, prompt, issues)
        return prompt, issues

    def list(self) -> list[Prompt]:
        """Every valid prompt, by id. A file with errors is left out (see :meth:`problems`);
        when two files claim one id, the first path in sort order wins."""
        prompts: dict[str, Prompt] = {}
        for path in self.files():
            prompt, _issues = self._read(path)
            if prompt is not None and prompt.id not in prompts:
                prompts[prompt.id] = prompt
        return sorted(prompts.values(), key=lambda p: p.id)

    def problems(self) -> dict[Path, list[Issue]]:
        """Files with issues (errors or warnings), including ids claimed twice."""
        out: dict[Path, list[Issue]] = {}
        owners: dict[str, Path] = {}
        for path in self.files():
            prompt, issues = self._read(path)
            issues = list(issues)
            if prompt is not None:
                if prompt.id in owners:
                    issues.append(Issue("error", "duplicate-id", f"id {prompt.id!r} is also used by {owners[prompt.id].name}", 1))
                owners.setdefault(prompt.id, path)
            if issues:
                out[path] = issues
        return out

    def get(self, prompt_id: str, version: str | None = None) -> Prompt:
        """The prompt with this id (raises :class:`PromptNotFound`); with ``version``, that
        version from the file's history (git), which may be older than the file."""
        for prompt in self.list():
            if prompt.id == prompt_id:
                if version is None or version == prompt.version:
                    return prompt
                for old in self.history(prompt_id):
                    if old.version == version and old.text is not None:
                        loaded = self.parse_version(old.text, old.version, prompt.path)
                        if loaded is not None:
                            return loaded
                raise PromptNotFound(f"{prompt_id}@{version}")
        raise PromptNotFound(prompt_id)

    def load_file(self, path: Path | str) -> Prompt:
        """Read one prompt file (inside the folder or not); raises :class:`PromptError` on errors."""
        return load_prompt(Path(path))

    @staticmethod
    def parse_version(text: str, version: str | None = None, path: Path | None = None) -> Prompt | None:
        prompt, _issues = parse_prompt(text, path, version=version)
        return prompt

    def path_for(self, prompt_id: str) -> Path:
        """The file of an existing prompt, or where a new one would go (``<folder>/<id>.yaml``)."""
        for prompt in self.list():
            if prompt.id == prompt_id and prompt.path is not None:
                return prompt.path
        return self.directory / f"{prompt_id}.yaml"

    # -- checking and rendering --------------------------------------------------

    @staticmethod
    def validate(text: str) -> list[Issue]:
        return validate(text)

    @staticmethod
    def variables(prompt: Prompt) -> dict[str, VariableSpec]:
        return rendering.variables(prompt)

    @staticmethod
    def render(prompt: Prompt, values: Mapping[str, Any] | None = None, *, strict: bool = True) -> list[dict[str, Any]]:
        return rendering.render(prompt, values, strict=strict)

    # -- writing -----------------------------------------------------------------

    def save(self, prompt: Prompt | str, path: Path | str | None = None, *, force: bool = False) -> Prompt:
        """Write a prompt (a :class:`Prompt`, or the file's full text) atomically and return
        it as read back, with its new version. Text with errors is refused
        (:class:`PromptError`) unless ``force``. A saved prompt's draft is discarded."""
        text = prompt if isinstance(prompt, str) else dump_prompt(prompt)
        parsed, issues = parse_prompt(text)
        if parsed is None and not force:
            raise PromptError("not saved: the prompt has errors", issues)
        if path is None:
            if isinstance(prompt, Prompt) and prompt.path is not None:
                path = prompt.path
            elif parsed is not None:
                path = self.path_for(parsed.id)
            else:
                raise PromptError("not saved: no path and no id to name the file after", issues)
        path = Path(path)
        atomic_write(path, text)
        if parsed is not None:
            self.drafts.discard(parsed.id)
            return load_prompt(path)
        return Prompt(id="", path=path, text=text, version=version_of(text))

    def delete(self, prompt_id: str) -> None:
        self.path_for(prompt_id).unlink()
        self.drafts.discard(prompt_id)

    # -- drafts ------------------------------------------------------------------

    def save_draft(self, prompt_id: str, text: str, base_version: str | None = None) -> Draft:
        """Keep an unsaved edit. ``base_version`` defaults to the current file's version."""
        path = self.path_for(prompt_id)
        if base_version is None and path.is_file():
            base_version = version_of(path.read_bytes())
        return self.drafts.save(prompt_id, text, base_version, path)

    def load_draft(self, prompt_id: str) -> Draft | None:
        return self.drafts.load(prompt_id)

    def discard_draft(self, prompt_id: str) -> bool:
        return self.drafts.discard(prompt_id)

    def list_drafts(self) -> list[Draft]:
        return self.drafts.list()

    # -- history -----------------------------------------------------------------

    def history(self, prompt_id: str, trace_versions: Iterable[TraceVersion] = ()) -> list[PromptVersion]:
        """Versions of a prompt, newest first: the working file, git's commits (following
        renames; none outside a repository), then versions only seen in traces."""
        return file_history(self.path_for(prompt_id), trace_versions)
