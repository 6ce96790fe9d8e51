"""Pilot tests of the prompts pane: the list, the editor (validation, fields, save with
a diff, drafts, leaving with unsaved work), versions, and A/B replay, single and in a
batch, against the OpenAI-compatible stub on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest
from textual.widgets import Input, Select, Static

from console.app import ConsoleApp
from console.screens.prompt_dialogs import ChoiceDialog, VersionDiffScreen
from console.screens.prompts import PromptsScreen, normalize_endpoint
from console.services.collector_link import CollectorLink
from console.widgets.batch_view import BatchTable
from console.widgets.prompt_table import PromptTable
from store.config import Settings
from store.prompts import PromptRegistry
from tests.support.openai_stub import openai_stub, openai_stub_server  # noqa: F401
from tests.support.prompt_store import OLD_SUPPORT_VERSION, PromptStore, llm_trace, write_prompts
from tests.support.stores import T0, chat, write
from tests.ui.conftest import settle
from tests.ui.prompts_fixtures import (  # noqa: F401
    SIZE,
    go_prompts,
    isolated_keys,
    make_prompts_app,
    pstore,
    wait_for,
)

pytestmark = pytest.mark.usefixtures("isolated_keys")


def rendered(widget: Static) -> str:
    return str(widget.render())


async def dialog(pilot, dialog_id: str) -> ChoiceDialog:  # type: ignore[no-untyped-def]
    await wait_for(pilot, lambda: pilot.app.screen.id == f"{dialog_id}-dialog", 10, dialog_id)
    return pilot.app.screen  # type: ignore[return-value]


async def choose(pilot, label: str, wait: bool = True) -> None:  # type: ignore[no-untyped-def]
    """Press a dialog's button; ``wait``: until every worker is done (a batch too)."""
    screen = pilot.app.screen
    button = next(b for b in screen.query("Button") if str(b.label) == label)
    await pilot.click(f"#{button.id}")
    if wait:
        await settle(pilot, pilot.app)
    else:
        await pilot.pause()


async def open_editor(pilot, prompt_id: str = "support-answer") -> PromptsScreen:  # type: ignore[no-untyped-def]
    screen = await go_prompts(pilot)
    screen.open_prompt(prompt_id)
    await settle(pilot, pilot.app)
    assert screen.current_id == prompt_id
    return screen


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines()) if needle in line)


async def type_after(pilot, screen: PromptsScreen, needle: str, typed: str) -> int:  # type: ignore[no-untyped-def]
    """Type keys at the end of the editor line holding ``needle``; returns that line's index."""
    area = screen.editor.area
    row = line_of(area.text, needle)
    area.focus()
    area.move_cursor((row, len(area.document.get_line(row))))
    await pilot.press(*typed)
    await settle(pilot, pilot.app)
    return row


# -- the list -------------------------------------------------------------------------------
async def test_list_shows_each_version_with_linked_and_fingerprinted_traces(pstore: PromptStore) -> None:
    app = make_prompts_app(pstore)
    async with app.run_test(size=SIZE) as pilot:
        screen = await go_prompts(pilot)
        await wait_for(pilot, lambda: screen.fingerprints is not None, what="fingerprints")
        table = screen.query_one(PromptTable)
        rows = [table.rows_by_key[k] for k in table.order]
        by = {(r.prompt_id, r.version): r for r in rows}
        current = by[("support-answer", pstore.support_version)]
        assert current.linked["traces"] == 6 and current.fingerprinted is None
        assert by[("support-answer", OLD_SUPPORT_VERSION)].sources == ("trace",)
        summarize = by[("summarize", pstore.summarize_version)]
        assert summarize.linked is None and summarize.fingerprinted["traces"] == 3
        info = rendered(screen.query_one("#prompts-info", Static))
        assert "2 prompts" in info and "+fp" in info
        table.move_cursor(row=table.order.index(current.key))
        await pilot.pause()
        assert "{{question}}" in rendered(screen.query_one("#prompts-preview", Static))
        await pilot.press("enter")
        await settle(pilot, app)
        assert screen.tab == "editor" and screen.current_id == "support-answer"


