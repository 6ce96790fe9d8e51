"""Cost explorer benchmark over 5,000,000 spans and 90 days. Run: python bench/bench_costs.py

The store is built once through the store's own write path (``SegmentWriter.append``
in eight flushes per day, then ``full_compaction``; see bench/costs_data.py) and
cached under .bench-data/ (gitignored), so reruns start at once.

Figures (targets from the costs issue):
* explorer query, every group-by over every range: < 300 ms
* the pane, switching group-by or range, question to chart and table on screen: < 400 ms
* CSV export of a daily x model x user report: < 1 s
plus the token audit, the flagged-spans check and a reprice dry run, for the record.
Each figure is the median of several runs (wall clock; process CPU time beside it,
since the machine may be shared).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere without installing
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from costs_data import GENERATOR_VERSION, PRICING, build_store  # noqa: E402

from store.pricing.config import PricingConfig  # noqa: E402
from store.query import StoreReader  # noqa: E402
from store.query.costs import CostQueries, CostQuery  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
END = datetime(2026, 11, 23, tzinfo=UTC)  # the data ends here; "now" for every question
US = 1_000_000
RANGES = {"24h": 86_400, "7d": 7 * 86_400, "30d": 30 * 86_400, "90d": 90 * 86_400}
BUCKET = {"24h": "hour", "7d": "day", "30d": "day", "90d": "day"}
GROUP_BYS = ("model", "provider", "service", "user", "session", "tag", "prompt", "trace", "source", "attr:app.team")


def machine() -> str:
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    return (f"{platform.platform()} / {platform.python_implementation()} {platform.python_version()} / "
            f"{os.cpu_count()} cpus / load average {', '.join(f'{x:.1f}' for x in load)}")


def store_path(spans: int, days: int) -> Path:
    path = REPO / ".bench-data" / f"costs-{spans}-{days}d-v{GENERATOR_VERSION}"
    if not (path / "manifest.json").exists():
        building = path.with_name(path.name + ".building")
        import shutil

        shutil.rmtree(building, ignore_errors=True)
        print(f"building {spans:,} spans over {days} days in {path} (once; cached)")
        t0 = time.perf_counter()
        build_store(building, spans, days, END)
        building.rename(path)
        print(f"  built in {time.perf_counter() - t0:.0f} s")
    return path


def timed(fn, runs: int) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    """median wall ms, max wall ms, median CPU ms (after one warm-up run)."""
    fn()
    walls, cpus = [], []
    for _ in range(runs):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append((time.perf_counter() - w) * 1000)
        cpus.append((time.process_time() - c) * 1000)
    return statistics.median(walls), max(walls), statistics.median(cpus)


def bench_queries(cold: CostQueries, files: CostQueries, hot: CostQueries, runs: int, end: int) -> None:
    print(f"\nexplorer query (CostQueries.explore), median of {runs} runs; target < 300 ms")
    print(f"  ranges end at {datetime.fromtimestamp(end / US, UTC):%Y-%m-%d %H:%M} UTC")
    print("  parquet: every segment decoded from Parquet;")
    print("  files: whole days from the rollup files in the cache directory (what a one-shot command does, warm);")
    print("  hot: sealed segments from the console's hot copy (store/query/cost_cache.py) and its rollups, warmed")
    print(f"  {'range':<6} {'group by':<15} {'parquet ms':>11} {'cpu':>6} {'files ms':>9} {'cpu':>6} "
          f"{'hot ms':>8} {'max':>6} {'cpu':>6}  groups")
    for rng, seconds in RANGES.items():
        for by in GROUP_BYS:
            q = CostQuery(end - seconds * US, end, BUCKET[rng], (by,))
            report = hot.explore(q)
            for other in (cold, files):
                assert abs((other.explore(q).totals["cost_usd"] or 0) - (report.totals["cost_usd"] or 0)) < 1e-6
            p_med, _, p_cpu = timed(lambda: cold.explore(q), max(1, runs // 2))
            f_med, _, f_cpu = timed(lambda: files.explore(q), max(1, runs // 2))
            med, worst, cpu = timed(lambda: hot.explore(q), runs)
            flag = "" if med < 300 else "  over"
            print(f"  {rng:<6} {by:<15} {p_med:>11.0f} {p_cpu:>6.0f} {f_med:>9.0f} {f_cpu:>6.0f} "
                  f"{med:>8.0f} {worst:>6.0f} {cpu:>6.0f}  {report.groups.height:,}{flag}")


def bench_export(store: Path, pricer, runs: int) -> None:  # type: ignore[no-untyped-def]
    import subprocess

    from console.export import write_rows
    from store.query.cost_rollup import RollupFiles

    end = int(END.timestamp() * US)
    print("\nCSV export, daily x model x user (explore + write_rows); target < 1 s")
    print("  parquet: spans from Parquet; files: with the rollup files of a cache directory (first run writes them)")
    with tempfile.TemporaryDirectory() as tmp:
        for rng in ("30d", "90d"):
            q = CostQuery(end - RANGES[rng] * US, end, "day", ("model", "user"))
            for label in ("parquet", "files"):
                reader = StoreReader(store, threads=2)  # a fresh process's state: nothing in memory yet
                rollups = RollupFiles(reader, Path(tmp) / f"cache-{rng}") if label == "files" else None
                queries = CostQueries(reader, pricer, rollup_files=rollups)
                w, c = time.perf_counter(), time.process_time()
                rows = queries.explore(q).rows.height
                first = (time.perf_counter() - w) * 1000, (time.process_time() - c) * 1000

                def export() -> None:
                    write_rows(queries.explore(q, ordered=True).export_frame(), Path(tmp) / "costs.csv", "csv")

                med, worst, cpu = timed(export, runs)
                size = (Path(tmp) / "costs.csv").stat().st_size
                print(f"  {rng} {label}: {rows:,} rows, {size / 1e6:.1f} MB: median {med:.0f} ms, max {worst:.0f} ms, "
                      f"cpu {cpu:.0f} ms (first question {first[0]:.0f} ms, cpu {first[1]:.0f} ms)")
        # the command a user types, start to end (includes starting Python and importing), with the
        # store's pricing (GPU endpoint included) and a cache directory of its own
        # (bytecode is written, as on a user's install: a sandbox that sets PYTHONDONTWRITEBYTECODE
        # would compile every module of the project on every run)
        env = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}, "PYTHONPATH": str(REPO),
               "LLMOPS_CONFIG_FILE": str(store / "config.toml"), "LLMOPS_CACHE_DIR": str(Path(tmp) / "cli-cache")}
        walls, cpus = [], []
        for _ in range(runs + 1):
            before = os.times()
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "console", "export", "costs", "--store", str(store),
                            "--since", "2026-08-25", "--until", "2026-11-23", "--by", "model,user", "--bucket", "day",
                            "-o", str(Path(tmp) / "cli.csv")], check=True, cwd=REPO, capture_output=True, env=env)
            walls.append((time.perf_counter() - t0) * 1000)
            after = os.times()
            cpus.append((after.children_user + after.children_system - before.children_user
                         - before.children_system) * 1000)
        print(f"  `llmops-console export costs --by model,user --bucket day` over 90d, whole process: first "
              f"{walls[0]:.0f} ms (writes the rollup files), then median {statistics.median(walls[1:]):.0f} ms, "
              f"max {max(walls[1:]):.0f} ms, cpu {statistics.median(cpus[1:]):.0f} ms")


def bench_pane(store: Path, presses: int, end_hours: float) -> None:
    """Key press to chart and table on screen, in a headless app at 120x40; "now" is
    ``end_hours`` before the end of the data."""
    from textual import events

    import console.screens.costs as costs_screen
    from console.app import ConsoleApp
    from console.screens.costs import CostsScreen
    from store.config import Settings

    costs_screen.CLOCK = lambda: END.timestamp() - end_hours * 3600
    costs_screen.REFRESH_SECONDS = 3600.0
    settings = Settings(store=store, pricing=PRICING)

    async def run() -> None:
        app = ConsoleApp(settings, sample_status=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("3")
            screen = app.screen
            assert isinstance(screen, CostsScreen)

            async def frame() -> None:
                # the events already queued handled, then the screen's update composed
                # (the chart drawn): what the terminal shows next
                await pilot._wait_for_screen()
                app.screen._on_timer_update()

            async def answered(key: str) -> float:
                """ms from the key event to the frame with the new chart and table. Posted
                rather than pressed: Pilot.press waits twice for an idle process (at least
                20 ms each), which no user waits for (``pilot_ms`` prints both)."""
                asked = screen.generation
                t0 = time.perf_counter()
                app.post_message(events.Key(key, key))
                while screen.generation == asked or screen.report is None or screen.report.query is not screen.query_:
                    await asyncio.sleep(0.001)
                await frame()
                ms = (time.perf_counter() - t0) * 1000
                await pilot.pause()  # settled before the next key
                await pilot.pause(0.05)
                return ms

            async def pilot_ms(key: str) -> float:
                t0 = time.perf_counter()
                await pilot.press(key)
                while screen.report is None or screen.report.query is not screen.query_:
                    await asyncio.sleep(0.002)
                await pilot.pause()
                return (time.perf_counter() - t0) * 1000

            await answered("R")
            first = screen.last_total_ms
            w = time.perf_counter()
            while screen.service._warming is not None and screen.service._warming.is_alive():
                await asyncio.sleep(0.05)
            print(f"\nthe pane (headless app, 120x40, now = {end_hours} h before the end of the data): key press "
                  f"to chart and table drawn; target < 400 ms")
            print(f"  first question while the hot copy warms: {first:.0f} ms; warm-up done "
                  f"{time.perf_counter() - w:.1f} s later")
            for label, key, count in (("group by (d), range 7d", "d", presses), ("range (r)", "r", 8)):
                times = []
                for _ in range(count):
                    ms = await answered(key)
                    times.append((screen.range_key, screen.by, ms))
                worst = max(times, key=lambda t: t[2])
                print(f"  {label}: median {statistics.median(t[2] for t in times):.0f} ms, "
                      f"max {worst[2]:.0f} ms ({worst[0]}, {worst[1]}), {len(times)} switches")
                if key == "d":
                    print("    " + ", ".join(f"{b} {ms:.0f}" for _, b, ms in times))
                    q_ms, show_ms = screen.last_timing
                    print(f"    (last one: query {q_ms:.0f} ms, filling chart and table {show_ms:.0f} ms, "
                          f"the rest is the worker, the message and the frame)")
            for rng in RANGES:  # group-by switches over the longest ranges too
                screen.set_view(range_key=rng, by="model")
                while screen.report is None or screen.report.query is not screen.query_:
                    await asyncio.sleep(0.002)
                times = [await answered("d") for _ in range(9)]
                print(f"  group-by switches at {rng}: median {statistics.median(times):.0f} ms, max {max(times):.0f} ms")
            pressed = [await pilot_ms("d") for _ in range(9)]
            print(f"  the same at 90d timed as before, with Pilot.press and a pause: median "
                  f"{statistics.median(pressed):.0f} ms, max {max(pressed):.0f} ms")
            chart = screen.query_one("#costs-chart")
            w, c = time.perf_counter(), time.process_time()
            for _ in range(10):
                chart._prebuilt = None  # plotext itself, as when the UI thread draws (the cursor moved)
                chart.render()
            print(f"  chart render alone (plotext, {len(chart.data.buckets)} buckets): "
                  f"{(time.perf_counter() - w) * 100:.1f} ms wall, {(time.process_time() - c) * 100:.1f} ms cpu")

    asyncio.run(run())


def bench_audit(queries: CostQueries) -> None:
    from store.query.cost_audit import CostAudit

    end = int(END.timestamp() * US)
    audit = CostAudit(queries)
    print("\ntoken audit and checks (for the record; no target)")
    for rng in ("7d", "30d"):
        q = CostQuery(end - RANGES[rng] * US, end, "day", ("model",))
        for name, fn in (("audit (top traces, prompts, composition, cache)", lambda: audit.audit(q)),
                         ("flagged spans", lambda: audit.flagged(q))):
            w = time.perf_counter()
            fn()
            print(f"  {rng} {name}: {(time.perf_counter() - w) * 1000:.0f} ms")


def bench_reprice(store: Path) -> None:
    from store.segments.reprice import reprice_store
    from store.segments.writer import SegmentWriter

    end = int(END.timestamp() * US)
    pricer = PricingConfig.from_dict(PRICING).pricer()
    w = time.perf_counter()
    report = reprice_store(SegmentWriter(store), pricer, end - 7 * 86_400 * US, end, dry_run=True)
    print(f"\nreprice --since 7d --dry-run: {report.spans:,} priced spans checked, {report.changed:,} would change, "
          f"{(time.perf_counter() - w):.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spans", type=int, default=5_000_000)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--end", nargs="*", type=float, default=[0.0, 13.7],
                    help="hours before the end of the data that ranges end (0: midnight, whole days; 13.7: "
                         "partial first and last days, as in the console)")
    ap.add_argument("--skip", nargs="*", default=(), choices=("queries", "export", "pane", "audit", "reprice"))
    args = ap.parse_args()
    print("machine:", machine())
    store = store_path(args.spans, args.days)
    reader = StoreReader(store, threads=2)
    segs = reader.manifest().segments
    rows = sum(s.rows for s in segs if s.table == "spans")
    print(f"store: {rows:,} spans in {sum(1 for s in segs if s.table == 'spans')} segments, "
          f"{sum(s.bytes for s in segs) / 1e6:.0f} MB")
    pricer = PricingConfig.from_dict(PRICING).pricer()
    queries = CostQueries(reader, pricer)
    if "queries" not in args.skip:
        from store.query.cost_cache import HotSpans
        from store.query.cost_rollup import RollupFiles

        hot = HotSpans(StoreReader(store, threads=2))
        w, c = time.perf_counter(), time.process_time()
        loaded = hot.sync()
        print(f"\nhot copy warm-up (once per console session, in the background): {loaded} segments in "
              f"{time.perf_counter() - w:.1f} s ({time.process_time() - c:.1f} s cpu)")
        with tempfile.TemporaryDirectory() as cache:
            files = CostQueries(reader, pricer, rollup_files=RollupFiles(reader, Path(cache)))
            try:
                for end in args.end:
                    bench_queries(queries, files, CostQueries(hot.reader, pricer, hot), args.runs,
                                  int(END.timestamp() * US) - int(end * 3600 * US))
            finally:
                hot.close()
    if "export" not in args.skip:
        bench_export(store, pricer, max(3, args.runs // 2))
    if "pane" not in args.skip:
        bench_pane(store, len(GROUP_BYS) - 1, args.end[-1])
    if "audit" not in args.skip:
        bench_audit(queries)
    if "reprice" not in args.skip:
        bench_reprice(store)
    print("\nmachine at the end:", machine())


if __name__ == "__main__":
    main()
