"""Replay calls for the prompts pane, on an event loop of their own.

LiteLLM's streaming, the batch runner and the recorder run on a private loop in a
daemon thread, so the UI loop only paints and takes keys while 16 calls stream.
The screen awaits results from an async worker (``asyncio.wrap_future``);
cancelling that worker cancels the call on the replay loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import os
import socket
import threading
from collections.abc import Coroutine
from typing import Any

from console.replay.engine import ReplayEngine


def _yield_to_the_ui() -> None:
    """Lower this thread's scheduling priority (Linux schedules threads one by one), so
    that when the machine is busy the UI thread gets the CPU first and keys stay quick."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):
        pass  # not Linux, or not allowed: replays just compete as equals


class ReplayLoop:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _ensure(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def run() -> None:
                    _yield_to_the_ui()
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                self._thread = threading.Thread(target=run, name="replay-loop", daemon=True)
                self._thread.start()
                ready.wait()
                self._loop = loop
            return self._loop

    def submit(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[Any]:
        return asyncio.run_coroutine_threadsafe(coro, self._ensure())

    async def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Await ``coro`` on the replay loop from another loop (the UI's)."""
        return await asyncio.wrap_future(self.submit(coro))

    def call_soon(self, fn: Any, *args: Any) -> None:
        self._ensure().call_soon_threadsafe(fn, *args)

    def stop(self) -> None:
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)


async def _first_call() -> None:
    from console.replay.request import RecordedRequest

    with socket.socket() as closed:  # bound, never listening: the call is refused at once
        closed.bind(("127.0.0.1", 0))
        engine = ReplayEngine(api_base=f"http://127.0.0.1:{closed.getsockname()[1]}/v1", timeout_s=5.0)
        await engine.run(RecordedRequest(messages=[{"role": "user", "content": "warm-up"}], model="warm-up"),
                         record=False)


class BatchFeed:
    """What a batch's callbacks (on the replay loop) leave for the screen's timer to draw:
    finished rows and the latest progress. No message per row: the UI samples it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: list[Any] = []
        self._progress: Any = None
        self.similarity: dict[int, float | None] = {}  # by row index, computed here, not on the UI thread

    def row(self, row: Any) -> None:
        similarity = row.similarity  # a word diff of the two outputs: CPU work the UI should not do
        with self._lock:
            self.similarity[row.index] = similarity
            self._rows.append(row)

    def progressed(self, progress: Any) -> None:
        with self._lock:
            self._progress = progress

    def take(self) -> tuple[list[Any], Any]:
        with self._lock:
            rows, self._rows = self._rows, []
            return rows, self._progress


class ReplayService:
    """Engines by endpoint, sharing one recorder to the console's collector."""

    def __init__(self, settings: Any, link: Any, registry: Any, pricer: Any = None, timeout_s: float = 120.0):
        self.settings = settings
        self.link = link
        self.registry = registry
        self.pricer = pricer
        self.timeout_s = timeout_s
        self.loop = ReplayLoop()
        self._engines: dict[tuple[str | None, float], ReplayEngine] = {}
        self._recorder: Any = None
        self._recorder_tried = False

    @property
    def recorder(self) -> Any:
        """Replays go to the collector the console talks to; None when there is none."""
        if not self._recorder_tried:
            self._recorder_tried = True
            if self.link is not None and getattr(self.link, "mode", "unavailable") != "unavailable":
                from console.replay.recording import ReplayRecorder

                self._recorder = ReplayRecorder(f"{self.link.url}/v1/traces", token=self.settings.token)
        return self._recorder

    def recording_note(self) -> str:
        rec = self.recorder
        if rec is None:
            return "not recorded: no collector"
        if not rec.enabled or rec.failures:
            return f"recording: {rec.last_error}"
        return "recorded to the collector"

    def engine(self, api_base: str | None) -> ReplayEngine:
        key = (api_base or None, self.timeout_s)
        engine = self._engines.get(key)
        if engine is None:
            engine = ReplayEngine(api_base=api_base or None, timeout_s=self.timeout_s, recorder=self.recorder,
                                  registry=self.registry, pricer=self.pricer)
            self._engines[key] = engine
        return engine

    async def warm_up(self) -> None:
        """Import LiteLLM (seconds, in a thread), then make one call to a port we hold closed:
        LiteLLM and the OpenAI SDK import much of themselves on the first call (about a
        second more), which would otherwise stall the first replay a user starts."""
        await ReplayEngine().warm_up()
        await self.loop.run(_first_call())
        # LiteLLM brings ~300k long-lived objects; a full collection over them stalls the UI
        # for 0.2-0.4 s now and then. Nothing imported so far is garbage: keep it out of GC.
        gc.freeze()

    def close(self) -> None:
        rec, self._recorder = self._recorder, None
        if rec is not None:
            rec.flush(2.0)
            rec.shutdown()
        self.loop.stop()