# -- the editor ------------------------------------------------------------------------------
async def test_open_prompt_from_a_trace_brings_its_variables(pstore: PromptStore) -> None:
    app = make_prompts_app(pstore)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("slash", *"prompt:support-answer", "enter")
        await settle(pilot, app)
        await pilot.press("p")
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, PromptsScreen) and screen.tab == "editor"
        assert screen.current_id == "support-answer"
        assert screen.editor.text == (pstore.prompts_dir / "support-answer.yaml").read_text()
        assert screen.source is not None and screen.source.trace_id == pstore.linked_traces[0]
        assert screen.source.linked_by == "prompt.id"
        variables = rendered(screen.query_one("#prompt-vars", Static))
        assert "{{question}} = Why was I charged twice?" in variables and "(trace)" in variables
        header = rendered(screen.query_one("#prompts-header", Static))
        assert f"support-answer@{pstore.support_version}" in header and "saved" in header


async def test_validation_is_live_with_line_numbers(pstore: PromptStore) -> None:
    app = make_prompts_app(pstore)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(pilot)
        area = screen.editor.area
        row = await type_after(pilot, screen, "Customer ({{plan}} plan) asks:", " in a {{tone}} tone")
        issues = rendered(screen.query_one("#prompt-issues", Static))
        assert f"✗ line {row + 1}: {{{{tone}}}} is used but not declared under variables:" in issues
        assert "{{tone}}" in rendered(screen.query_one("#prompt-vars", Static))
        assert "✗ 1 error" in rendered(screen.query_one("#prompts-header", Static))
        area.move_cursor((0, 0))
        await pilot.press(*"bad: [", "enter")
        await settle(pilot, app)
        issues = rendered(screen.query_one("#prompt-issues", Static))
        assert "✗ line 3: YAML syntax" in issues  # where the parser gave up
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert not isinstance(app.screen, ChoiceDialog)  # nothing to confirm: it cannot be saved
        assert (pstore.prompts_dir / "support-answer.yaml").read_text().startswith("id: support-answer")


async def test_request_fields_write_into_the_yaml(pstore: PromptStore) -> None:
    app = make_prompts_app(pstore)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(pilot)
        model = screen.query_one("#field-model", Input)
        assert model.value == "gpt-4o-mini"
        model.focus()
        model.value = ""
        await pilot.press(*"gpt-4o", "enter")
        temperature = screen.query_one("#field-temperature", Input)
        temperature.focus()
        temperature.value = ""
        await pilot.press(*"0.7", "tab")  # leaving the field applies it too
        await settle(pilot, app)
        text = screen.editor.text
        assert "model: gpt-4o\n" in text and "temperature: 0.7\n" in text
        assert screen.editor.prompt is not None and screen.editor.prompt.temperature == 0.7
        screen.editor.area.focus()
        await pilot.press("ctrl+z")  # a field change is one edit of the text, undoable
        await settle(pilot, app)
        assert "temperature: 0.2\n" in screen.editor.text


async def test_save_shows_the_diff_and_writes_the_file(pstore: PromptStore) -> None:
    app = make_prompts_app(pstore)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(pilot)
        await type_after(pilot, screen, "Be accurate and brief.", " Answer in one paragraph.")
        assert "unsaved" in rendered(screen.query_one("#prompts-header", Static))
        await pilot.press("ctrl+s")
        box = await dialog(pilot, "save")
        diff = rendered(box.query_one("#dialog-diff", Static))
        assert "-   Be accurate and brief." in diff and "+   Be accurate and brief. Answer in one paragraph." in diff
        assert "+4 −0 words" in rendered(box.query_one("#dialog-diff-stats", Static))
        await choose(pilot, "Save")
        path = pstore.prompts_dir / "support-answer.yaml"
        assert "Answer in one paragraph." in path.read_text()
        saved = PromptRegistry(pstore.prompts_dir).get("support-answer")
        assert screen.base_version == saved.version != pstore.support_version
        assert not screen.dirty and "saved" in rendered(screen.query_one("#prompts-header", Static))
        assert PromptRegistry(pstore.prompts_dir).load_draft("support-answer") is None


