"""The prompts pane: the prompts folder with what each version served in traces, an
editor that never loses an edit, and A/B replay of real traces, one at a time
(streaming, side by side) or in a batch (the regression run).

Tabs: List (F2), Editor (F3), Replay (F4), Batch (F5). ``app.open_prompt`` /
``app.open_replay`` / ``app.open_batch`` land here from the traces pane.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.timer import Timer
from textual.widgets import Button, DataTable, Static, TabbedContent, TabPane

from console.palette import Palette
from console.replay.recording import SERVICE_NAME as REPLAY_SERVICE
from console.screens.base import PaneCommand, PaneScreen
from console.screens.prompt_dialogs import Choice, ChoiceDialog, VersionDiffScreen, version_text
from console.screens.prompts_messages import (
    BatchFinished,
    BatchPrepared,
    DraftSaved,
    FingerprintsLoaded,
    OverviewLoaded,
    PaneFailed,
    PromptOpened,
    PromptSaved,
    ReplayFinished,
    ReplaySourceLoaded,
    ReplayTokens,
    VersionsLoaded,
)
from console.text import clean
from console.widgets.batch_view import BatchTable, BatchView
from console.widgets.virtual_table import VirtualTable
from console.widgets.prompt_editor import PromptEditor, short
from console.widgets.prompt_table import PromptTable, version_rows
from console.widgets.replay_view import ReplaySetup, ReplayView, TokenBuffer, result_metrics

AUTOSAVE_SECONDS = 3.0
BATCH_DRAW_SECONDS = 0.25  # a running batch's rows and progress are drawn at most this often
MIN_REPAINT_S = 0.05  # streamed tokens repaint at most 20 times a second per side
NEW_PROMPT = """\
id: new-prompt
description: What this prompt is for.
model: gpt-4o-mini
temperature: 0.2
max_tokens: 400
system: |
  You are a helpful assistant.
template: |
  {{question}}
variables:
  question: {default: "Hello?"}
"""
TABS = {"list": "tab-list", "editor": "tab-editor", "replay": "tab-replay", "batch": "tab-batch"}


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def estimate_text(estimate: Any) -> str:
    """The cost estimate in one line; no dollar figure where no call has a known price."""
    if estimate.unpriced_models and not estimate.usd_expected:
        return (f"{estimate.calls} calls, ~{estimate.input_tokens:,} input + ~{estimate.output_tokens_expected:,} "
                f"output tokens; cost unknown: no price for {', '.join(estimate.unpriced_models)} "
                "(a self-hosted endpoint, or a model the price map lacks)")
    return estimate.describe()


def normalize_endpoint(value: str) -> str | None:
    """An OpenAI-compatible base URL: ``host:port`` and bare ``http://host:port`` get ``/v1``."""
    value = value.strip().rstrip("/")
    if not value:
        return None
    if "://" not in value:
        value = "http://" + value
    scheme, _, rest = value.partition("://")
    return value if "/" in rest else f"{scheme}://{rest}/v1"


