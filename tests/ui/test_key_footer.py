"""The footer keeps its key widgets while the keys it shows stay the same, and shows new
ones when they change; the console's collection policy is undone when the app ends."""

from __future__ import annotations

import gc

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from console.gc_policy import GcPolicy
from console.widgets.key_footer import KeyFooter


class _Pane(Widget, can_focus=True):
    DEFAULT_CSS = "_Pane { height: 3; }"


class _Left(_Pane):
    BINDINGS = [Binding("a", "noop", "Alpha")]


class _Right(_Pane):
    BINDINGS = [Binding("b", "noop", "Beta")]


class _FooterApp(App[None]):
    def compose(self) -> ComposeResult:
        yield _Left(id="left")
        yield _Right(id="right")
        yield KeyFooter()


def _keys(app: App) -> list[FooterKey]:
    return list(app.screen.query_one(Footer).query(FooterKey))


async def test_the_footer_keeps_its_keys_until_the_keys_shown_change() -> None:
    app = _FooterApp()
    async with app.run_test() as pilot:
        app.query_one("#left").focus()
        await pilot.pause()
        first = _keys(app)
        assert [k.description for k in first][0] == "Alpha"
        # the same keys announced again (bindings refreshed, another screen pushed and
        # popped): the widgets stay
        app.screen.refresh_bindings()
        await pilot.pause()
        app.push_screen(Screen())
        await pilot.pause()
        app.pop_screen()
        await pilot.pause()
        assert [id(k) for k in _keys(app)] == [id(k) for k in first]
        # other keys: shown
        app.query_one("#right").focus()
        await pilot.pause()
        assert [k.description for k in _keys(app)][0] == "Beta"


def test_the_gc_policy_is_undone_when_the_app_ends() -> None:
    before = gc.get_threshold()
    policy = GcPolicy()
    policy.apply()
    try:
        assert gc.get_threshold()[:2] == before[:2]
        assert gc.get_threshold()[2] > 10**6  # no full collection from the counters
        assert gc.get_freeze_count() > 0
        policy.collect()
    finally:
        policy.restore()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


async def test_the_console_restores_python_gc_after_it_quits(demo_store) -> None:  # type: ignore[no-untyped-def]
    from tests.ui.conftest import make_app

    before = gc.get_threshold()
    app = make_app(demo_store)
    async with app.run_test() as pilot:
        await pilot.pause()
        await pilot.pause()
        assert gc.get_threshold()[2] > 10**6
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