async def test_an_autosave_that_lands_after_the_save_keeps_no_draft(pstore: PromptStore) -> None:
    """The autosave timer runs while the save dialog is open: its draft of the text being
    saved must not outlive the save (it did, now and then, in CI)."""
    app = make_prompts_app(pstore)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(pilot)
        await type_after(pilot, screen, "Be accurate and brief.", " Answer in one paragraph.")
        text = screen.editor.text
        await pilot.press("ctrl+s")
        await dialog(pilot, "save")
        await choose(pilot, "Save")
        await app.workers.wait_for_complete()
        screen.save_draft("support-answer", text, None)  # the autosave that fired meanwhile, late
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert PromptRegistry(pstore.prompts_dir).load_draft("support-answer") is None
        await type_after(pilot, screen, "Answer in one paragraph.", " Cite the doc.")
        screen.save_draft("support-answer", screen.editor.text, None)  # a new edit is kept again
        await app.workers.wait_for_complete()
        assert PromptRegistry(pstore.prompts_dir).load_draft("support-answer") is not None


async def test_cancelled_save_writes_nothing(pstore: PromptStore) -> None:
    app = make_prompts_app(pstore)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(pilot)
        screen.editor.area.insert("# a note\n", (0, 0))
        await settle(pilot, app)
        await pilot.press("ctrl+s")
        await dialog(pilot, "save")
        await pilot.press("escape")
        await settle(pilot, app)
        assert "# a note" not in (pstore.prompts_dir / "support-answer.yaml").read_text()
        assert screen.dirty


async def test_draft_autosaved_kept_on_leaving_and_restored(pstore: PromptStore) -> None:
    app = make_prompts_app(pstore)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(pilot)
        screen.editor.area.insert("# draft line\n", (1, 0))
        await settle(pilot, app)
        await wait_for(pilot, lambda: screen.draft_text == screen.editor.text, 8, "the autosave timer")
        draft = PromptRegistry(pstore.prompts_dir).load_draft("support-answer")
        assert draft is not None and "# draft line" in draft.text and draft.base_version == pstore.support_version
        assert "draft kept 12:30:00 UTC" in rendered(screen.query_one("#prompts-header", Static))
        screen.editor.area.insert("# typed after the autosave\n", (1, 0))
        await settle(pilot, app)
        app.action_switch_mode("traces")  # what "1" or the palette's "go: traces" does
        await dialog(pilot, "leave")
        assert app.current_mode == "prompts"
        await choose(pilot, "Keep draft & leave")
        assert app.current_mode == "traces"
    draft = PromptRegistry(pstore.prompts_dir).load_draft("support-answer")
    assert draft is not None and "# typed after the autosave" in draft.text
    assert "# draft line" not in (pstore.prompts_dir / "support-answer.yaml").read_text()

    again = make_prompts_app(pstore)  # a later session
    async with again.run_test(size=SIZE) as pilot:
        screen = await open_editor(pilot)
        assert screen.editor.text == draft.text and screen.dirty
        assert "draft restored" in rendered(screen.query_one("#prompts-header", Static))
        screen.action_discard_draft()
        await settle(pilot, again)
        assert not screen.dirty and PromptRegistry(pstore.prompts_dir).load_draft("support-answer") is None


async def test_quit_with_unsaved_work_asks_first(pstore: PromptStore) -> None:
    app = make_prompts_app(pstore)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(pilot)
        screen.editor.area.insert("# unsaved\n", (0, 0))
        await settle(pilot, app)
        await pilot.press("ctrl+q")
        await dialog(pilot, "leave")
        await choose(pilot, "Stay")
        assert app.is_running and screen.dirty
        await pilot.press("ctrl+q")
        await dialog(pilot, "leave")
        await choose(pilot, "Discard & leave")
    assert app.return_code == 0
    assert "# unsaved" not in (pstore.prompts_dir / "support-answer.yaml").read_text()
    assert PromptRegistry(pstore.prompts_dir).load_draft("support-answer") is None