class PromptsScreen(PaneScreen):
    PANE = "prompts"
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS = [
        Binding("f2", "show_tab('list')", "List", show=False, id="prompts.list", tooltip="Prompts and what each version served"),
        Binding("f3", "show_tab('editor')", "Edit", id="prompts.editor", tooltip="Edit the open prompt"),
        Binding("f4", "show_tab('replay')", "A/B", id="prompts.replay", tooltip="A against B, side by side"),
        Binding("f5", "show_tab('batch')", "Batch", id="prompts.batch", tooltip="Replay many traces: the regression run"),
        Binding("ctrl+s", "save", "Save", id="prompts.save", tooltip="Save the prompt (shows the diff first)"),
        Binding("ctrl+r", "run_replay", "Run", id="prompts.run", tooltip="Replay the trace: A against B"),
        Binding("ctrl+b", "run_batch", "Run batch", id="prompts.batch_run",
                tooltip="Estimate the cost of a batch replay, then run it"),
        Binding("escape", "cancel_run", "Cancel", show=False, id="prompts.cancel",
                tooltip="Stop the running replay or batch; with none, leave the text field"),
        Binding("enter", "open_selected", "Open", show=False, id="prompts.open",
                tooltip="Open the prompt (list), or the row's A/B (batch)"),
        Binding("v", "diff_versions", "Versions", show=False, id="prompts.versions",
                tooltip="Diff two versions of the prompt (git, file, traces)"),
        Binding("r", "replay_version", "Replay latest", show=False, id="prompts.replay_latest",
                tooltip="Replay the latest trace of the selected prompt"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.clock: Callable[[], datetime] = utc_now
        self.service: Any = None
        self.replay: Any = None
        self.overview: Any = None
        self.fingerprints: Any = None
        self._ready = False
        self._queued: list[Callable[[], None]] = []
        # editor
        self.current_id: str | None = None  # the prompt the buffer belongs to (drafts are kept under it)
        self.current_path: Path | None = None
        self.current_prompt: Any = None  # the file as saved (a Prompt), None for a new prompt
        self.base_text = ""
        self.base_version: str | None = None
        self.draft_text: str | None = None
        self.draft_saved_at: datetime | None = None
        # draft and save workers take turns, and a draft of the text just saved is not kept
        # (an autosave that fired while the save dialog was open would leave one behind)
        self._files_lock = threading.Lock()
        self._saved_text: str | None = None
        self.note = ""
        # replay
        self.request: Any = None
        self.source: ReplaySourceLoaded | None = None
        self.replay_gen = 0
        self.results: dict[str, Any] = {}
        self.buffers: dict[str, TokenBuffer] = {}
        self.last_paint: dict[str, float] = {}
        self.paint_timers: dict[str, Timer] = {}
        # batch
        self.batch_gen = 0
        self.batch_runner: Any = None
        self.batch_feed: Any = None
        self.batch_items: list[Any] = []
        self.batch_report: Any = None
        self.batch_filter: tuple[str, Any] | None = None  # (query text, TraceFilter) handed over by the traces pane

    # -- layout --------------------------------------------------------------------------
    def compose_pane(self) -> ComposeResult:
        yield Static("", id="prompts-header")
        with TabbedContent(id="prompts-tabs", initial="tab-list"):
            with TabPane("List", id="tab-list"):
                yield Static("", id="prompts-info")
                yield PromptTable(id="prompts-table")
                with VerticalScroll(id="prompts-preview-box"):
                    yield Static("", id="prompts-preview")
            with TabPane("Editor", id="tab-editor"):
                yield PromptEditor(id="prompt-editor")
            with TabPane("Replay", id="tab-replay"):
                yield ReplaySetup(id="replay-setup")
                yield ReplayView(id="replay-view")
            with TabPane("Batch", id="tab-batch"):
                yield BatchView(id="batch-view")

    def on_mount(self) -> None:
        from console.services.prompts import PromptsService
        from console.services.replay import ReplayService

        app: Any = self.app
        self.service = PromptsService(app.settings, app.store)
        self.replay = ReplayService(app.settings, getattr(app, "link", None), self.service.registry)
        self.query_one(ReplayView).clear_diff("run A against B: ctrl+r")
        for label in ("A", "B"):
            self.query_one(ReplayView).side(label).clear()
        self.set_interval(AUTOSAVE_SECONDS, self.autosave)
        self.set_interval(BATCH_DRAW_SECONDS, self.draw_batch)
        self.update_header()
        self.show_batch_variants()
        self.load_overview()
        self.warm_up()
        self._ready = True
        for queued in self._queued:
            queued()
        self._queued.clear()

    def on_unmount(self) -> None:
        if self.replay is not None:
            self.replay.close()

    def on_screen_resume(self) -> None:
        if self._ready:
            self.load_overview()

    def _when_ready(self, fn: Callable[[], None]) -> None:
        if self._ready:
            fn()
        else:
            self._queued.append(fn)

    @property
    def editor(self) -> PromptEditor:
        return self.query_one(PromptEditor)

    @property
    def setup(self) -> ReplaySetup:
        return self.query_one(ReplaySetup)

    @property
    def view(self) -> ReplayView:
        return self.query_one(ReplayView)

    @property
    def batch(self) -> BatchView:
        return self.query_one(BatchView)

    def action_show_tab(self, name: str) -> None:
        self.query_one(TabbedContent).active = TABS[name]
        self._focus_tab(name)

    def _focus_tab(self, name: str) -> None:
        batch = "#batch-table" if self.batch_report is not None or self.batch_runner is not None else "#batch-query"
        focus = {"list": "#prompts-table", "editor": "#prompt-text", "replay": "#replay-run", "batch": batch}[name]
        self.query_one(focus).focus()

    @property
    def tab(self) -> str:
        active = self.query_one(TabbedContent).active
        return next((k for k, v in TABS.items() if v == active), "list")

    # -- the list --------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="prompts-overview", exit_on_error=False, description="prompts list")
    def load_overview(self) -> None:
        try:
            overview = self.service.overview()
        except Exception as e:
            self.post_message(PaneFailed("prompts", f"{type(e).__name__}: {e}"))
            return
        self.post_message(OverviewLoaded(overview))
        if self.fingerprints is None:
            self.fingerprint()

    @work(thread=True, exclusive=True, group="prompts-fingerprint", exit_on_error=False,
          description="fingerprint recent LLM spans")
    def fingerprint(self) -> None:
        try:
            stats = self.service.fingerprint()
        except Exception as e:
            self.post_message(PaneFailed("fingerprints", f"{type(e).__name__}: {e}"))
            return
        self.post_message(FingerprintsLoaded(stats))

    @on(OverviewLoaded)
    def overview_loaded(self, msg: OverviewLoaded) -> None:
        self.overview = msg.overview
        self.show_list()

    @on(FingerprintsLoaded)
    def fingerprints_loaded(self, msg: FingerprintsLoaded) -> None:
        self.fingerprints = msg.stats
        self.show_list()

    def show_list(self) -> None:
        if self.overview is None:
            return
        table = self.query_one(PromptTable)
        table.show(version_rows(self.overview, self.fingerprints), self.current_id)
        ov = self.overview
        c = Palette.of(self.app)
        info = Text(f"{len(ov.prompts)} prompts in {clean(str(ov.directory.resolve()), 80, one_line=True)}", style=c("foreground"))
        bad = sum(any(i.severity == "error" for i in issues) for issues in ov.problems.values())
        if bad:
            info.append(f" · {bad} file{'s' if bad != 1 else ''} with errors", style=c("error"))
        if self.fingerprints is None:
            info.append(" · fingerprinting recent LLM spans…", style=c("muted"))
        else:
            info.append(" · traces: linked by prompt.id, +fp: matched by fingerprint", style=c("muted"))
        if not ov.prompts and not ov.problems:
            info.append(" · no prompt files yet: ctrl+p → prompts: new prompt", style=c("warning"))
        self.query_one("#prompts-info", Static).update(info)
        self.show_preview()

    @on(DataTable.RowHighlighted, "#prompts-table")
    def show_preview(self) -> None:
        row = self.query_one(PromptTable).current
        box = self.query_one("#prompts-preview", Static)
        if row is None or self.overview is None:
            box.update("")
            return
        c = Palette.of(self.app)
        if row.problem and row.linked is None:
            box.update(Text(clean(row.problem, 2000), style=c("error")))
            return
        version = next((v for v in self.overview.versions.get(row.prompt_id, []) if v.version == row.version), None)
        text = version_text(version) if version is not None else "(known only from traces; v to see an example)"
        preview = Text(clean(text, 20_000))
        preview.highlight_regex(r"\{\{\{?\s*[A-Za-z_][A-Za-z0-9_.\-]*\s*\}?\}\}", c("accent", "bold"))
        box.update(preview)

    def action_open_selected(self) -> None:
        if self.tab == "list":
            row = self.query_one(PromptTable).current
            if row is None:
                return
            if row.path is not None and row.problem and row.linked is None:
                self.open_path(row.path)
            else:
                self.open_prompt(row.prompt_id)
        elif self.tab == "batch":
            self.show_batch_row()

    @on(DataTable.RowSelected, "#prompts-table")
    def prompt_row_selected(self) -> None:
        self.action_open_selected()

    # -- opening prompts ---------------------------------------------------------------------
    def open_prompt(self, prompt_id: str, trace_id: str | None = None) -> None:
        """Open a prompt in the editor (its draft restored); with a trace, make that trace
        the replay source too. Called by the app (traces pane: p)."""
        def go() -> None:
            self._keep_current_as_draft(prompt_id)
            self.read_prompt(prompt_id, None, trace_id)
            self.action_show_tab("editor")
        self._when_ready(go)

    def open_path(self, path: Path) -> None:
        def go() -> None:
            self._keep_current_as_draft(None)
            self.read_prompt(None, path, None)
            self.action_show_tab("editor")
        self._when_ready(go)

    def _keep_current_as_draft(self, next_id: str | None) -> None:
        if self.current_id and self.current_id != next_id and self.dirty:
            self.service.registry.save_draft(self.current_id, self.editor.text, self.base_version)
            self.notify(f"your edit of {self.current_id} is kept as a draft; it comes back when you open it",
                        markup=False)

    @work(thread=True, exclusive=True, group="prompts-open", exit_on_error=False, description="open prompt")
    def read_prompt(self, prompt_id: str | None, path: Path | None, trace_id: str | None) -> None:
        registry = self.service.registry
        try:
            if path is None:
                assert prompt_id is not None
                prompt = next((p for p in registry.list() if p.id == prompt_id), None)
                path = prompt.path if prompt is not None else None
            else:
                prompt = None
            if path is None:
                self.post_message(PromptOpened(prompt_id or "", None, None, None, trace_id=trace_id))
                return
            data = Path(path).read_bytes()
            from store.prompts import parse_prompt, version_of

            text = data.decode("utf-8-sig", "replace")
            if prompt is None:
                prompt, _ = parse_prompt(text, Path(path))
            pid = prompt.id if prompt is not None else (prompt_id or Path(path).stem)
            draft = registry.load_draft(pid)
            self.post_message(PromptOpened(pid, text, version_of(data), str(path), draft, prompt, trace_id))
        except Exception as e:
            self.post_message(PaneFailed("prompt", f"{type(e).__name__}: {e}"))

    @on(PromptOpened)
    def prompt_opened(self, msg: PromptOpened) -> None:
        if msg.text is None:
            self.notify(f"prompt {msg.prompt_id!r} is not in {self.service.registry.directory}; "
                        "ctrl+p → prompts: new prompt to create it", severity="warning", markup=False)
            if msg.trace_id:
                self.open_replay(msg.trace_id, None)
            return
        self.current_id, self.current_path = msg.prompt_id, Path(msg.path) if msg.path else None
        self.current_prompt, self.base_text, self.base_version = msg.prompt, msg.text, msg.version
        text, self.note = msg.text, ""
        self.draft_text, self.draft_saved_at = None, None
        draft = msg.draft
        if draft is not None and draft.text != msg.text:
            text, self.draft_text, self.draft_saved_at = draft.text, draft.text, draft.saved_at
            stale = draft.is_stale(msg.version)
            self.note = "draft restored" + (" (the file changed since: read the diff before saving)" if stale else "")
            self.notify(f"restored your unsaved draft of {msg.prompt_id} from "
                        f"{draft.saved_at.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S} UTC"
                        + ("; the file has changed since it began" if stale else ""), markup=False)
        self.editor.load(text)
        self.update_header()
        self.show_list()
        if msg.trace_id:
            self.open_replay(msg.trace_id, None, switch=False)

    @property
    def dirty(self) -> bool:
        return self._ready and self.editor.text != self.base_text

    def update_header(self) -> None:
        c = Palette.of(self.app)
        t = Text("prompts", style=c("primary", "bold"))
        if self.current_id:
            t.append(f"  editing {clean(self.current_id, 60, one_line=True)}", style=c("foreground", "bold"))
            t.append(f"@{self.base_version or 'new'}", style=c("muted"))
        elif self._ready and self.editor.text:
            t.append("  new prompt (not saved yet)", style=c("foreground", "bold"))
        if self.dirty:
            t.append("  ● unsaved", style=c("warning", "bold"))
            if self.draft_saved_at is not None and self.draft_text == self.editor.text:
                t.append(f" · draft kept {self.draft_saved_at.astimezone(timezone.utc):%H:%M:%S} UTC",
                         style=c("muted"))
        elif self.current_id:
            t.append("  ✓ saved", style=c("success"))
        if self.note:
            t.append(f"  · {self.note}", style=c("muted"))
        if self.editor.prompt is None and self._ready and self.editor.text:
            errors = sum(i.severity == "error" for i in self.editor.issues)
            t.append(f"  ✗ {errors} error{'s' if errors != 1 else ''}", style=c("error", "bold"))
        self.query_one("#prompts-header", Static).update(t)

    @on(PromptEditor.Validated)
    def edited(self, msg: PromptEditor.Validated) -> None:
        if not self.dirty and self.note == "draft restored":
            self.note = ""
        self.update_header()
        self.show_batch_variants()

    # -- drafts ------------------------------------------------------------------------------
    def _draft_id(self) -> str | None:
        if self.current_id:
            return self.current_id
        prompt = self.editor.prompt
        return prompt.id if prompt is not None else ("new-prompt" if self.editor.text.strip() else None)

    def autosave(self) -> None:
        if not self._ready or not self.dirty:
            return
        text = self.editor.text
        pid = self._draft_id()
        if pid is None or text == self.draft_text:
            return
        self.save_draft(pid, text, self.base_version)

    @work(thread=True, exclusive=True, group="prompts-draft", exit_on_error=False, description="keep draft")
    def save_draft(self, prompt_id: str, text: str, base_version: str | None) -> None:
        try:
            with self._files_lock:
                if text == self._saved_text:
                    return
                draft = self.service.registry.save_draft(prompt_id, text, base_version)
        except Exception as e:
            self.post_message(PaneFailed("draft", f"{type(e).__name__}: {e}"))
            return
        self.post_message(DraftSaved(prompt_id, text, draft.saved_at))

    @on(DraftSaved)
    def draft_saved(self, msg: DraftSaved) -> None:
        self.draft_text, self.draft_saved_at = msg.text, self.clock()
        self.update_header()

    def action_discard_draft(self) -> None:
        pid = self._draft_id()
        if pid:
            self.service.registry.discard_draft(pid)
        self.draft_text = self.draft_saved_at = None
        self.note = ""
        self.editor.load(self.base_text)
        self.update_header()
        self.notify("back to the file as saved", markup=False)

    def action_new_prompt(self) -> None:
        def go() -> None:
            self._keep_current_as_draft(None)
            self.current_id = self.current_path = self.current_prompt = self.base_version = None
            self.base_text, self.note = "", "new: ctrl+s writes <id>.yaml"
            self.editor.load(NEW_PROMPT)
            self.update_header()
            self.action_show_tab("editor")
        self._when_ready(go)

    # -- saving ------------------------------------------------------------------------------
    def action_save(self) -> None:
        if not self._ready:
            return
        text = self.editor.text
        self.editor.validate_now()
        errors = [i for i in self.editor.issues if i.severity == "error"]
        if errors:
            where = f" (line {errors[0].line})" if errors[0].line else ""
            self.notify(f"not saved: {len(errors)} error{'s' if len(errors) != 1 else ''}: {errors[0].message}{where}",
                        severity="error", markup=False)
            return
        if not self.dirty and self.current_path is not None:
            self.notify("no changes to save", markup=False)
            return
        old = self._file_text()
        target = self._save_target(text)
        title = f"Save {self.editor.prompt.id if self.editor.prompt else ''} to {target}?"

        def done(choice: str | None) -> None:
            if choice == "save":
                self.write_prompt(text, self.current_path, self.current_id)

        self.app.push_screen(ChoiceDialog(title, [Choice("Save", "save", "primary"), Choice("Cancel", None)],
                                          old=old, new=text, dialog_id="save"), done)

    def _file_text(self) -> str:
        """The file as it is on disk now (it may have changed since it was opened)."""
        if self.current_path is not None and self.current_path.is_file():
            return self.current_path.read_bytes().decode("utf-8-sig", "replace")
        return self.base_text

    def _save_target(self, text: str) -> Path:
        if self.current_path is not None:
            return self.current_path
        prompt = self.editor.prompt
        return self.service.registry.path_for(prompt.id if prompt else "new-prompt")

    @work(thread=True, exclusive=True, group="prompts-save", exit_on_error=False, description="save prompt")
    def write_prompt(self, text: str, path: Path | None, old_id: str | None) -> None:
        try:
            saved = self._save_file(text, path)
            if old_id and old_id != saved.id:
                self.service.registry.discard_draft(old_id)
        except Exception as e:
            self.post_message(PaneFailed("save", str(e)))
            return
        self.post_message(PromptSaved(saved, old_id))

    def _save_file(self, text: str, path: Path | None) -> Any:
        with self._files_lock:  # saving discards the prompt's draft: no draft write in between
            saved = self.service.registry.save(text, path)
            self._saved_text = text
        return saved

    @on(PromptSaved)
    def prompt_saved(self, msg: PromptSaved) -> None:
        p = msg.prompt
        self.current_id, self.current_path, self.current_prompt = p.id, p.path, p
        self.base_text, self.base_version = p.text or self.editor.text, p.version
        self.draft_text = self.draft_saved_at = None
        self.note = ""
        self.update_header()
        self.notify(f"saved {p.id}@{p.version} to {p.path}", markup=False)
        self.load_overview()

    # -- leaving with unsaved work (the app asks before switching pane or quitting) ------------
    def guard_leave(self, proceed: Callable[[], object]) -> bool:
        """True when there is unsaved work: a dialog asks, and ``proceed`` runs if the user
        chooses to leave. False: nothing to ask, the caller goes on."""
        if not self.dirty:
            return False
        if self.app.screen.id == "leave-dialog":
            return True  # already asking
        text = self.editor.text
        name = self.current_id or "the new prompt"
        valid = self.editor.prompt is not None
        choices = [Choice("Save & leave", "save", "primary", disabled=not valid),
                   Choice("Keep draft & leave", "draft"), Choice("Discard & leave", "discard", "error"),
                   Choice("Stay", None)]
        body = None if valid else Text("It has errors, so it cannot be saved now; keep it as a draft.")

        def done(choice: str | None) -> None:
            if choice is None:
                return
            try:
                if choice == "save":
                    saved = self._save_file(text, self.current_path)
                    self.prompt_saved(PromptSaved(saved, self.current_id))
                elif choice == "draft":
                    pid = self._draft_id()
                    if pid:
                        self.service.registry.save_draft(pid, text, self.base_version)
                        self.draft_text, self.draft_saved_at = text, self.clock()
                else:
                    pid = self._draft_id()
                    if pid:
                        self.service.registry.discard_draft(pid)
                    self.editor.load(self.base_text)
                    self.draft_text = self.draft_saved_at = None
            except Exception as e:
                self.notify(f"could not {choice}: {e}", severity="error", markup=False)
                return
            self.update_header()
            proceed()

        self.app.push_screen(ChoiceDialog(f"{name} has unsaved changes", choices, body=body,
                                          old=self._file_text(), new=text, dialog_id="leave"), done)
        return True

    # -- versions ----------------------------------------------------------------------------
    def action_diff_versions(self) -> None:
        row = self.query_one(PromptTable).current if self.tab == "list" else None
        pid = row.prompt_id if row is not None else self.current_id
        if not pid:
            self.notify("open or select a prompt first", markup=False)
            return
        self.load_versions(pid, row.version if row is not None else None)

    @work(thread=True, exclusive=True, group="prompts-versions", exit_on_error=False, description="versions")
    def load_versions(self, prompt_id: str, selected: str | None) -> None:
        try:
            versions = self.service.versions(prompt_id)
        except Exception as e:
            self.post_message(PaneFailed("versions", f"{type(e).__name__}: {e}"))
            return
        msg = VersionsLoaded(prompt_id, versions)
        msg.selected = selected  # type: ignore[attr-defined]
        self.post_message(msg)

    @on(VersionsLoaded)
    def versions_loaded(self, msg: VersionsLoaded) -> None:
        if not msg.versions:
            self.notify(f"{msg.prompt_id} has no versions to compare", markup=False)
            return
        selected = getattr(msg, "selected", None)
        versions = list(msg.versions)
        if self.current_id == msg.prompt_id and self.dirty:
            from store.prompts import PromptVersion, version_of

            versions.insert(0, PromptVersion(version_of(self.editor.text), self.editor.text, ("unsaved edit",)))
        newest = versions[0].version
        old = selected if selected and selected != newest else (versions[1].version if len(versions) > 1 else None)
        self.app.push_screen(VersionDiffScreen(msg.prompt_id, versions, old=old, new=newest))

    # -- replay: the source ------------------------------------------------------------------
    def open_replay(self, trace_id: str, span_id: str | None, switch: bool = True) -> None:
        """Make a trace's LLM span the replay source (called by the app: r in traces)."""
        def go() -> None:
            self.setup.set_source(Text(f"loading trace {trace_id}…"))
            self.load_replay_source(trace_id, span_id, None, False)
            if switch:
                self.action_show_tab("replay")
        self._when_ready(go)

    def action_replay_version(self) -> None:
        row = self.query_one(PromptTable).current if self.tab == "list" else None
        pid = row.prompt_id if row is not None else self.current_id
        if pid:
            self.load_replay_source(None, None, pid, False)
            self.action_show_tab("replay")

    @work(thread=True, exclusive=True, group="replay-source", exit_on_error=False, description="load span")
    def load_replay_source(self, trace_id: str | None, span_id: str | None, prompt_id: str | None,
                           run_after: bool) -> None:
        from console.replay.request import RecordedRequest

        svc = self.service
        try:
            if trace_id is None:
                assert prompt_id is not None
                span = svc.latest_span_for(prompt_id)
                if span is None:
                    self.post_message(ReplaySourceLoaded("", None, prompt_id=prompt_id, run_after=run_after,
                                                         error=f"no trace of {prompt_id} yet"))
                    return
                trace_id = span["trace_id"]
            else:
                span = svc.span(trace_id, span_id)
            if span is None:
                self.post_message(ReplaySourceLoaded(trace_id, None, error=f"trace {trace_id} has no LLM span to replay"))
                return
            request = RecordedRequest.from_span(span)
            made_with, variables, linked_by, pid = None, request.prompt_vars, None, request.prompt_id
            if pid:
                linked_by = "prompt.id"
                for version in (request.prompt_version, None):
                    try:
                        made_with = svc.registry.get(pid, version)
                        break
                    except KeyError:
                        continue
                if made_with is not None and made_with.version != request.prompt_version:
                    made_with = None  # that version is not in git: the span's variables must come from prompt.variables
            else:
                made_with, found = svc.match(request.messages)
                if made_with is not None:
                    pid, linked_by = made_with.id, "fingerprint"
                    variables = variables or found
            if variables is None and made_with is not None:
                variables, _ = request.template_variables(made_with)
            self.post_message(ReplaySourceLoaded(trace_id, span, request, pid, made_with, variables, linked_by, run_after))
        except Exception as e:
            self.post_message(ReplaySourceLoaded(trace_id or "", None, error=f"{type(e).__name__}: {e}"))

    @on(ReplaySourceLoaded)
    def replay_source_loaded(self, msg: ReplaySourceLoaded) -> None:
        c = Palette.of(self.app)
        if msg.error or msg.request is None:
            if msg.prompt_id and msg.run_after:
                self.request, self.source = None, msg
                self._start_replay(from_prompt=True)
                return
            self.setup.set_source(Text(f"⚠ {msg.error or 'nothing to replay'}", style=c("warning")))
            return
        self.request, self.source = msg.request, msg
        self.results = {}
        span = msg.span or {}
        t = Text()
        t.append("trace ", style=c("muted"))
        t.append(clean(msg.trace_id, 40, one_line=True))
        t.append(" · span ", style=c("muted"))
        t.append(clean(span.get("span_id"), 20, one_line=True))
        t.append(f" · {clean(span.get('name') or '', 60, one_line=True)}", style=c("foreground"))
        if msg.prompt_id:
            t.append(f" · prompt {clean(msg.prompt_id, 60, one_line=True)}", style=c("accent", "bold"))
            version = msg.request.prompt_version or (msg.made_with.version if msg.made_with else None)
            if version:
                t.append(f"@{clean(version, 20, one_line=True)}", style=c("muted"))
            t.append(f" ({msg.linked_by})", style=c("muted"))
        else:
            t.append(" · no prompt linked: B can change model or parameters", style=c("muted"))
        if msg.variables:
            shown = ", ".join(f"{k}={short(v, 28)}" for k, v in list(msg.variables.items())[:4])
            t.append(f"\nvariables: {shown}", style=c("muted"))
        self.setup.set_source(t)
        if self.request.has_recording:
            self.setup.set_value("replay-a", "recorded")
        else:
            self.setup.set_value("replay-a", "original")
        if not msg.prompt_id:
            self.setup.set_value("replay-b", "original")
        self.editor.set_values(msg.variables)
        self._show_recorded_a()
        if msg.prompt_id and msg.prompt_id != self.current_id:
            self.open_prompt_for_replay(msg.prompt_id)
        if msg.run_after:
            self._start_replay()

    def open_prompt_for_replay(self, prompt_id: str) -> None:
        if self.current_id == prompt_id:
            return
        self._keep_current_as_draft(prompt_id)
        self.read_prompt(prompt_id, None, None)

    def _show_recorded_a(self) -> None:
        """Before any run, A shows what was recorded, so there is something to read at once."""
        view, c = self.view, Palette.of(self.app)
        view.clear_diff("ctrl+r runs A against B")
        a, b = view.side("A"), view.side("B")
        b.clear("B: the edited prompt, or another model or parameters; ctrl+r to run")
        b.set_title(Text("B", style=c("muted", "bold")))
        if self.request is not None and self.request.has_recording:
            from console.replay.engine import ReplayResult

            a.set_title(Text("A · recorded output", style=c("foreground", "bold")))
            recorded = ReplayResult.from_recording(self.request, "A")
            a.show_text(recorded.text or "(the recorded answer has no text: tool calls only)")
            a.show_metrics(result_metrics(recorded, c))
        else:
            a.clear("no recorded output")

    # -- replay: running ----------------------------------------------------------------------
    def _overrides(self) -> tuple[str | None, dict[str, Any], str | None]:
        """(model, params, problem) from the Replay tab's fields."""
        params: dict[str, Any] = {}
        t, m = self.setup.value("replay-temperature"), self.setup.value("replay-max-tokens")
        try:
            if t:
                params["temperature"] = float(t)
            if m:
                params["max_tokens"] = int(m)
        except ValueError:
            return None, {}, "temperature must be a number and max_tokens a whole number"
        return self.setup.value("replay-model") or None, params, None

    def _edited_prompt(self) -> tuple[Any, str | None]:
        self.editor.validate_now()
        prompt = self.editor.prompt
        if prompt is None:
            if not self.editor.text.strip():
                return None, "no prompt is open: open one (enter on the list, p on a trace) or choose B = original"
            errors = [i for i in self.editor.issues if i.severity == "error"]
            return None, f"the edited prompt has errors: {errors[0] if errors else 'it does not parse'}"
        if prompt.text == self.base_text and self.base_version:
            prompt.version = self.base_version
        else:
            prompt.version = None  # unsaved: describe() says so
        return prompt, None

    def variants(self, for_batch: bool = False) -> tuple[Any, Any, str | None]:
        """(variant A, variant B, problem)."""
        from console.replay.request import Variant

        model, params, problem = self._overrides()
        if problem:
            return None, None, problem
        if self.setup.value("replay-a") == "recorded":
            va = Variant.recorded("A")
        else:
            va = Variant.original("A")
        if self.setup.value("replay-b") == "prompt":
            prompt, problem = self._edited_prompt()
            if problem:
                return None, None, problem
            base = self.source.made_with if self.source is not None and not for_batch else None
            vb = Variant.edited_prompt(prompt, "B", base=base or self.current_prompt, model=model, params=params)
        else:
            vb = Variant(label="B", model=model, params=params)
        return va, vb, None

    def endpoint(self) -> str | None:
        return normalize_endpoint(self.setup.value("replay-endpoint"))

    def action_run_replay(self) -> None:
        if not self._ready:
            return
        if self.request is None:
            pid = self.current_id or (self.editor.prompt.id if self.editor.prompt else None)
            if pid is None:
                self.notify("nothing to replay: open a trace (r in the traces pane) or a prompt", markup=False)
                return
            self.action_show_tab("replay")
            self.load_replay_source(None, None, pid, True)
            return
        self.action_show_tab("replay")
        self._start_replay()

    def _start_replay(self, from_prompt: bool = False) -> None:
        from console.replay.request import RecordedRequest, Variant

        c = Palette.of(self.app)
        va, vb, problem = self.variants()
        view = self.view
        if problem:
            view.side("B").clear()
            view.side("B").show_metrics(Text(f"✗ {problem}", style=c("error")))
            return
        request = self.request
        if from_prompt or request is None:
            # No trace of this prompt yet: render it with its defaults; A is the saved version.
            saved = self.current_prompt
            if saved is None:
                view.side("B").show_metrics(Text("✗ save the prompt once, or pick a trace to replay", style=c("error")))
                return
            try:
                request = RecordedRequest.from_prompt(saved)
            except Exception as e:
                view.side("B").show_metrics(Text(f"✗ {e}", style=c("error")))
                return
            va = Variant.edited_prompt(saved, "A")
            self.setup.set_source(Text(f"no trace of {saved.id} yet: both sides render it with its default "
                                       "variables; A is the saved version", style=c("muted")))
        self.replay_gen += 1
        gen = self.replay_gen
        self.results = {}
        for timer in self.paint_timers.values():
            timer.stop()
        self.paint_timers.clear()
        for label, variant in (("A", va), ("B", vb)):
            side = view.side(label)
            side.set_title(Text(f"{label} · {variant.describe()}", style=c("foreground", "bold")))
            side.clear("waiting for the first token…" if not variant.use_recorded else "")
            self.buffers[label] = TokenBuffer(partial(self._tokens_arrived, gen, label))
            self.last_paint[label] = 0.0
        view.clear_diff("the diff appears when both sides are done")
        self.run_replay(gen, request, va, vb, self.endpoint())

    def _tokens_arrived(self, gen: int, label: str) -> None:
        self.post_message(ReplayTokens(gen, label))  # from the replay thread: post_message is thread-safe

    @work(exclusive=True, group="replay-run", exit_on_error=False, description="replay A/B")
    async def run_replay(self, gen: int, request: Any, va: Any, vb: Any, endpoint: str | None) -> None:
        from console.replay.engine import ReplayResult
        from console.replay.errors import ReplayError

        engine = self.replay.engine(endpoint)

        async def one(label: str, variant: Any) -> None:
            try:
                result = await self.replay.loop.run(engine.run(request, variant, on_token=self.buffers[label].push))
            except asyncio.CancelledError:
                raise
            except Exception as e:  # a bug, not a provider error (those come back in the result)
                result = ReplayResult.failed(label, ReplayError("unknown", f"{type(e).__name__}: {e}"))
            self.post_message(ReplayFinished(gen, label, result))

        await asyncio.gather(one("A", va), one("B", vb))

    @on(ReplayTokens)
    def tokens(self, msg: ReplayTokens) -> None:
        if msg.generation != self.replay_gen or msg.label in self.results:
            return
        wait = self.last_paint.get(msg.label, 0.0) + MIN_REPAINT_S - time.perf_counter()
        if wait > 0:
            if msg.label not in self.paint_timers:
                self.paint_timers[msg.label] = self.set_timer(wait, partial(self._paint_tokens, msg.generation,
                                                                            msg.label))
            return
        self._paint_tokens(msg.generation, msg.label)

    def _paint_tokens(self, gen: int, label: str) -> None:
        self.paint_timers.pop(label, None)
        if gen != self.replay_gen or label in self.results:
            return
        text = self.buffers[label].drain()
        if text:
            self.view.side(label).append(text)
        self.last_paint[label] = time.perf_counter()

    @on(ReplayFinished)
    def replay_finished(self, msg: ReplayFinished) -> None:
        if msg.generation != self.replay_gen:
            return
        self.results[msg.label] = msg.result
        timer = self.paint_timers.pop(msg.label, None)
        if timer is not None:
            timer.stop()
        self.buffers[msg.label].drain()
        self.show_result(msg.label, msg.result)
        if len(self.results) == 2:
            self.show_comparison()

    def show_result(self, label: str, result: Any) -> None:
        c = Palette.of(self.app)
        side = self.view.side(label)
        if result.error is not None and not result.text:
            side.show_text("")
        else:
            side.show_text(result.text or "(no text: tool calls only)" if result.error is None else result.text)
        side.show_metrics(result_metrics(result, c))

    def show_comparison(self) -> None:
        a, b = self.results.get("A"), self.results.get("B")
        if a is None or b is None:
            return
        view = self.view
        if a.error is not None or b.error is not None:
            failed = " and ".join(label for label, r in (("A", a), ("B", b)) if r.error is not None)
            view.clear_diff(f"no diff: {failed} failed (the message is under the output)")
        else:
            view.show_diff(a.text, b.text)
        note = self.replay.recording_note()
        self.notify(f"replay done · {note}", markup=False, timeout=3)

    def action_cancel_run(self) -> None:
        """Stop what runs; with nothing running, leave a text field (so 1-5 switch panes again)."""
        running = self.batch_runner is not None or any(
            w.group == "replay-run" and w.is_running for w in self.workers)
        if not running:
            from textual.widgets import Input, Select

            if isinstance(self.focused, Input | Select):
                self._focus_tab(self.tab if self.tab != "batch" or self.batch_report is not None else "list")
            return
        if self.batch_runner is not None:
            self.replay.loop.call_soon(self.batch_runner.cancel)
            self.batch.show_progress(*self._progress_figures(), note="cancelling…")
            return
        running = [w for w in self.workers if w.group == "replay-run" and w.is_running]
        for worker in running:
            worker.cancel()
        if running:
            self.replay_gen += 1
            self.view.clear_diff("cancelled")

    # -- batch -------------------------------------------------------------------------------
    def open_batch(self, trace_filter: Any, query_text: str) -> None:
        """Replay the traces of a traces-pane filter in a batch (traces: replay these in a batch)."""
        def go() -> None:
            from textual.widgets import Input, Select

            self.batch_filter = (query_text, trace_filter)
            self.batch.query_one("#batch-source", Select).value = "filter"
            self.batch.query_one("#batch-query", Input).value = query_text
            self.action_show_tab("batch")
            self.notify("the traces filter is here: ctrl+b (or Estimate & run) shows the cost before anything runs",
                        markup=False)
        self._when_ready(go)

    def show_batch_variants(self) -> None:
        if not self._ready:
            return
        c = Palette.of(self.app)
        a = "recorded output" if self.setup.value("replay-a") == "recorded" else "fresh run of the original"
        if self.setup.value("replay-b") == "prompt":
            b = f"edited prompt {self.current_id or ''}".strip() + (" (unsaved)" if self.dirty else "")
        else:
            b = "original request"
        model, params, _ = self._overrides()
        extra = ", ".join([f"model {model}"] * bool(model) + [f"{k}={v}" for k, v in params.items()])
        t = Text("A: ", style=c("muted"))
        t.append(a, style=c("foreground", "bold"))
        t.append("  vs  B: ", style=c("muted"))
        t.append(b + (f" ({extra})" if extra else ""), style=c("foreground", "bold"))
        endpoint = self.endpoint()
        t.append(f"  · endpoint {endpoint}" if endpoint else "", style=c("muted"))
        t.append("  (F4 to change)", style=c("muted"))
        self.batch.query_one("#batch-variants", Static).update(t)

    def on_input_changed(self, event: Any) -> None:
        if getattr(event.input, "id", "") and str(event.input.id).startswith("replay-"):
            self.show_batch_variants()

    def on_select_changed(self, event: Any) -> None:
        if getattr(event.select, "id", "") in ("replay-a", "replay-b"):
            self.show_batch_variants()

    def action_run_batch(self) -> None:
        if not self._ready:
            return
        if self.batch_runner is not None:
            self.notify("a batch is running: cancel it first (escape)", markup=False)
            return
        self.action_show_tab("batch")
        c = Palette.of(self.app)
        va, vb, problem = self.variants(for_batch=True)
        if problem:
            self.batch.show_progress(0, 0, 0, 0.0, note=f"✗ {problem}")
            self.notify(problem, severity="error", markup=False)
            return
        try:
            limit = int(self.batch.value("batch-limit") or 50)
            concurrency = max(1, min(64, int(self.batch.value("batch-concurrency") or 4)))
        except ValueError:
            self.notify("traces and concurrency are whole numbers", severity="error", markup=False)
            return
        source, query = self.batch.value("batch-source"), self.batch.value("batch-query")
        handed = self.batch_filter[1] if self.batch_filter and self.batch_filter[0] == query else None
        self.batch_gen += 1
        self.batch.query_one("#batch-progress-text", Static).update(Text("preparing: reading the traces and "
                                                                         "estimating the cost…", style=c("muted")))
        prompt = self.editor.prompt if self.setup.value("replay-b") == "prompt" else self.current_prompt
        self.prepare_batch(self.batch_gen, source, query, handed, limit, concurrency,
                           self.batch.value("batch-judge") or None, va, vb, self.endpoint(), prompt)

    @work(thread=True, exclusive=True, group="batch-prepare", exit_on_error=False, description="prepare batch")
    def prepare_batch(self, gen: int, source: str, query: str, handed: Any, limit: int, concurrency: int,
                      judge_model: str | None, va: Any, vb: Any, endpoint: str | None, prompt: Any) -> None:
        from console.replay.batch import BatchItem, BatchRunner
        from console.replay.checks import parse_checks
        from console.replay.judge import Judge
        from console.replay.request import RecordedRequest, Variant

        notes: list[str] = []
        try:
            checks = []
            if source == "dataset":
                from console.replay.dataset import build_cases, load_dataset

                path = Path(query).expanduser()
                cases = build_cases(load_dataset(path), prompt=prompt, span_loader=self.service.span,
                                    extra_checks=prompt.checks if prompt is not None else ())
                items = [BatchItem.from_case(case) for case in cases][:limit]
                what = f"{len(items)} rows of {path.name}"
            else:
                from store.query.filters import parse

                trace_filter = handed if handed is not None else parse(query)
                if "service:" not in query:  # replays are traces too; replaying them again is rarely meant
                    trace_filter = parse(f"{query} -service:{REPLAY_SERVICE}".strip())
                prompt_id = prompt.id if prompt is not None else None
                spans = self.service.spans_for_filter(trace_filter, limit, prompt_id)
                items = [BatchItem(RecordedRequest.from_span(s), id=s["trace_id"]) for s in spans]
                checks = parse_checks(prompt.checks) if prompt is not None else []
                what = f"{len(items)} traces matching {query!r}" if query else f"the {len(items)} newest traces"
            if not items:
                self.post_message(PaneFailed("batch", "no traces to replay: the filter matches none with an LLM span"))
                return
            if va is not None and va.use_recorded and not all(i.request.has_recording for i in items):
                saved = self.current_prompt
                if saved is not None and source == "dataset":
                    va = Variant.edited_prompt(saved, "A")
                    notes.append(f"A is the saved version of {saved.id}: dataset rows have no recorded output")
                else:
                    notes.append("rows without a recorded output show A as an error")
            from console.services.replay import BatchFeed

            engine = self.replay.engine(endpoint)
            judge = Judge(engine, judge_model, api_base=endpoint) if judge_model else None
            feed = BatchFeed()
            runner = BatchRunner(engine, concurrency=concurrency, judge=judge, checks=checks, on_row=feed.row,
                                 on_progress=feed.progressed)
            estimate = runner.estimate(items, va, vb)
        except Exception as e:
            self.post_message(PaneFailed("batch", f"{e}" if isinstance(e, ValueError) else f"{type(e).__name__}: {e}"))
            return
        self.post_message(BatchPrepared(gen, items, runner, va, vb, estimate, what, notes, feed))

    @on(BatchPrepared)
    def batch_prepared(self, msg: BatchPrepared) -> None:
        if msg.generation != self.batch_gen:
            return
        c = Palette.of(self.app)
        body = Text()
        body.append("A: ", style=c("muted"))
        body.append(msg.variant_a.describe() if msg.variant_a else "-", style=c("foreground", "bold"))
        body.append("\nB: ", style=c("muted"))
        body.append(msg.variant_b.describe(), style=c("foreground", "bold"))
        body.append(f"\nconcurrency {msg.runner.concurrency}", style=c("muted"))
        if msg.runner.judge is not None:
            body.append(f" · judge {msg.runner.judge.model}", style=c("muted"))
        if msg.runner.checks:
            body.append(f" · checks: {', '.join(ch.name for ch in msg.runner.checks)}", style=c("muted"))
        body.append("\n\nestimate: ", style=c("muted"))
        body.append(estimate_text(msg.estimate), style=c("warning", "bold"))
        if msg.estimate.unplannable:
            body.append(f"\n{msg.estimate.unplannable} calls cannot be made (their rows will show why)",
                        style=c("warning"))
        for note in msg.notes:
            body.append(f"\n{note}", style=c("muted"))
        self.batch.query_one("#batch-progress-text", Static).update(
            Text(f"estimated: {estimate_text(msg.estimate)}", style=c("muted")))

        def done(choice: str | None) -> None:
            if choice == "run" and msg.generation == self.batch_gen:
                self.start_batch(msg)
            elif choice != "run":
                self.batch.query_one("#batch-progress-text", Static).update(
                    Text("not run: nothing was spent", style=c("muted")))

        self.app.push_screen(ChoiceDialog(f"Replay {msg.source}?", [Choice("Run", "run", "primary"),
                                                                    Choice("Cancel", None)],
                                          body=body, dialog_id="estimate"), done)

    def start_batch(self, msg: BatchPrepared) -> None:
        self.batch_runner, self.batch_items, self.batch_report = msg.runner, msg.items, None
        self.batch_feed = msg.feed
        self.batch.start([item.id or str(i) for i, item in enumerate(msg.items)])
        self.batch.table.focus()  # rows to move through while it runs; escape cancels
        self.batch.show_progress(0, len(msg.items), 0, 0.0)
        self.run_batch(msg.generation, msg.runner, msg.items, msg.variant_a, msg.variant_b)

    @work(exclusive=True, group="batch-run", exit_on_error=False, description="batch replay")
    async def run_batch(self, gen: int, runner: Any, items: list[Any], va: Any, vb: Any) -> None:
        try:
            report = await self.replay.loop.run(runner.run(items, va, vb))
        except asyncio.CancelledError:
            raise
        except Exception as e:
            self.post_message(BatchFinished(gen, None, f"{type(e).__name__}: {e}"))
            return
        self.post_message(BatchFinished(gen, report))

    def _progress_figures(self) -> tuple[int, int, int, float]:
        p = getattr(self, "_last_progress", None)
        if p is None:
            return 0, len(self.batch_items), 0, 0.0
        return p.done, p.total, p.errors, p.spent_usd

    def draw_batch(self) -> None:
        """Rows finished since the last tick, and the progress (a timer: one repaint per tick
        however many rows finished)."""
        feed = self.batch_feed
        if feed is None:
            return
        rows, progress = feed.take()
        for row in rows:
            self.batch.show_row(row, feed.similarity.get(row.index))
        if progress is not None and progress is not getattr(self, "_last_progress", None):
            self._last_progress = progress
            self.batch.show_progress(progress.done, progress.total, progress.errors, progress.spent_usd,
                                     "cancelling…" if progress.cancelled else "")

    @on(BatchFinished)
    def batch_finished(self, msg: BatchFinished) -> None:
        if msg.generation != self.batch_gen:
            return
        self.batch_runner = None
        self.draw_batch()
        self._last_progress = None
        self.batch.set_running(False)
        if msg.report is None:
            self.batch_feed = None
            self.batch.show_progress(0, len(self.batch_items), 0, 0.0, note=f"✗ {msg.error}")
            return
        self.show_batch_report(msg.report)
        note = self.replay.recording_note()
        self.notify(f"batch {'cancelled' if msg.report.cancelled else 'done'} · {note}", markup=False, timeout=3)

    def show_batch_report(self, report: Any) -> None:
        self.batch_report = report
        known = self.batch_feed.similarity if self.batch_feed is not None else {}
        for row in report.rows:
            self.batch.show_row(row, known[row.index] if row.index in known else row.similarity)
        self.batch_feed = None
        s = report.summary
        fresh = [side.result for r in report.rows for side in (r.a, r.b)
                 if side is not None and not side.result.from_recording and side.result.error is None]
        spent = sum(r.cost_usd or 0 for r in fresh) + s.judge_cost_usd
        self.batch.show_progress(s.done, s.rows, sum(bool(r.errors) for r in report.rows), spent,
                                 "cancelled" if report.cancelled else "done",
                                 unpriced=any(r.cost_usd is None for r in fresh))
        self.batch.show_summary(s, report.cancelled)

    def show_batch_row(self) -> None:
        """The selected batch row's A and B, side by side in the Replay tab."""
        report = self.batch_report
        table = self.query_one(BatchTable)
        if report is None or not 0 <= table.cursor_row < len(report.rows):
            return
        row = report.rows[table.cursor_row]
        if row.b is None:
            self.notify("this row did not run", markup=False)
            return
        self.replay_gen += 1
        self.request = self.batch_items[row.index].request
        c = Palette.of(self.app)
        self.setup.set_source(Text(f"batch row {row.index + 1}: {clean(row.id, 60, one_line=True)}",
                                   style=c("foreground")))
        self.results = {}
        for label, side in (("A", row.a), ("B", row.b)):
            if side is not None:
                self.view.side(label).set_title(Text(f"{label} · batch {report.variant_a if label == 'A' else report.variant_b}",
                                                     style=c("foreground", "bold")))
                self.results[label] = side.result
                self.show_result(label, side.result)
        if len(self.results) == 2:
            self.show_comparison()
        self.action_show_tab("replay")

    @on(Button.Pressed, "#replay-run")
    def run_pressed(self) -> None:
        self.action_run_replay()

    @on(Button.Pressed, "#batch-run")
    def batch_pressed(self) -> None:
        self.action_run_batch()

    @on(Button.Pressed, "#batch-cancel")
    def cancel_pressed(self) -> None:
        self.action_cancel_run()

    @on(VirtualTable.RowSelected, "#batch-table")
    def batch_row_selected(self) -> None:
        self.show_batch_row()

    @on(PaneFailed)
    def failed(self, msg: PaneFailed) -> None:
        if msg.what == "batch":
            self.batch.show_progress(0, 0, 0, 0.0, note=f"✗ {msg.error}")
        elif msg.what == "prompts":
            self.query_one("#prompts-info", Static).update(Text(f"⚠ could not read the prompts: {msg.error}"))
        self.notify(f"{msg.what}: {msg.error}", severity="error", markup=False)

    # -- warm-up -----------------------------------------------------------------------------
    @work(exclusive=True, group="replay-warm", exit_on_error=False, description="load LiteLLM")
    async def warm_up(self) -> None:
        store = getattr(self.app, "store", None)
        try:
            if store is not None:
                self.replay.pricer = await asyncio.to_thread(lambda: store.pricer)
        except Exception:
            self.replay.pricer = None  # the engine falls back to LiteLLM's prices
        try:
            await self.replay.warm_up()
        except Exception as e:
            self.notify(f"LiteLLM could not be loaded: {e}; replays will fail with this reason", severity="warning",
                        markup=False)

    # -- palette -----------------------------------------------------------------------------
    def pane_commands(self) -> list[PaneCommand]:
        return [
            PaneCommand("prompts: save (diff first)", "Write the prompt file after showing the diff", self.action_save),
            PaneCommand("prompts: replay A against B", "Run the replay source as A and B, side by side",
                        self.action_run_replay),
            PaneCommand("prompts: batch replay (estimate first)", "Replay many traces; the cost is shown first",
                        self.action_run_batch),
            PaneCommand("prompts: cancel the running replay or batch", "", self.action_cancel_run),
            PaneCommand("prompts: diff two versions", "File, git and trace versions of the prompt",
                        self.action_diff_versions),
            PaneCommand("prompts: replay the latest trace of this prompt", "", self.action_replay_version),
            PaneCommand("prompts: new prompt", "Start a prompt file from a skeleton", self.action_new_prompt),
            PaneCommand("prompts: discard draft (back to the file)", "Throw away the unsaved edit",
                        self.action_discard_draft),
            PaneCommand("prompts: reload the list", "Read the prompts folder and the traces again",
                        self._reload_all),
        ]

    def _reload_all(self) -> None:
        self.fingerprints = None
        self.load_overview()
