"""GPU sources: NVML (real library, and a stand-in for the driver), fake, nvidia-smi, DCGM."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from types import SimpleNamespace

import pynvml
import pytest
from health_stub import FIXTURES, fixture_text

from store.health.gpu import (
    MIB,
    DcgmExporterSource,
    FakeGpuSource,
    GpuSource,
    NvidiaSmiSource,
    NvmlSource,
    gpu_target,
    parse_dcgm,
    parse_smi_apps,
    parse_smi_gpus,
)

FIXED = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)


def driver_present() -> bool:
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return False
    pynvml.nvmlShutdown()
    return True


def test_nvml_source_on_this_machine_never_raises():
    source = NvmlSource()
    reading = source.read()
    if driver_present():
        assert reading.available and reading.devices and reading.reason is None
    else:
        # this machine and CI: pynvml.NVMLError_LibraryNotFound
        assert not reading.available and reading.devices == ()
        assert reading.reason == "no NVIDIA driver on this machine (NVML library not found)"
        assert source.read().reason == reading.reason
    source.close()


class FakeNvml:
    """A stand-in for the NVML driver library with pynvml's Python surface
    (the driver is not ours and not on this machine; our NvmlSource is real)."""

    NVML_TEMPERATURE_GPU = 0
    NVML_CLOCK_SM = 1
    NVML_ERROR_NOT_SUPPORTED = 3
    NVML_ERROR_DRIVER_NOT_LOADED = 9
    NVML_ERROR_LIBRARY_NOT_FOUND = 12

    class NVMLError(Exception):
        def __init__(self, value: int) -> None:
            super().__init__(f"NVML error {value}")
            self.value = value

    def __init__(self, init_error: int | None = None) -> None:
        self.init_error = init_error
        self.init_calls = 0
        self.shutdown_calls = 0

    def nvmlInit(self):
        self.init_calls += 1
        if self.init_error is not None:
            raise self.NVMLError(self.init_error)

    def nvmlShutdown(self):
        self.shutdown_calls += 1

    def nvmlSystemGetDriverVersion(self):
        return "575.57.08"

    def nvmlDeviceGetCount(self):
        return 2

    def nvmlDeviceGetHandleByIndex(self, i):
        return i

    def nvmlDeviceGetName(self, h):
        return "NVIDIA H100 80GB HBM3"

    def nvmlDeviceGetUUID(self, h):
        return f"GPU-{h}"

    def nvmlDeviceGetUtilizationRates(self, h):
        return SimpleNamespace(gpu=[93, 0][h], memory=40)

    def nvmlDeviceGetMemoryInfo(self, h):
        return SimpleNamespace(total=81559 * MIB, used=[71234, 4][h] * MIB, free=0)

    def nvmlDeviceGetTemperatureV(self, h, sensor):
        assert sensor == self.NVML_TEMPERATURE_GPU
        if h == 1:  # an older driver without the V call
            raise self.NVMLError(self.NVML_ERROR_NOT_SUPPORTED)
        return 71

    def nvmlDeviceGetTemperature(self, h, sensor):
        return 33

    def nvmlDeviceGetPowerUsage(self, h):
        return [698_500, 70_120][h]  # milliwatts

    def nvmlDeviceGetEnforcedPowerLimit(self, h):
        return 700_000

    def nvmlDeviceGetClockInfo(self, h, clock):
        assert clock == self.NVML_CLOCK_SM
        return 1755

    def nvmlDeviceGetMaxClockInfo(self, h, clock):
        if h == 1:
            raise self.NVMLError(self.NVML_ERROR_NOT_SUPPORTED)
        return 1980

    def nvmlDeviceGetComputeRunningProcesses(self, h):
        if h == 1:
            return []
        return [SimpleNamespace(pid=2749311, usedGpuMemory=70912 * MIB), SimpleNamespace(pid=7, usedGpuMemory=None)]

    def nvmlSystemGetProcessName(self, pid):
        if pid == 7:
            raise self.NVMLError(self.NVML_ERROR_NOT_SUPPORTED)
        return b"/usr/bin/python3"


def test_nvml_source_maps_units_and_falls_back():
    nvml = FakeNvml()
    source = NvmlSource(nvml, clock=lambda: FIXED)
    reading = source.read()
    assert reading.available and reading.source == "nvml" and reading.time == FIXED
    assert reading.driver_version == "575.57.08"
    busy, idle = reading.devices
    assert busy.index == 0 and busy.uuid == "GPU-0" and busy.name == "NVIDIA H100 80GB HBM3"
    assert busy.util_percent == 93.0
    assert (busy.mem_used_bytes, busy.mem_total_bytes) == (71234 * MIB, 81559 * MIB)
    assert busy.temperature_c == 71.0
    assert (busy.power_w, busy.power_limit_w) == (698.5, 700.0)  # from milliwatts
    assert (busy.sm_clock_mhz, busy.sm_clock_max_mhz) == (1755.0, 1980.0)
    assert [(p.pid, p.name, p.used_memory_bytes) for p in busy.processes] == [
        (2749311, "/usr/bin/python3", 70912 * MIB),
        (7, None, None),
    ]
    assert idle.temperature_c == 33.0  # the deprecated call, when the V call fails
    assert idle.sm_clock_max_mhz is None  # unsupported field -> None, device kept
    assert busy.power_fraction == pytest.approx(0.99786, abs=1e-4)
    source.close()
    assert nvml.shutdown_calls == 1


def test_nvml_missing_library_is_not_retried_but_driver_not_loaded_is():
    missing = FakeNvml(init_error=FakeNvml.NVML_ERROR_LIBRARY_NOT_FOUND)
    source = NvmlSource(missing)
    assert source.read().reason == "no NVIDIA driver on this machine (NVML library not found)"
    source.read()
    assert missing.init_calls == 1

    not_loaded = FakeNvml(init_error=FakeNvml.NVML_ERROR_DRIVER_NOT_LOADED)
    source = NvmlSource(not_loaded)
    assert source.read().reason == "NVIDIA driver not loaded"
    not_loaded.init_error = None
    assert source.read().available
    assert not_loaded.init_calls == 2


def test_fake_source_is_deterministic_and_configurable():
    a, b = FakeGpuSource(3, clock=lambda: FIXED), FakeGpuSource(3, clock=lambda: FIXED)
    assert a.read() == b.read()
    assert a.read() != FakeGpuSource(3, clock=lambda: FIXED).read()  # the tick moved on
    still = FakeGpuSource(2, vary=False, clock=lambda: FIXED)
    assert still.read() == still.read()
    hot = FakeGpuSource(2, overrides={1: {"temperature_c": 91.0}}, vary=False).read()
    assert hot.devices[1].temperature_c == 91.0 and hot.devices[0].temperature_c != 91.0
    off = FakeGpuSource(available=False).read()
    assert not off.available and off.devices == () and off.reason
    for device in a.read().devices:
        assert 0 <= device.util_percent <= 100
        assert device.mem_used_bytes <= device.mem_total_bytes
        assert device.power_w <= device.power_limit_w


def test_sources_satisfy_the_protocol():
    for source in (NvmlSource(FakeNvml()), FakeGpuSource(), NvidiaSmiSource(), DcgmExporterSource("127.0.0.1:9")):
        assert isinstance(source, GpuSource)


def test_parse_nvidia_smi_query_gpu():
    h100, idle, a10g = parse_smi_gpus(fixture_text("gpu-nvidia-smi-query-gpu.csv"))
    assert h100.index == 0 and h100.uuid == "GPU-5f4b1c2e-8d3a-4e61-9b7f-2a1c3d4e5f60"
    assert h100.name == "NVIDIA H100 80GB HBM3" and h100.util_percent == 87.0
    assert (h100.mem_used_bytes, h100.mem_total_bytes) == (71234 * MIB, 81559 * MIB)
    assert (h100.temperature_c, h100.power_w, h100.power_limit_w) == (64.0, 512.34, 700.0)
    assert (h100.sm_clock_mhz, h100.sm_clock_max_mhz) == (1980.0, 1980.0)
    assert idle.sm_clock_mhz == 345.0
    assert (a10g.temperature_c, a10g.power_w, a10g.power_limit_w) == (None, None, None)  # [N/A], [Not Supported]
    assert parse_smi_gpus("No devices were found\n") == ()


def test_parse_nvidia_smi_compute_apps():
    apps = parse_smi_apps(fixture_text("gpu-nvidia-smi-compute-apps.csv"))
    assert [(uuid[:12], p.pid, p.name, p.used_memory_bytes) for uuid, p in apps] == [
        ("GPU-5f4b1c2e", 2749311, "/usr/bin/python3", 70912 * MIB),
        ("GPU-5f4b1c2e", 2750044, "python3 -m vllm.entrypoints.openai.api_server", 302 * MIB),
        ("GPU-0c1d2e3f", 31337, None, None),
    ]
    assert parse_smi_apps("No running processes found\n") == ()


def fake_smi(tmp_path, body: str) -> list[str]:
    """A real command standing where ``ssh host nvidia-smi`` would: a Python
    script that prints the hand-written outputs for the query it is given."""
    script = tmp_path / "fake-nvidia-smi.py"
    script.write_text(body)
    return [sys.executable, str(script)]


def test_nvidia_smi_source_runs_the_command(tmp_path):
    body = f"""
