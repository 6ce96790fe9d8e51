#!/usr/bin/env python3
"""Ingest benchmark: the collector under ../shared/bench/otlp_load.py load.

Starts a real collector (subprocess, fresh store), sends the load, and measures:
accepted spans/s and ack latency (from otlp_load), acknowledged-to-queryable
latency (probe spans sent during the load, timed until a reader finds them in a
published segment), and the collector's RSS (all its processes) throughout.

    python bench/bench_ingest.py --spans 1000000                # detectors on (default config)
    python bench/bench_ingest.py --spans 1000000 --no-detectors
    python bench/bench_ingest.py --spans 200000 --compare       # both, side by side in one run

Needs ../shared/bench/otlp_load.py (or --load PATH).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import pyarrow.parquet as pq
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

REPO = Path(__file__).resolve().parents[1]
DEFAULT_LOAD = REPO.parent / "shared" / "bench" / "otlp_load.py"


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.platform()}, {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}"


def memory_mb(pid: int) -> tuple[float, float]:
    """RSS and PSS of a process and all its children, MB. RSS counts each shared page
    (libarrow, libpython, the interpreter) once per process; PSS splits it among them,
    so its sum is the memory the collector's processes take together."""
    totals = [0, 0]
    pids = [pid]
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        pids += [int(p) for p in out]
    except OSError:
        pass
    for p in pids:
        for i, (path, field) in enumerate(((f"/proc/{p}/status", "VmRSS:"), (f"/proc/{p}/smaps_rollup", "Pss:"))):
            try:
                for line in Path(path).read_text().splitlines():
                    if line.startswith(field):
                        totals[i] += int(line.split()[1])
                        break
            except OSError:
                pass
    return totals[0] / 1024, totals[1] / 1024


def cpu_seconds(pid: int) -> float:
    total = 0.0
    pids = [pid]
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    pids += [int(p) for p in out]
    tick = os.sysconf("SC_CLK_TCK")
    for p in pids:
        try:
            f = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(f[11]) + int(f[12])) / tick
        except OSError:
            pass
    return total


class Prober(threading.Thread):
    """Sends one tagged span at a time, acknowledged, then waits for a reader to see
    it in a published segment: that wait is acknowledged-to-queryable."""

    def __init__(self, url: str, store: Path, interval: float):
        super().__init__(daemon=True)
        self.url, self.store, self.interval = url, store, interval
        self.results: list[float] = []
        self.stop = threading.Event()
        self.seen_files: set[str] = set()

    def _probe_body(self, sid: bytes) -> bytes:
        now = time.time_ns()
        span = Span(trace_id=random.randbytes(16), span_id=sid, name="bench-probe", start_time_unix_nano=now,
                    end_time_unix_nano=now + 1000,
                    attributes=[KeyValue(key="bench.probe", value=AnyValue(bool_value=True))])
        req = ExportTraceServiceRequest(resource_spans=[ResourceSpans(
            resource=Resource(attributes=[KeyValue(key="service.name", value=AnyValue(string_value="probe"))]),
            scope_spans=[ScopeSpans(spans=[span])])])
        return req.SerializeToString()

    def _visible(self, sid_hex: str) -> bool:
        try:
            doc = json.loads((self.store / "manifest.json").read_bytes())
        except (OSError, ValueError):
            return False
        for seg in doc["segments"]:
            if seg["table"] != "spans" or seg["path"] in self.seen_files:
                continue
            self.seen_files.add(seg["path"])
            try:
                ids = pq.read_table(self.store / seg["path"], columns=["span_id"]).column(0).to_pylist()
            except OSError:
                continue
            if sid_hex in ids:
                return True
        return False

    def run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self.stop.is_set():
                sid = random.randbytes(8)
                try:
                    r = client.post(self.url, content=self._probe_body(sid),
                                    headers={"content-type": "application/x-protobuf"})
                except httpx.HTTPError:
                    time.sleep(self.interval)
                    continue
                if r.status_code != 200:
                    time.sleep(self.interval)
                    continue
                acked = time.perf_counter()
                while not self.stop.is_set():
                    if self._visible(sid.hex()):
                        self.results.append(time.perf_counter() - acked)
                        break
                    if time.perf_counter() - acked > 30:
                        self.results.append(float("inf"))
                        break
                    time.sleep(0.01)
                time.sleep(self.interval)


