"""Read the real GPUs once through ``NvmlSource`` (and ``nvidia-smi`` when present)
and print what was read as JSON: for checking the NVML path on a machine with a GPU.

Run: ``python bench/gpu_probe.py [--reads 3] [--interval 1]``. Exit code 0 when
NVML answered, 1 when it reported the GPUs unavailable (the reason is printed).

Runs on a bare machine too: it needs only Python 3.11 and ``pynvml`` (one file of
nvidia-ml-py); when ``import pynvml`` fails it looks for that file in this
checkout's ``.venv``, and when the console's other dependencies (polars, httpx,
prometheus-client) are missing it loads ``store/health/gpu.py`` on its own.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _load_gpu_module():  # type: ignore[no-untyped-def]
    """store.health.gpu, without the package's other imports when they are not installed."""
    try:
        import pynvml  # noqa: F401
    except ImportError:
        for found in sorted(ROOT.glob(".venv/lib/python*/site-packages/pynvml.py")):
            sys.path.append(str(found.parent))
            break
    try:
        from store.health import gpu

        return gpu
    except ImportError:
        import importlib.util
        import types

        for name in ("store", "store.health"):  # empty packages: skip their __init__ imports
            package = types.ModuleType(name)
            package.__path__ = []  # type: ignore[attr-defined]
            sys.modules.setdefault(name, package)
        stub = types.ModuleType("store.health.prometheus")
        stub.parse_metrics = lambda text: None  # type: ignore[attr-defined]  # only DCGM parsing needs it
        sys.modules["store.health.prometheus"] = stub
        spec = importlib.util.spec_from_file_location("store.health.gpu", ROOT / "store" / "health" / "gpu.py")
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules["store.health.gpu"] = module
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        return module


_gpu = _load_gpu_module()
GpuReading, NvidiaSmiSource, NvmlSource = _gpu.GpuReading, _gpu.NvidiaSmiSource, _gpu.NvmlSource


def reading_doc(reading, read_ms: float) -> dict:  # type: ignore[no-untyped-def]
    doc = asdict(reading)
    doc["time"] = reading.time.isoformat()
    doc["read_ms"] = round(read_ms, 2)
    for device, raw in zip(doc["devices"], reading.devices):
        device["mem_fraction"] = raw.mem_fraction
        device["power_fraction"] = raw.power_fraction
    return doc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reads", type=int, default=3, help="NVML reads (the first includes nvmlInit)")
    ap.add_argument("--interval", type=float, default=1.0, help="seconds between reads")
    args = ap.parse_args()
    source = NvmlSource()
    reads = []
    try:
        for i in range(max(1, args.reads)):
            if i:
                time.sleep(args.interval)
            t0 = time.perf_counter()
            reading = source.read()
            reads.append(reading_doc(reading, (time.perf_counter() - t0) * 1000))
    finally:
        source.close()
    doc = {
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpu_count": os.cpu_count()},
        "nvml": reads,
    }
    if shutil.which("nvidia-smi"):
        t0 = time.perf_counter()
        smi = NvidiaSmiSource().read()
        doc["nvidia_smi"] = reading_doc(smi, (time.perf_counter() - t0) * 1000)
    print(json.dumps(doc, indent=2, default=str))
    return 0 if reads[-1]["available"] else 1


if __name__ == "__main__":
    sys.exit(main())