async def test_new_prompt_saves_under_its_id(pstore: PromptStore) -> None:
    app = make_prompts_app(pstore)
    async with app.run_test(size=SIZE) as pilot:
        screen = await go_prompts(pilot)
        screen.action_new_prompt()
        await settle(pilot, app)
        text = screen.editor.text.replace("id: new-prompt", "id: triage")
        screen.editor.apply_text(text)
        await settle(pilot, app)
        await pilot.press("ctrl+s")
        box = await dialog(pilot, "save")
        assert "triage.yaml" in str(box.query_one("#dialog-title").render())
        await choose(pilot, "Save")
        assert (pstore.prompts_dir / "triage.yaml").read_text() == text
        assert screen.current_id == "triage"


async def test_diff_between_git_and_trace_versions(pstore: PromptStore) -> None:
    folder = pstore.prompts_dir
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    subprocess.run([*git, "-C", str(folder), "add", "."], check=True)
    subprocess.run([*git, "-C", str(folder), "commit", "-qm", "first"], check=True)
    path = folder / "support-answer.yaml"
    path.write_text(path.read_text().replace("Be accurate and brief.", "Be accurate, kind and brief."))
    subprocess.run([*git, "-C", str(folder), "commit", "-qam", "kinder"], check=True)
    app = make_prompts_app(pstore)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(pilot)
        screen.action_show_tab("list")
        table = screen.query_one(PromptTable)
        table.move_cursor(row=next(i for i, k in enumerate(table.order) if k.startswith("support-answer")))
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, VersionDiffScreen), 10, "versions")
        versions = app.screen
        labels = [v.version for v in versions.versions]
        assert labels[1] == pstore.support_version and OLD_SUPPORT_VERSION in labels
        diff = rendered(versions.query_one("#dialog-diff", Static))
        assert "-   Be accurate and brief." in diff and "+   Be accurate, kind and brief." in diff
        versions.query_one("#versions-old", Select).value = OLD_SUPPORT_VERSION
        await settle(pilot, app)
        diff = rendered(versions.query_one("#dialog-diff", Static))
        assert "known only from traces" in diff and "You are a support bot." in diff
        await pilot.press("escape")
        await settle(pilot, app)
        assert app.screen is screen


# -- single replay ----------------------------------------------------------------------------
async def test_replay_streams_a_against_b_on_the_stub(pstore: PromptStore, openai_stub) -> None:  # type: ignore[no-untyped-def]
    words = " ".join(f"word{i}" for i in range(40))
    openai_stub.script("drip-50ms", words)
    app = make_prompts_app(pstore)
    async with app.run_test(size=SIZE) as pilot:
        screen = await go_prompts(pilot)
        app.open_replay(pstore.linked_traces[0], None)
        await settle(pilot, app)
        assert screen.tab == "replay" and screen.current_id == "support-answer"
        a = screen.view.side("A")
        assert a.text == "The second charge is a pending hold; it drops in a day."  # the recorded answer, before any call
        screen.setup.set_value("replay-endpoint", openai_stub.base_url)
        screen.setup.set_value("replay-model", "drip-50ms")
        await pilot.pause()
        await pilot.press("ctrl+r")
        b = screen.view.side("B")
        seen_partial: list[str] = []

        def progressed() -> bool:
            if b.text and b.text != words and "B" not in screen.results:
                seen_partial.append(b.text)
            return "B" in screen.results

        await wait_for(pilot, progressed, 30, "B to finish")
        assert seen_partial and words.startswith(seen_partial[0])  # tokens showed before the end
        assert len(seen_partial) < 40  # coalesced: fewer repaints than tokens
        await settle(pilot, app)
        result = screen.results["B"]
        assert result.error is None and b.text == words and result.from_recording is False
        assert result.usage.output_tokens == 40 and result.ttft_ms is not None
        metrics = rendered(b.query_one(".replay-metrics", Static))
        assert "40 out tokens" in metrics and "ttft" in metrics and "recorded" not in metrics
        assert "diff A → B" in rendered(screen.query_one("#replay-diff-title", Static))
        sent = openai_stub.calls_for("drip-50ms")[0].body
        assert sent["messages"][1]["content"] == "Customer (Business plan) asks:\nWhy was I charged twice?\n"
        assert sent["temperature"] == 0.2 and sent["max_tokens"] == 200


