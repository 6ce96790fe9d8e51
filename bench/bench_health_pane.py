"""Benchmark: the health pane's cost, and one scrape through the collector's job.

1. Pane: the console (headless, ``run_test`` at 120x40) on the health pane with
   8 fake GPUs (FakeGpuSource) and 4 local fake vLLM endpoints serving the
   DataDog capture with moving counters (in a separate process, so their CPU is
   not counted), sampling and redrawing at 1 Hz. Measured: this process's CPU
   time over ``--seconds`` (default 30) of wall time, as a share of one core,
   and per thread (from /proc, Linux) to tell the sampler from the UI.
   Target: under 5% of one core.
2. Job: ``HealthJob.poll_once`` against one local endpoint serving a ~300-series
   body, into a real collector (scrape over HTTP, parse, rows, WAL write acked).
   Target: under 20 ms per scrape (``bench/bench_health.py`` times the pieces).

Run: ``python bench/bench_health_pane.py [--seconds 30] [--scrapes 100]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LLMOPS_CONFIG_FILE", "/nonexistent/bench.toml")


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def start_fakes(ports: list[int], engines: int = 1) -> subprocess.Popen:
    args = [sys.executable, "-m", "tests.support.fake_vllm", "--engines", str(engines)]
    for port in ports:
        args += ["--port", str(port)]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for _ in ports:
        line = proc.stdout.readline() if proc.stdout else ""
        if "fake vLLM on" not in line:
            proc.kill()
            raise RuntimeError(f"fake vLLM servers did not start: {line}")
    return proc


def thread_cpu() -> dict[str, float]:
    """CPU seconds per thread of this process (Linux /proc), by Python thread name."""
    import threading

    names = {t.native_id: t.name for t in threading.enumerate()}
    out: dict[str, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path("/proc/self/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        name = names.get(int(task.name), f"native-{task.name}")
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


async def pane(seconds: float, gpus: int, endpoints: int) -> None:
    from console.app import ConsoleApp
    from console.screens.health import HealthScreen
    from store.config import Settings

    ports = free_ports(endpoints)
    fakes = start_fakes(ports)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(store=Path(tmp) / "store")
            settings.health = {"vllm": [f"http://127.0.0.1:{p}" for p in ports], "gpu": "fake",
                               "fake_gpus": gpus, "pane_interval": 1.0}
            app = ConsoleApp(settings, sample_status=False)
            async with app.run_test(size=(120, 40)) as pilot:
                await app.switch_mode("health")
                await asyncio.sleep(5.0)  # warm up: first scrapes, cards mounted, imports done
                screen = app.screen
                assert isinstance(screen, HealthScreen)
                polls0, redraws0 = screen.view.polls if screen.view else 0, screen.redraws
                threads0, cpu0, wall0 = thread_cpu(), time.process_time(), time.perf_counter()
                await asyncio.sleep(seconds)
                cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
                threads1 = thread_cpu()
                polls, redraws = screen.view.polls - polls0, screen.redraws - redraws0
                cards = len(screen.query("EndpointCard")), len(screen.query("GpuCard"))
                states = [e.state.value for e in screen.view.endpoints]
                await pilot.pause()
    finally:
        fakes.kill()
        fakes.wait()
    print(f"pane: {endpoints} endpoints ({', '.join(states)}), {gpus} fake GPUs, cards {cards[0]}+{cards[1]}, "
          f"{wall:.1f} s wall")
    print(f"  samples {polls} ({polls / wall:.2f}/s), redraws {redraws} ({redraws / wall:.2f}/s)")
    print(f"  process CPU {cpu:.2f} s = {100 * cpu / wall:.2f}% of one core (target < 5%)")
    by_thread = {name: threads1.get(name, 0.0) - threads0.get(name, 0.0) for name in threads1}
    for name, used in sorted(by_thread.items(), key=lambda kv: -kv[1])[:5]:
        if used > 0:
            print(f"    thread {name:<24} {used:6.2f} s  {100 * used / wall:5.2f}%")


async def job(scrapes: int) -> None:
    from store.collector.jobs.health_job import HealthJob
    from store.health.config import HealthConfig
    from tests.support.collector import start_inprocess
    from tests.support.fake_vllm import DEFAULT_FIXTURE, FIXTURES, MovingMetrics

    (port,) = free_ports(1)
    fakes = start_fakes([port], engines=2)  # two engines of the mixed capture: ~300 vllm: series
    body = MovingMetrics((FIXTURES / DEFAULT_FIXTURE).read_text(), 2).body(1.0)
    series = sum(1 for line in body.splitlines() if line and not line.startswith("#"))
    with tempfile.TemporaryDirectory() as tmp:
        rc = start_inprocess(Path(tmp) / "store", health={"gpu": "none"})
        try:
            config = HealthConfig.from_dict({"vllm": [f"http://127.0.0.1:{port}"], "gpu": "none"})
            health = HealthJob(rc.collector, config, gpu_source=None)
            await health.poll_once()
            walls, cpus = [], []
            for _ in range(scrapes):
                t0, c0 = time.perf_counter(), time.thread_time()
                await health.poll_once()
                walls.append((time.perf_counter() - t0) * 1000)
                cpus.append((time.thread_time() - c0) * 1000)
            rows = health.rows_written / (scrapes + 1)
            await health.poller.aclose()
        finally:
            rc.stop()
            fakes.kill()
            fakes.wait()

    def p99(values: list[float]) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]

    print(f"job: {scrapes} scrapes of a {len(body)} byte body, {series} series, {rows:.0f} rows stored per scrape")
    print("  per scrape (HTTP /health+/metrics, parse, rows, WAL submit, rules; the server in another process):")
    print(f"    wall p50 {statistics.median(walls):.2f} ms  p99 {p99(walls):.2f} ms   "
          f"CPU p50 {statistics.median(cpus):.2f} ms  p99 {p99(cpus):.2f} ms  (target < 20 ms)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--gpus", type=int, default=8)
    ap.add_argument("--endpoints", type=int, default=4)
    ap.add_argument("--scrapes", type=int, default=100)
    ap.add_argument("--only", choices=("pane", "job"))
    args = ap.parse_args()
    print(f"machine: {platform.platform()}, cpu_count={os.cpu_count()}, python {platform.python_version()}, "
          f"load {os.getloadavg()[0]:.2f}")
    if args.only in (None, "job"):
        asyncio.run(job(args.scrapes))
    if args.only in (None, "pane"):
        asyncio.run(pane(args.seconds, args.gpus, args.endpoints))


if __name__ == "__main__":
    main()