def pct(vals: list[float], q: float) -> float:
    vals = sorted(vals)
    return vals[min(len(vals) - 1, int(q * len(vals)))] if vals else float("nan")


def run_once(args: argparse.Namespace, detectors: bool) -> dict:
    store = Path(tempfile.mkdtemp(prefix="llmops-bench-")) / "store"
    port = 24318 + random.randrange(1000)
    cfg = Path(store.parent) / "config.toml"
    cfg.write_text("" if detectors else "[guardrails]\nenabled = false\n")
    env = dict(os.environ, PYTHONPATH=str(REPO), LLMOPS_CONFIG_FILE=str(cfg), LITELLM_LOCAL_MODEL_COST_MAP="True")
    proc = subprocess.Popen([sys.executable, "-m", "store.collector", "--store", str(store), "--listen",
                             f"127.0.0.1:{port}", "--workers", str(args.workers)], env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(url + "/healthz", timeout=0.5).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    rss_max, pss_max, stop = [0.0], [0.0], threading.Event()

    def sample_memory() -> None:
        while not stop.is_set():
            rss, pss = memory_mb(proc.pid)
            rss_max[0], pss_max[0] = max(rss_max[0], rss), max(pss_max[0], pss)
            time.sleep(0.25)

    threading.Thread(target=sample_memory, daemon=True).start()
    prober = Prober(url + "/v1/traces", store, args.probe_interval)
    out_json = store.parent / "load.json"
    load = subprocess.Popen([sys.executable, str(args.load), "--url", url + "/v1/traces", "--spans", str(args.spans),
                             "--batch", str(args.batch), "--concurrency", str(args.concurrency), "--retries", "5",
                             "--result-json", str(out_json)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    # start probing once the generator has built its payloads and begins to send
    assert load.stdout is not None
    first = load.stdout.readline()
    cpu0 = cpu_seconds(proc.pid)
    prober.start()
    rest = load.stdout.read()
    load.wait()
    prober.stop.set()
    prober.join(35)
    cpu1 = cpu_seconds(proc.pid)
    # everything acknowledged must become queryable
    deadline = time.time() + 60
    stored = 0
    while time.time() < deadline:
        stored = httpx.get(url + "/v1/stats", timeout=5).json()["spans_stored"]
        if stored >= args.spans:
            break
        time.sleep(0.2)
    stop.set()
    proc.send_signal(signal.SIGTERM)
    proc.wait(60)
    res = json.loads(out_json.read_text())
    res.update(
        detectors=detectors, workers=args.workers, collector_rss_max_mb=round(rss_max[0], 1), collector_pss_max_mb=round(pss_max[0], 1),
        collector_cpu_s=round(cpu1 - cpu0, 1), spans_stored=stored,
        visible_p50_ms=round(pct(prober.results, 0.5) * 1000, 1),
        visible_p99_ms=round(pct(prober.results, 0.99) * 1000, 1),
        probes=len(prober.results), load_output=(first + rest).strip().splitlines()[-6:],
    )
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spans", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--probe-interval", type=float, default=0.2)
    ap.add_argument("--load", type=Path, default=DEFAULT_LOAD)
    ap.add_argument("--no-detectors", action="store_true")
    ap.add_argument("--compare", action="store_true", help="detectors off, then on, in one run")
    args = ap.parse_args()
    print(f"machine: {machine()}")
    runs = [False, True] if args.compare else [not args.no_detectors]
    for det in runs:
        r = run_once(args, det)
        print(f"\n== detectors {'on' if det else 'off'}, {args.spans} spans, batch {args.batch}, "
              f"concurrency {args.concurrency}, {args.workers} decoder workers")
        print(f"accepted spans/s        {r['accepted_spans_per_s']:,.0f}  (accepted {r['spans_accepted']}, "
              f"statuses {r['status']})")
        print(f"ack latency             p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms")
        print(f"ack-to-queryable        p50 {r['visible_p50_ms']} ms, p99 {r['visible_p99_ms']} ms "
              f"({r['probes']} probes)")
        print(f"collector RSS max       {r['collector_rss_max_mb']} MB (summed over its processes)")
        print(f"collector PSS max       {r['collector_pss_max_mb']} MB (shared pages counted once)")
        print(f"collector CPU           {r['collector_cpu_s']} s during the send phase")
        print(f"stored                  {r['spans_stored']} spans")
    return 0


if __name__ == "__main__":
    sys.exit(main())
