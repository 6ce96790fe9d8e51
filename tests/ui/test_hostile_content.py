"""The UI survives hostile trace content, and never interprets it as markup or
terminal control: Rich markup, ANSI and OSC escapes, control characters, 5 MB
payloads, base64 images, 500-level trees, 20,000-span traces, odd bytes."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path

import pytest

from console.screens.trace_detail import TraceScreen
from console.text import clean
from console.widgets.trace_table import TraceTable
from console.widgets.waterfall import SpanWaterfall
from tests.support.stores import T0, chat, hexid, span, write
from tests.ui.conftest import make_app, settle

SIZE = (120, 40)
MARKUP = "[bold red]boom[/] [link=https://evil.example]click[/link] [@click=app.quit]x[/]"
ESCAPES = "\x1b[31mred\x1b[0m \x1b]52;c;ZXZpbA==\x07 bell\x07 back\x08 nul\x00 \u202eRTL"


def _trace(i: int, spans: list[dict]) -> list[dict]:
    return spans


def hostile_rows() -> list[dict]:
    rows = []
    t = T0
    # markup and escapes in every text field
    tid = hexid("markup")
    rows.append(span(tid, hexid("m-root", n=16), None, MARKUP, t, 10, kind="agent", service=ESCAPES,
                     user_id=MARKUP, input_value=ESCAPES + MARKUP))
    rows.append(span(tid, hexid("m-llm", n=16), hexid("m-root", n=16), "chat " + ESCAPES, t, 5, kind="llm",
                     model=MARKUP, input_messages=json.dumps([chat("user", MARKUP + ESCAPES)]),
                     output_messages=json.dumps([chat("assistant", "[/]" * 50 + ESCAPES)]),
                     attributes=json.dumps({MARKUP: ESCAPES, "nested": {"deep": [MARKUP]}})))
    # a 5 MB payload and an inline base64 image
    tid = hexid("huge")
    img = "data:image/png;base64," + base64.b64encode(bytes(range(256)) * 4000).decode()
    rows.append(span(tid, hexid("h-root", n=16), None, "huge payload", t + timedelta(seconds=1), 10, kind="llm",
                     model="gpt-4o", input_messages=json.dumps([chat("user", "x" * 5_000_000),
                                                                chat("user", img)]),
                     output_value="y" * 5_000_000))
    # a 500-level deep chain
    tid = hexid("deep")
    parent = None
    for d in range(500):
        sid = hexid("deep", d, n=16)
        rows.append(span(tid, sid, parent, f"level {d}", t + timedelta(seconds=2, microseconds=d), 1))
        parent = sid
    # 20,000 spans in one trace
    tid = hexid("wide")
    root = hexid("wide-root", n=16)
    rows.append(span(tid, root, None, "wide root", t + timedelta(seconds=3), 20_000, kind="agent"))
    for k in range(19_999):
        rows.append(span(tid, hexid("wide", k, n=16), root, f"step {k}", t + timedelta(seconds=3, milliseconds=k), 1,
                         kind="tool", input_value=json.dumps({"k": k})))
    # replacement characters and text that came in as bytes
    tid = hexid("bytes")
    rows.append(span(tid, hexid("b-root", n=16), None, "bytes \ufffd\ufffd odd",
                     t + timedelta(seconds=4), 1, kind="tool",
                     input_value="base64:" + base64.b64encode(b"\xff\xfe\x00junk\x80").decode(),
                     output_value=bytes(range(256)).decode("latin-1")))
    return rows


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("hostile") / "store"
    write(store, hostile_rows())
    return store


def test_clean_makes_control_visible() -> None:
    out = clean(ESCAPES + "\ud800")
    assert "\x1b" not in out and "\x07" not in out and "\x00" not in out and "\u202e" not in out
    assert "␛[31mred" in out and "\ufffd" in out
    assert clean("a" * 10, limit=4).startswith("aaaa …[6 more chars]")


async def test_list_shows_markup_literally(hostile_store: Path) -> None:
    app = make_app(hostile_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        table = app.screen.query_one(TraceTable)
        assert table.row_count == 5
        svg = app.export_screenshot()
        assert "\x1b" not in svg
        assert "[bold&#160;red]boom" in svg or "[bold red]boom" in svg


@pytest.mark.parametrize("name", ["markup", "huge", "deep", "wide", "bytes"])
async def test_open_each_hostile_trace(hostile_store: Path, name: str) -> None:
    app = make_app(hostile_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        table = app.screen.query_one(TraceTable)
        tid = hexid(name)
        table.move_cursor(row=table.order.index(tid))
        await pilot.press("enter")
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, TraceScreen)
        wf = screen.query_one(SpanWaterfall)
        expected = {"markup": 2, "huge": 1, "deep": 500, "wide": 20_000, "bytes": 1}[name]
        assert len(wf.spans) == expected
        # walk through spans and the detail tabs: nothing may crash
        await pilot.press("j", "j", "G", "g", "tab")
        for tab in ("tab-attrs", "tab-raw", "tab-cost", "tab-chat"):
            screen.query_one("TabbedContent").active = tab
            await pilot.pause()
        svg = app.export_screenshot()
        assert "\x1b" not in svg and "\x07" not in svg
        if name == "deep":
            await pilot.press("tab", "G")  # tab took focus to the detail's tabs: back to the tree first
            assert wf.cursor == 499
        if name == "markup":
            assert "boom" in svg
