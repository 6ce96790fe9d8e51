"""Snapshots of the prompts pane at 120x40 in both themes: the editor with a live
validation message, a completed A/B replay side by side, and a completed batch.

Deterministic: a fixed store and prompts folder, the stub's scripted replies, a frozen
clock, and measured times (latency, time to first token) replaced by fixed ones once
the runs are done; the stub's random port is shown as a fixed endpoint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from tests.support.openai_stub import openai_stub, openai_stub_server  # noqa: F401
from tests.support.prompt_store import build
from tests.ui.conftest import settle
from tests.ui.prompts_fixtures import (  # noqa: F401
    SIZE,
    freeze_timings,
    go_prompts,
    isolated_keys,
    make_prompts_app,
    wait_for,
)

THEMES = ["llmops-dark", "llmops-light"]
SHOWN_ENDPOINT = "http://127.0.0.1:8000/v1"
CHECKS = """\
checks:
  - {type: length, max: 12, unit: words}
  - {type: not_contains, value: sorry}
"""

pytestmark = pytest.mark.usefixtures("isolated_keys")


def short_answer(body: dict[str, Any]) -> str:
    """B's replies: short, except for the refund question (a regression against A)."""
    question = body["messages"][-1]["content"]
    if "refund" in question:
        return "Sorry for the wait! Your refund left our bank on Monday and usually arrives in three to five business days."
    if "charged twice" in question:
        return "The second charge is a temporary hold; it disappears within a day."
    return "Short answer: " + " ".join(question.split()[-4:])


def judge_reply(body: dict[str, Any]) -> str:
    response = body["messages"][-1]["content"].split("RESPONSE:\n", 1)[-1]
    score = 0.9 if len(response.split()) <= 12 else 0.4
    return json.dumps({"score": score, "reason": "length and tone"})


async def steady(pilot: Any, screen: Any) -> None:
    """No toast, no blinking cursor: what is left on screen is the pane."""
    pilot.app.clear_notifications()
    screen.editor.area.cursor_blink = False
    await settle(pilot, pilot.app)


@pytest.mark.parametrize("theme", THEMES)
def test_editor(snap_compare, tmp_path: Path, theme: str) -> None:  # type: ignore[no-untyped-def]
    ps = build(tmp_path)

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        screen = await go_prompts(pilot)
        pilot.app.open_prompt("support-answer", trace_id=ps.linked_traces[0])
        await settle(pilot, pilot.app)
        area = screen.editor.area
        row = next(i for i, line in enumerate(area.text.splitlines()) if "asks:" in line)
        area.move_cursor((row, len(area.document.get_line(row))))
        area.insert(" (reply in a {{tone}} tone)")
        await settle(pilot, pilot.app)
        screen.editor.validate_now()
        screen.autosave()
        await steady(pilot, screen)

    assert snap_compare(make_prompts_app(ps, theme), terminal_size=SIZE, run_before=run_before)


@pytest.mark.parametrize("theme", THEMES)
def test_replay_side_by_side(snap_compare, tmp_path: Path, theme: str, openai_stub) -> None:  # type: ignore[no-untyped-def]
    ps = build(tmp_path)
    openai_stub.script("gpt-4o-mini", short_answer)

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        screen = await go_prompts(pilot)
        pilot.app.open_replay(ps.linked_traces[0], None)
        await settle(pilot, pilot.app)
        screen.setup.set_value("replay-endpoint", openai_stub.base_url)
        await pilot.pause()
        screen.action_run_replay()
        await wait_for(pilot, lambda: len(screen.results) == 2, 30, "the replay")
        screen.show_result("B", freeze_timings(screen.results["B"]))
        screen.setup.set_value("replay-endpoint", SHOWN_ENDPOINT)
        await steady(pilot, screen)

    assert snap_compare(make_prompts_app(ps, theme), terminal_size=SIZE, run_before=run_before)


@pytest.mark.parametrize("theme", THEMES)
def test_batch_results(snap_compare, tmp_path: Path, theme: str, openai_stub) -> None:  # type: ignore[no-untyped-def]
    ps = build(tmp_path)
    path = ps.prompts_dir / "support-answer.yaml"
    path.write_text(path.read_text() + CHECKS)
    openai_stub.script("gpt-4o-mini", short_answer)
    openai_stub.script("judge", judge_reply)

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        screen = await go_prompts(pilot)
        screen.open_prompt("support-answer")
        await settle(pilot, pilot.app)
        screen.setup.set_value("replay-endpoint", openai_stub.base_url)
        screen.batch.query_one("#batch-query", Input).value = "prompt:support-answer"
        screen.batch.query_one("#batch-judge", Input).value = "openai/judge"
        await pilot.pause()
        screen.action_run_batch()
        await wait_for(pilot, lambda: pilot.app.screen.id == "estimate-dialog", 20, "the estimate")
        pilot.app.screen.dismiss("run")
        await wait_for(pilot, lambda: screen.batch_report is not None, 60, "the batch")
        for row in screen.batch_report.rows:
            freeze_timings(row.b.result, latency_ms=600.0 + 15 * row.index)
        from console.replay.batch import summarize

        screen.batch_report.summary = summarize(screen.batch_report.rows)
        screen.show_batch_report(screen.batch_report)
        screen.setup.set_value("replay-endpoint", SHOWN_ENDPOINT)
        await steady(pilot, screen)

    assert snap_compare(make_prompts_app(ps, theme), terminal_size=SIZE, run_before=run_before)