async def test_replay_b_uses_the_unsaved_edit_and_other_parameters(pstore: PromptStore, openai_stub) -> None:  # type: ignore[no-untyped-def]
    app = make_prompts_app(pstore)
    async with app.run_test(size=SIZE) as pilot:
        screen = await go_prompts(pilot)
        app.open_prompt("support-answer", trace_id=pstore.linked_traces[1])
        await settle(pilot, app)
        screen.editor.apply_text(screen.editor.text.replace("asks:", "asks politely:"))
        await settle(pilot, app)
        screen.setup.set_value("replay-endpoint", openai_stub.base_url.removesuffix("/v1"))
        screen.setup.set_value("replay-a", "original")
        screen.setup.set_value("replay-model", "echo")
        screen.setup.set_value("replay-temperature", "0.9")
        await pilot.pause()
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: len(screen.results) == 2, 30, "both sides")
        await settle(pilot, app)
        a, b = screen.results["A"], screen.results["B"]
        assert a.error is None and b.error is None
        assert b.text.startswith("Customer (Team plan) asks politely:\nIs the API down?")
        assert "asks politely" not in a.text
        b_body = openai_stub.calls_for("echo")[0].body
        assert b_body["temperature"] == 0.9
        assert "identical" not in rendered(screen.query_one("#replay-diff-title", Static))


async def test_replay_without_a_key_says_what_to_set(pstore: PromptStore) -> None:
    app = make_prompts_app(pstore)
    async with app.run_test(size=SIZE) as pilot:
        screen = await go_prompts(pilot)
        app.open_replay(pstore.linked_traces[0], None)
        await settle(pilot, app)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: len(screen.results) == 2, 30, "results")
        await settle(pilot, app)
        metrics = rendered(screen.view.side("B").query_one(".replay-metrics", Static))
        assert "No API key for openai: set OPENAI_API_KEY, or run `llmops-console keys set openai`." in metrics
        assert "Traceback" not in metrics
        assert "B failed" in rendered(screen.query_one("#replay-diff", Static))


def test_endpoint_normalization() -> None:
    assert normalize_endpoint("127.0.0.1:8000") == "http://127.0.0.1:8000/v1"
    assert normalize_endpoint("http://h:1/") == "http://h:1/v1"
    assert normalize_endpoint("https://h/api/v1") == "https://h/api/v1"
    assert normalize_endpoint("  ") is None


# -- batch replay ------------------------------------------------------------------------------
async def test_batch_estimate_first_then_bounded_concurrency(pstore: PromptStore, openai_stub) -> None:  # type: ignore[no-untyped-def]
    app = make_prompts_app(pstore)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("slash", *"prompt:support-answer", "enter")
        await settle(pilot, app)
        app.screen.action_batch_replay()  # "traces: replay these in a batch"
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, PromptsScreen) and screen.tab == "batch"
        assert screen.batch.value("batch-query") == "prompt:support-answer"
        screen.open_prompt("support-answer")
        await settle(pilot, app)
        screen.setup.set_value("replay-endpoint", openai_stub.base_url)
        screen.setup.set_value("replay-model", "slow-300ms")
        screen.batch.query_one("#batch-concurrency", Input).value = "3"
        await pilot.pause()
        await pilot.press("ctrl+b")
        box = await dialog(pilot, "estimate")
        body = rendered(box.query_one("#dialog-body", Static))
        assert "8 calls" in body and "B: prompt support-answer@" in body and "concurrency 3" in body
        assert openai_stub.calls == []  # nothing spent before the answer
        await choose(pilot, "Run")
        await wait_for(pilot, lambda: screen.batch_report is not None, 60, "the batch")
        await settle(pilot, app)
        report = screen.batch_report
        assert len(report.rows) == 8 and all(r.status == "done" for r in report.rows)
        assert 1 < openai_stub.max_in_flight <= 3
        assert all(r.b.result.error is None for r in report.rows)
        table = screen.query_one(BatchTable)
        assert table.row_count == 8
        summary = rendered(screen.query_one("#batch-summary", Static))
        assert "pass rate 100% → 100%" in summary and "8/8 rows done" in summary
        await pilot.press("f5")
        table.focus()
        await pilot.press("j", "enter")
        await settle(pilot, app)
        assert screen.tab == "replay" and set(screen.results) == {"A", "B"}