import sys
fixtures = {str(FIXTURES)!r}
query = sys.argv[1]
assert sys.argv[2] == "--format=csv,noheader,nounits", sys.argv
name = "gpu-nvidia-smi-query-gpu.csv" if query.startswith("--query-gpu=") else "gpu-nvidia-smi-compute-apps.csv"
sys.stdout.write(open(fixtures + "/" + name).read())
"""
    source = NvidiaSmiSource(fake_smi(tmp_path, body), host="gpu-node-1", clock=lambda: FIXED)
    reading = source.read()
    assert reading.available and reading.source == "nvidia-smi" and reading.host == "gpu-node-1"
    gpu0, gpu1, gpu2 = reading.devices
    assert [p.pid for p in gpu0.processes] == [2749311, 2750044]
    assert gpu1.processes == ()
    assert [p.pid for p in gpu2.processes] == [31337]
    assert gpu_target(reading.host, gpu0.index) == "gpu:gpu-node-1:0"


def test_nvidia_smi_source_failures_are_reasons(tmp_path):
    missing = NvidiaSmiSource(["/nonexistent/nvidia-smi"]).read()
    assert not missing.available and missing.reason == "/nonexistent/nvidia-smi not found"
    failing = fake_smi(
        tmp_path,
        "import sys\nprint(\"NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\")\nsys.exit(9)\n",
    )
    reading = NvidiaSmiSource(failing).read()
    assert not reading.available
    assert reading.reason.endswith("exited 9: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.")
    slow = NvidiaSmiSource(fake_smi(tmp_path, "import time\ntime.sleep(5)\n"), timeout=0.3).read()
    assert not slow.available and "timed out after 0.3s" in slow.reason


def test_parse_dcgm_exporter_body():
    gpu0, gpu1 = parse_dcgm(fixture_text("gpu-dcgm-exporter-metrics.txt"))
    assert gpu0.index == 0 and gpu0.uuid == "GPU-5f4b1c2e-8d3a-4e61-9b7f-2a1c3d4e5f60"
    assert gpu0.name == "NVIDIA H100 80GB HBM3"
    assert (gpu0.util_percent, gpu0.temperature_c, gpu0.power_w, gpu0.sm_clock_mhz) == (87.0, 64.0, 512.337, 1980.0)
    assert gpu0.mem_used_bytes == 71234 * MIB
    assert gpu0.mem_total_bytes == (71234 + 9836) * MIB  # used + free
    assert gpu0.power_limit_w is None and gpu0.sm_clock_max_mhz is None  # not in the default counters
    assert gpu1.util_percent == 0.0 and gpu1.sm_clock_mhz == 345.0
    limit = 'DCGM_FI_DEV_POWER_MGMT_LIMIT{gpu="0"} 650\nDCGM_FI_DEV_ENFORCED_POWER_LIMIT{gpu="0"} 600\n'
    assert parse_dcgm(limit)[0].power_limit_w == 600.0
    assert parse_dcgm("garbage") == ()


def test_dcgm_source_over_http(stub_vllm, closed_port_url):
    stub_vllm.set_metrics(fixture_text("gpu-dcgm-exporter-metrics.txt"))
    reading = DcgmExporterSource(stub_vllm.url + "/metrics", host="gpu-node-1").read()
    assert reading.available and reading.source == "dcgm" and len(reading.devices) == 2
    down = DcgmExporterSource(closed_port_url + "/metrics", timeout=0.5).read()
    assert not down.available and down.reason.startswith("dcgm-exporter unreachable")
    stub_vllm.set_metrics("# nothing here\n")
    empty = DcgmExporterSource(stub_vllm.url + "/metrics").read()
    assert not empty.available and "no DCGM_FI_DEV_" in empty.reason
