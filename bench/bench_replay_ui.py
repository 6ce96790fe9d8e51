"""Input-to-paint latency of the console while a batch replay runs.

A headless console (Textual ``run_test``, 120x40) over a store of N traces made with
one prompt replays them all in a batch against the local OpenAI-compatible stub
(tests/support/openai_stub.py; each reply streams in small chunks with a pause
between them, so the calls overlap for several seconds) at the given concurrency.
While it runs, keys are typed into a text field of the pane at random intervals.
For each key: the time from handing the key event to the driver (as a terminal's
input thread does) to the first frame the compositor produces that shows the
character, rendered to the terminal's byte string as a real terminal would get it.

It prints p50 / p99 / max over the keys, the same measured with the pane idle, the
batch's duration, and the machine. Target: p99 < 100 ms. Never run in tests.

    python bench/bench_replay_ui.py [--traces 200] [--concurrency 16] [--keys 150]

``BENCH_TRACE=1`` prints every key's latency with its time, to see when slow ones happen.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LLMOPS_CONFIG_FILE", "/nonexistent/llmops-bench-config.toml")
for _name in ("OPENAI_API_KEY", "HOSTED_VLLM_API_KEY"):
    os.environ.pop(_name, None)
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")

from textual import events  # noqa: E402

from console.app import ConsoleApp  # noqa: E402
from store.config import Settings  # noqa: E402
from tests.support.openai_stub import start_openai_stub  # noqa: E402
from tests.support.prompt_store import build  # noqa: E402

T0 = [time.perf_counter()]
REPLY = " ".join(f"w{i}" for i in range(24))  # 24 chunks


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


class MeasuredApp(ConsoleApp):
    """Renders every frame to the terminal byte string (headless skips that) and
    notes when a frame first shows what the bench waits for."""

    expect: str | None = None
    seen_at: float | None = None
    frames = 0

    def _display(self, screen: Any, renderable: Any) -> None:
        if renderable is None or self._batch_count:
            return
        out = renderable.render_segments(self.console) if hasattr(renderable, "render_segments") else ""
        self.frames += 1
        if self.expect is not None and self.seen_at is None and self.expect in out:
            self.seen_at = time.perf_counter()


async def type_keys(app: MeasuredApp, field: Any, count: int, until: Any = None, gap_ms: tuple[int, int] = (20, 80),
                    timeout_s: float = 2.0) -> list[float]:
    """Type ``count`` letters (or until ``until()``), one at a time; the latency of each."""
    latencies: list[float] = []
    driver = app._driver
    assert driver is not None
    rng = random.Random(7)
    typed = field.value
    for _ in range(count):
        if until is not None and until():
            break
        ch = rng.choice(string.ascii_lowercase)
        typed += ch
        app.expect, app.seen_at = typed[-6:], None
        t0 = time.perf_counter()
        driver.send_message(events.Key(ch, ch))
        while app.seen_at is None and time.perf_counter() - t0 < timeout_s:
            await asyncio.sleep(0.001)
        latencies.append(((app.seen_at or time.perf_counter()) - t0) * 1000)
        if os.environ.get("BENCH_TRACE"):
            print(f"  t={t0 - T0[0]:6.2f}s key {latencies[-1]:7.1f} ms")
        app.expect = None
        await asyncio.sleep(rng.uniform(*gap_ms) / 1000)
    return latencies


def line(name: str, values: list[float]) -> str:
    return (f"{name:<28} n={len(values):4d}  p50 {percentile(values, 0.5):6.1f} ms  p99 {percentile(values, 0.99):6.1f} ms"
            f"  max {max(values):6.1f} ms  mean {statistics.fmean(values):6.1f} ms")


async def main(traces: int, concurrency: int, keys: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-replay-ui-"))
    ps = build(root, linked=traces, old=0, fingerprinted=0, others=0)
    # The model server is another process, as it would be: its work must not count as the console's.
    server = subprocess.Popen([sys.executable, __file__, "--serve-stub"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    base_url = server.stdout.readline().strip()
    settings = Settings(store=ps.store, prompts_dir=ps.prompts_dir)
    app = MeasuredApp(settings, sample_status=False)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            await pilot.press("2")
            screen: Any = app.screen
            await app.workers.wait_for_complete()
            screen.open_prompt("support-answer")
            await app.workers.wait_for_complete()
            await pilot.pause()
            screen.setup.set_value("replay-endpoint", base_url)
            screen.setup.set_value("replay-model", "drip-25ms")
            batch = screen.batch
            batch.query_one("#batch-query").value = "prompt:support-answer"
            batch.query_one("#batch-limit").value = str(traces)
            batch.query_one("#batch-concurrency").value = str(concurrency)
            screen.action_show_tab("batch")
            field = batch.query_one("#batch-judge")  # read when a batch starts, so typing here changes nothing
            field.select_on_focus = False
            field.focus()
            await pilot.pause(0.5)
            idle = await type_keys(app, field, 40)
            field.value = ""

            screen.action_run_batch()
            while app.screen.id != "estimate-dialog":
                await asyncio.sleep(0.01)
            app.screen.dismiss("run")
            await pilot.pause()
            field.focus()
            started = time.perf_counter()
            frames0 = app.frames
            busy = await type_keys(app, field, keys, until=lambda: screen.batch_report is not None)
            while screen.batch_report is None:
                await asyncio.sleep(0.05)
            took = time.perf_counter() - started
            report = screen.batch_report
            field.value = ""
            errors = sum(bool(r.errors) for r in report.rows)
            load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
            print(f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
                  f"{os.cpu_count()} CPUs, Python {platform.python_version()}, load average {load} (at the end)")
            print(f"batch: {len(report.rows)} replays at concurrency {concurrency}, {errors} errors, {took:.1f} s, "
                  f"{app.frames - frames0} frames painted")
            print(line("keys, pane idle", idle))
            print(line("keys, during the batch", busy))
            if len(busy) < keys:
                print(f"(the batch finished after {len(busy)} of {keys} keys)")
    finally:
        server.stdin.close()  # type: ignore[union-attr]
        server.wait(10)


def serve_stub() -> None:
    """The stub in a process of its own; prints its base URL, runs until stdin closes."""
    running = start_openai_stub()
    running.stub.script("drip-25ms", REPLY)
    print(running.stub.base_url, flush=True)
    sys.stdin.read()
    running.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--keys", type=int, default=150)
    parser.add_argument("--serve-stub", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_stub:
        serve_stub()
    else:
        asyncio.run(main(args.traces, args.concurrency, args.keys))