async def test_batch_estimate_declined_spends_nothing(pstore: PromptStore, openai_stub) -> None:  # type: ignore[no-untyped-def]
    app = make_prompts_app(pstore)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(pilot)
        screen.setup.set_value("replay-endpoint", openai_stub.base_url)
        screen.batch.query_one("#batch-query", Input).value = "prompt:support-answer"
        await pilot.pause()
        await pilot.press("ctrl+b")
        await dialog(pilot, "estimate")
        await choose(pilot, "Cancel")
        assert openai_stub.calls == [] and screen.batch_runner is None
        assert "nothing was spent" in rendered(screen.query_one("#batch-progress-text", Static))


async def test_batch_cancel_stops_the_run(pstore: PromptStore, openai_stub) -> None:  # type: ignore[no-untyped-def]
    app = make_prompts_app(pstore)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(pilot)
        screen.setup.set_value("replay-endpoint", openai_stub.base_url)
        screen.setup.set_value("replay-model", "slow-2s")
        screen.batch.query_one("#batch-query", Input).value = "prompt:support-answer"
        screen.batch.query_one("#batch-concurrency", Input).value = "2"
        await pilot.pause()
        await pilot.press("ctrl+b")
        await dialog(pilot, "estimate")
        await choose(pilot, "Run", wait=False)
        await wait_for(pilot, lambda: openai_stub.in_flight == 2, 20, "calls in flight")
        await pilot.click("#batch-cancel")
        await wait_for(pilot, lambda: screen.batch_report is not None, 20, "the cancelled report")
        await settle(pilot, app)
        report = screen.batch_report
        assert report.cancelled and sum(r.status == "cancelled" for r in report.rows) >= 6
        assert len(openai_stub.calls) == 2  # no call started after the cancel
        assert "cancelled" in rendered(screen.query_one("#batch-summary", Static))
        assert screen.batch_runner is None and not screen.query_one("#batch-run").disabled


def error_store(root: Path, stub_address: str, closed_port: int) -> PromptStore:
    """One trace per failure a batch must survive, each recorded against a server."""
    support_version, summarize_version = write_prompts(root / "prompts")
    cases = [("echo", "openai", stub_address), ("fail-401", "openai", stub_address),
             ("rate-limit-429", "openai", stub_address), ("context-length", "openai", stub_address),
             ("slow-2s", "openai", stub_address), ("echo", "openai", f"127.0.0.1:{closed_port}"),
             ("claude-sonnet-4-6", "anthropic", None)]
    rows = []
    for i, (model, provider, server) in enumerate(cases):
        rows += llm_trace(100 + i, T0 + timedelta(minutes=i), [chat("user", f"case {i}: {model}")], "recorded ok.",
                          model=model, provider=provider, server_address=server, root=f"case {model}")
    write(root / "store", rows)
    return PromptStore(root / "prompts", root / "store", support_version, summarize_version, [], [], [], [])


async def test_batch_errors_stay_in_their_rows(tmp_path: Path, openai_stub) -> None:  # type: ignore[no-untyped-def]
    from tests.support.collector import free_port

    address = openai_stub.base_url.split("://")[1].removesuffix("/v1")
    ps = error_store(tmp_path, address, free_port())
    app = make_prompts_app(ps)
    async with app.run_test(size=SIZE) as pilot:
        screen = await go_prompts(pilot)
        screen.replay.timeout_s = 0.5
        screen.setup.set_value("replay-b", "original")
        screen.batch.query_one("#batch-query", Input).value = "name:case*"
        screen.batch.query_one("#batch-concurrency", Input).value = "4"
        await pilot.pause()
        await pilot.press("ctrl+b")
        await dialog(pilot, "estimate")
        await choose(pilot, "Run")
        await wait_for(pilot, lambda: screen.batch_report is not None, 60, "the batch")
        await settle(pilot, app)
        report = screen.batch_report
        notes = {r.id: r for r in report.rows}
        assert all(r.status == "done" for r in report.rows) and not report.cancelled
        kinds = sorted(r.b.result.error.kind if r.b.result.error else "ok" for r in report.rows)
        assert kinds == ["auth", "connection", "context_length", "no_key", "ok", "rate_limit", "timeout"]
        table = screen.query_one(BatchTable)
        texts = [table.note(i) for i in range(table.row_count)]
        joined = "\n".join(texts)
        assert "rejected the API key (401)" in joined and "Rate limited" in joined
        assert "context length exceeded" in joined and "did not answer within 0.5 s" in joined
        assert "Cannot connect" in joined and "No API key for anthropic" in joined
        assert "Traceback" not in joined
        summary = rendered(screen.query_one("#batch-summary", Static))
        assert "6 errors" in summary and "7/7 rows done" in summary
        assert len(notes) == 7


async def test_batch_over_a_dataset_file(pstore: PromptStore, openai_stub, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    dataset = tmp_path / "cases.jsonl"
    dataset.write_text("\n".join(json.dumps(r) for r in [
        {"id": "refund", "variables": {"question": "Where is my refund?"}, "checks": [{"type": "contains", "value": "refund"}]},
        {"id": "keys", "variables": {"question": "How do I rotate a key?"}, "checks": [{"type": "contains", "value": "zebra"}]},
        {"trace_id": pstore.linked_traces[0]},
    ]) + "\n")
    app = make_prompts_app(pstore)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(pilot)
        screen.setup.set_value("replay-endpoint", openai_stub.base_url)
        screen.setup.set_value("replay-model", "echo")
        screen.batch.query_one("#batch-source", Select).value = "dataset"
        screen.batch.query_one("#batch-query", Input).value = str(dataset)
        await pilot.pause()
        await pilot.press("ctrl+b")
        box = await dialog(pilot, "estimate")
        assert "A is the saved version" in rendered(box.query_one("#dialog-body", Static))
        await choose(pilot, "Run")
        await wait_for(pilot, lambda: screen.batch_report is not None, 60, "the batch")
        rows = {r.id: r for r in screen.batch_report.rows}
        assert rows["refund"].b.passed and not rows["keys"].b.passed
        assert rows[pstore.linked_traces[0]].b.result.error is None


async def test_replays_are_recorded_to_the_collector(pstore: PromptStore, openai_stub) -> None:  # type: ignore[no-untyped-def]
    from tests.support.collector import start_inprocess

    rc = start_inprocess(pstore.store)
    try:
        settings = Settings(store=pstore.store, prompts_dir=pstore.prompts_dir, listen=rc.settings.listen)
        link = CollectorLink(settings, mode="external", label="collector (test)")
        app = ConsoleApp(settings, link=link, sample_status=False)
        async with app.run_test(size=SIZE) as pilot:
            screen = await go_prompts(pilot)
            app.open_replay(pstore.linked_traces[0], None)
            await settle(pilot, app)
            screen.setup.set_value("replay-endpoint", openai_stub.base_url)
            await pilot.pause()
            await pilot.press("ctrl+r")
            await wait_for(pilot, lambda: len(screen.results) == 2, 30, "results")
            assert screen.results["B"].trace_id is not None
            recorder = screen.replay.recorder
            assert recorder.flush(10.0), recorder.last_error
            assert screen.replay.recording_note() == "recorded to the collector", recorder.last_error
            traced = screen.results["B"].trace_id
        rc.wait_stored(1)
        deadline = time.monotonic() + 30
        while (spans := app.store.traces.spans(traced)).height == 0 and time.monotonic() < deadline:
            time.sleep(0.1)  # stored, and now queryable once the manifest is published
        assert spans.height == 1 and spans["prompt_id"][0] == "support-answer"
        assert spans["service"][0] == "llmops-console-replay"
    finally:
        rc.stop()
