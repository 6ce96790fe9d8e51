"""GPU readings from NVML, nvidia-smi, a DCGM exporter, or a fake.

Every source implements ``GpuSource``: a blocking ``read() -> GpuReading``
(the poller calls it in a thread) that never raises. A machine without a
driver gives ``GpuReading(available=False, reason=...)``; a field the GPU does
not support is ``None``. Units are normalised: bytes, watts, degrees C, MHz, %.
"""

from __future__ import annotations

import csv
import io
import math
import subprocess
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, Callable, Mapping, Protocol, Sequence, runtime_checkable

from store.health.prometheus import parse_metrics

__all__ = [
    "GpuProcess",
    "GpuDevice",
    "GpuReading",
    "GpuSource",
    "NvmlSource",
    "FakeGpuSource",
    "NvidiaSmiSource",
    "DcgmExporterSource",
    "parse_smi_gpus",
    "parse_smi_apps",
    "parse_dcgm",
    "SMI_GPU_FIELDS",
    "SMI_APP_FIELDS",
    "gpu_target",
]

MIB = 1024 * 1024
Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True, slots=True)
class GpuProcess:
    pid: int
    name: str | None = None
    used_memory_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class GpuDevice:
    index: int
    uuid: str | None = None
    name: str | None = None
    util_percent: float | None = None
    mem_used_bytes: int | None = None
    mem_total_bytes: int | None = None
    temperature_c: float | None = None
    power_w: float | None = None
    power_limit_w: float | None = None  # the enforced limit
    sm_clock_mhz: float | None = None
    sm_clock_max_mhz: float | None = None
    processes: tuple[GpuProcess, ...] = ()

    @property
    def mem_fraction(self) -> float | None:
        if self.mem_used_bytes is None or not self.mem_total_bytes:
            return None
        return self.mem_used_bytes / self.mem_total_bytes

    @property
    def power_fraction(self) -> float | None:
        if self.power_w is None or not self.power_limit_w:
            return None
        return self.power_w / self.power_limit_w


@dataclass(frozen=True, slots=True)
class GpuReading:
    """All GPUs of one host at one time. ``source`` is nvml, nvidia-smi, dcgm or
    fake; ``host`` is None for this machine. When ``available`` is False,
    ``reason`` says why in plain words and ``devices`` is empty."""

    source: str
    time: datetime
    available: bool
    devices: tuple[GpuDevice, ...] = ()
    reason: str | None = None
    host: str | None = None
    driver_version: str | None = None


def gpu_target(host: str | None, index: int | str) -> str:
    """The ``target`` of a GPU in samples and alerts: ``gpu:0`` here,
    ``gpu:<host>:0`` for another host; ``index="all"`` names the whole host."""
    return f"gpu:{index}" if host is None else f"gpu:{host}:{index}"


@runtime_checkable
class GpuSource(Protocol):
    def read(self) -> GpuReading:
        """Read every GPU now. Blocking; never raises."""
        ...

    def close(self) -> None:
        ...


# --------------------------------------------------------------------------- NVML


class NvmlSource:
    """Local GPUs through nvidia-ml-py (``import pynvml``).

    ``nvml`` may be another module with the same functions (tests pass a fake).
    NVML is initialised on the first read and kept; an init that fails because
    the library is missing is not retried (that does not change while running),
    other init failures are retried on the next read.
    """

    source = "nvml"

    def __init__(self, nvml: Any = None, *, clock: Clock = _utcnow, process_names: bool = True) -> None:
        if nvml is None:
            import pynvml as nvml  # nvidia-ml-py; importing does not load the driver library
        self._nvml = nvml
        self._clock = clock
        self._process_names = process_names
        self._ready = False
        self._final_reason: str | None = None
        self._names: dict[int, str | None] = {}
        self._driver: str | None = None

    def read(self) -> GpuReading:
        now = self._clock()
        reason = self._init()
        if reason:
            return GpuReading(self.source, now, False, reason=reason)
        nvml = self._nvml
        try:
            count = nvml.nvmlDeviceGetCount()
            devices = tuple(self._device(i, nvml.nvmlDeviceGetHandleByIndex(i)) for i in range(count))
        except Exception as exc:  # noqa: BLE001 - NVMLError (GPU lost, driver reloaded) or worse
            self._ready = False
            return GpuReading(self.source, now, False, reason=f"NVML read failed: {_nvml_text(exc)}")
        return GpuReading(self.source, now, True, devices, driver_version=self._driver)

    def close(self) -> None:
        if self._ready:
            self._ready = False
            try:
                self._nvml.nvmlShutdown()
            except Exception:  # noqa: BLE001 - nothing useful to do at shutdown
                pass

    def _init(self) -> str | None:
        if self._ready:
            return None
        if self._final_reason:
            return self._final_reason
        nvml = self._nvml
        try:
            nvml.nvmlInit()
        except Exception as exc:  # noqa: BLE001
            if _is_nvml_error(nvml, exc, "NVMLError_LibraryNotFound", "NVML_ERROR_LIBRARY_NOT_FOUND"):
                self._final_reason = "no NVIDIA driver on this machine (NVML library not found)"
                return self._final_reason
            if _is_nvml_error(nvml, exc, "NVMLError_DriverNotLoaded", "NVML_ERROR_DRIVER_NOT_LOADED"):
                return "NVIDIA driver not loaded"
            if _is_nvml_error(nvml, exc, "NVMLError_NoPermission", "NVML_ERROR_NO_PERMISSION"):
                return "no permission to use NVML"
            return f"NVML init failed: {_nvml_text(exc)}"
        self._ready = True
        self._driver = _text(self._field(nvml.nvmlSystemGetDriverVersion))
        return None

    def _field(self, fn: Callable[..., Any], *args: Any) -> Any:
        """One NVML call; ``None`` when unsupported or failing, so one missing
        field does not lose the whole device."""
        try:
            return fn(*args)
        except Exception:  # noqa: BLE001 - NVMLError_NotSupported and friends
            return None

    def _device(self, index: int, handle: Any) -> GpuDevice:
        nvml = self._nvml
        util = self._field(nvml.nvmlDeviceGetUtilizationRates, handle)
        memory = self._field(nvml.nvmlDeviceGetMemoryInfo, handle)
        power_mw = self._field(nvml.nvmlDeviceGetPowerUsage, handle)
        limit_mw = self._field(nvml.nvmlDeviceGetEnforcedPowerLimit, handle)
        return GpuDevice(
            index=index,
            uuid=_text(self._field(nvml.nvmlDeviceGetUUID, handle)),
            name=_text(self._field(nvml.nvmlDeviceGetName, handle)),
            util_percent=_num(getattr(util, "gpu", None)),
            mem_used_bytes=_int(getattr(memory, "used", None)),
            mem_total_bytes=_int(getattr(memory, "total", None)),
            temperature_c=_num(self._temperature(handle)),
            power_w=None if power_mw is None else power_mw / 1000.0,  # NVML reports milliwatts
            power_limit_w=None if limit_mw is None else limit_mw / 1000.0,
            sm_clock_mhz=_num(self._field(nvml.nvmlDeviceGetClockInfo, handle, nvml.NVML_CLOCK_SM)),
            sm_clock_max_mhz=_num(self._field(nvml.nvmlDeviceGetMaxClockInfo, handle, nvml.NVML_CLOCK_SM)),
            processes=self._processes(handle),
        )

    def _temperature(self, handle: Any) -> Any:
        nvml = self._nvml
        sensor = nvml.NVML_TEMPERATURE_GPU
        get_v = getattr(nvml, "nvmlDeviceGetTemperatureV", None)
        if get_v is not None:
            value = self._field(get_v, handle, sensor)
            if value is not None:
                return value
        # Drivers older than the V call; the old call is deprecated (removed in CUDA 14).
        return self._field(nvml.nvmlDeviceGetTemperature, handle, sensor)

    def _processes(self, handle: Any) -> tuple[GpuProcess, ...]:
        found = self._field(self._nvml.nvmlDeviceGetComputeRunningProcesses, handle) or ()
        out = []
        for proc in found:
            pid = _int(getattr(proc, "pid", None))
            if pid is None:
                continue
            out.append(GpuProcess(pid, self._process_name(pid), _int(getattr(proc, "usedGpuMemory", None))))
        return tuple(out)

    def _process_name(self, pid: int) -> str | None:
        if not self._process_names:
            return None
        if pid not in self._names:
            if len(self._names) > 4096:  # pids are reused; keep the cache bounded
                self._names.clear()
            self._names[pid] = _text(self._field(self._nvml.nvmlSystemGetProcessName, pid))
        return self._names[pid]


def _is_nvml_error(nvml: Any, exc: Exception, class_name: str, code_name: str) -> bool:
    cls = getattr(nvml, class_name, None)
    if isinstance(cls, type) and isinstance(exc, cls):
        return True
    code = getattr(nvml, code_name, None)
    return code is not None and getattr(exc, "value", None) == code


def _nvml_text(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


# --------------------------------------------------------------------------- fake


class FakeGpuSource:
    """Deterministic GPUs for CI and UI snapshots.

    Values follow simple formulas of the GPU index and a tick that advances on
    each ``read()`` (``vary=False`` keeps tick 0). ``overrides`` maps an index
    to GpuDevice fields to force (``{0: {"temperature_c": 91.0}}``).
    ``available=False`` imitates a machine with no driver.
    """

    source = "fake"

    def __init__(
        self,
        count: int = 2,
        *,
        name: str = "NVIDIA H100 80GB HBM3",
        mem_total_bytes: int = 80 * 1024 * MIB,
        power_limit_w: float = 700.0,
        sm_clock_max_mhz: float = 1980.0,
        vary: bool = True,
        overrides: Mapping[int, Mapping[str, Any]] | None = None,
        available: bool = True,
        reason: str = "no NVIDIA driver on this machine (fake)",
        host: str | None = None,
        clock: Clock = _utcnow,
    ) -> None:
        self.count = count
        self.name = name
        self.mem_total_bytes = mem_total_bytes
        self.power_limit_w = power_limit_w
        self.sm_clock_max_mhz = sm_clock_max_mhz
        self.vary = vary
        self.overrides = dict(overrides or {})
        self.available = available
        self.reason = reason
        self.host = host
        self._clock = clock
        self.tick = 0

    def read(self) -> GpuReading:
        now = self._clock()
        if not self.available:
            return GpuReading(self.source, now, False, reason=self.reason, host=self.host)
        tick = self.tick
        if self.vary:
            self.tick += 1
        devices = tuple(self._device(i, tick) for i in range(self.count))
        return GpuReading(self.source, now, True, devices, host=self.host, driver_version="575.57.08")

    def close(self) -> None:
        pass

    def _device(self, i: int, tick: int) -> GpuDevice:
        wave = (tick * 7 + i * 13) % 20  # 0..19, a slow saw so charts move
        used = int(self.mem_total_bytes * (0.55 + 0.1 * (i % 4) + 0.005 * wave))
        device = GpuDevice(
            index=i,
            uuid=f"GPU-00000000-0000-4000-8000-{i:012d}",
            name=self.name,
            util_percent=float(min(100, 40 + 3 * wave + 5 * (i % 3))),
            mem_used_bytes=min(used, self.mem_total_bytes),
            mem_total_bytes=self.mem_total_bytes,
            temperature_c=float(55 + 2 * (i % 4) + wave // 2),
            power_w=round(self.power_limit_w * (0.45 + 0.02 * wave), 1),
            power_limit_w=self.power_limit_w,
            sm_clock_mhz=float(self.sm_clock_max_mhz - 10 * wave),
            sm_clock_max_mhz=self.sm_clock_max_mhz,
            processes=(GpuProcess(4100 + i, "python3", used - 512 * MIB),),
        )
        forced = self.overrides.get(i)
        return replace(device, **forced) if forced else device


# --------------------------------------------------------------------------- nvidia-smi

SMI_GPU_FIELDS: tuple[str, ...] = (
    "index",
    "uuid",
    "name",
    "utilization.gpu",
    "memory.used",
    "memory.total",
    "temperature.gpu",
    "power.draw",
    "enforced.power.limit",
    "clocks.sm",
    "clocks.max.sm",
)
SMI_APP_FIELDS: tuple[str, ...] = ("gpu_uuid", "pid", "process_name", "used_memory")

_SMI_NA = ("[N/A]", "N/A", "[Not Supported]", "Not Supported", "[Unknown Error]", "")


def parse_smi_gpus(text: str, fields: Sequence[str] = SMI_GPU_FIELDS) -> tuple[GpuDevice, ...]:
    """Parse ``nvidia-smi --query-gpu=<fields> --format=csv,noheader,nounits``.

    Memory is in MiB there, power in W, clocks in MHz. ``[N/A]`` and
    ``[Not Supported]`` become None; rows with the wrong column count are skipped.
    """
    devices = []
    for values in _csv_records(text, fields):
        index = _int(_smi_number(values.get("index")))
        if index is None:
            continue
        devices.append(
            GpuDevice(
                index=index,
                uuid=_smi_text(values.get("uuid")),
                name=_smi_text(values.get("name")),
                util_percent=_smi_number(values.get("utilization.gpu")),
                mem_used_bytes=_mib(values.get("memory.used")),
                mem_total_bytes=_mib(values.get("memory.total")),
                temperature_c=_smi_number(values.get("temperature.gpu")),
                power_w=_smi_number(values.get("power.draw")),
                power_limit_w=_smi_number(values.get("enforced.power.limit", values.get("power.limit"))),
                sm_clock_mhz=_smi_number(values.get("clocks.sm")),
                sm_clock_max_mhz=_smi_number(values.get("clocks.max.sm")),
            )
        )
    return tuple(devices)


def parse_smi_apps(text: str, fields: Sequence[str] = SMI_APP_FIELDS) -> tuple[tuple[str, GpuProcess], ...]:
    """Parse ``nvidia-smi --query-compute-apps=<fields> --format=csv,noheader,nounits``
    into (gpu uuid, process) pairs. ``No running processes found`` gives ()."""
    out = []
    for values in _csv_records(text, fields):
        pid = _int(_smi_number(values.get("pid")))
        if pid is None:
            continue
        out.append((values.get("gpu_uuid", ""), GpuProcess(pid, _smi_text(values.get("process_name")), _mib(values.get("used_memory")))))
    return tuple(out)


class NvidiaSmiSource:
    """GPUs through the ``nvidia-smi`` command, local or remote.

    ``command`` is the argv prefix: ``("nvidia-smi",)`` here, or
    ``("ssh", "-o", "BatchMode=yes", "gpu-host", "nvidia-smi")`` for another
    host (then pass ``host="gpu-host"`` so samples are told apart). The query
    arguments are appended. Two runs per read: GPUs, then compute processes.
    """

    source = "nvidia-smi"

    def __init__(
        self,
        command: Sequence[str] = ("nvidia-smi",),
        *,
        host: str | None = None,
        timeout: float = 5.0,
        clock: Clock = _utcnow,
    ) -> None:
        self.command = tuple(command)
        self.host = host
        self.timeout = timeout
        self._clock = clock

    def read(self) -> GpuReading:
        now = self._clock()
        gpus, error = self._run(f"--query-gpu={','.join(SMI_GPU_FIELDS)}")
        if error:
            return GpuReading(self.source, now, False, reason=error, host=self.host)
        devices = parse_smi_gpus(gpus)
        if not devices:
            return GpuReading(self.source, now, False, reason="nvidia-smi listed no GPUs", host=self.host)
        apps, app_error = self._run(f"--query-compute-apps={','.join(SMI_APP_FIELDS)}")
        if not app_error:
            by_uuid: dict[str, list[GpuProcess]] = {}
            for uuid, proc in parse_smi_apps(apps):
                by_uuid.setdefault(uuid, []).append(proc)
            devices = tuple(replace(d, processes=tuple(by_uuid.get(d.uuid or "", ()))) for d in devices)
        return GpuReading(self.source, now, True, devices, host=self.host)

    def close(self) -> None:
        pass

    def _run(self, query: str) -> tuple[str, str | None]:
        argv = [*self.command, query, "--format=csv,noheader,nounits"]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=self.timeout, check=False)
        except FileNotFoundError:
            return "", f"{self.command[0]} not found"
        except subprocess.TimeoutExpired:
            return "", f"{' '.join(self.command)} timed out after {self.timeout:g}s"
        except OSError as exc:
            return "", f"{self.command[0]} could not run: {exc}"
        if done.returncode != 0:
            message = (done.stderr.strip() or done.stdout.strip()).splitlines()
            return "", f"{' '.join(self.command)} exited {done.returncode}: {message[0] if message else 'no output'}"
        return done.stdout, None


def _csv_records(text: str, fields: Sequence[str]) -> list[dict[str, str]]:
    """Rows of nvidia-smi CSV as field -> text; rows with another column count
    (messages such as "No devices were found") are dropped."""
    rows = csv.reader(io.StringIO(text), skipinitialspace=True)
    return [dict(zip(fields, (cell.strip() for cell in row))) for row in rows if len(row) == len(fields)]


def _smi_text(value: str | None) -> str | None:
    return None if value is None or value in _SMI_NA else value


def _smi_number(value: str | None) -> float | None:
    if value is None or value in _SMI_NA:
        return None
    try:
        number = float(value.split()[0])  # tolerate units when "nounits" was not given
    except (ValueError, IndexError):
        return None
    return number if math.isfinite(number) else None


def _mib(value: str | None) -> int | None:
    number = _smi_number(value)
    return None if number is None else int(number * MIB)


# --------------------------------------------------------------------------- DCGM exporter

_DCGM_GAUGES = {
    "util_percent": ("DCGM_FI_DEV_GPU_UTIL",),
    "temperature_c": ("DCGM_FI_DEV_GPU_TEMP",),
    "power_w": ("DCGM_FI_DEV_POWER_USAGE",),
    # The enforced limit when exported, else the power-management limit.
    "power_limit_w": ("DCGM_FI_DEV_ENFORCED_POWER_LIMIT", "DCGM_FI_DEV_POWER_MGMT_LIMIT"),
    "sm_clock_mhz": ("DCGM_FI_DEV_SM_CLOCK",),
    "sm_clock_max_mhz": ("DCGM_FI_DEV_MAX_SM_CLOCK",),
}
_DCGM_WANTED = frozenset(
    [name for names in _DCGM_GAUGES.values() for name in names]
    + ["DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE", "DCGM_FI_DEV_FB_RESERVED", "DCGM_FI_DEV_FB_TOTAL"]
)


def parse_dcgm(text: str) -> tuple[GpuDevice, ...]:
    """Parse a dcgm-exporter ``/metrics`` body into devices, one per ``gpu`` label.

    Framebuffer fields are MiB; memory total is ``FB_TOTAL`` when exported, else
    used + free (+ reserved). dcgm-exporter's default counters have no power
    limit or max clock, so those are None unless the fields were enabled.
    Processes are not exported by DCGM: always ().
    """
    raw: dict[int, dict[str, float]] = {}
    labels: dict[int, Mapping[str, str]] = {}
    for sample in parse_metrics(text).samples():
        if sample.name not in _DCGM_WANTED:
            continue
        index = _int(_smi_number(sample.labels.get("gpu")))
        if index is None:
            continue
        labels.setdefault(index, sample.labels)
        raw.setdefault(index, {}).setdefault(sample.name, sample.value)  # with pod labels a GPU may repeat
    devices = []
    for index in sorted(raw):
        values = raw[index]
        used = values.get("DCGM_FI_DEV_FB_USED")
        total = values.get("DCGM_FI_DEV_FB_TOTAL")
        free = values.get("DCGM_FI_DEV_FB_FREE")
        if total is None and used is not None and free is not None:
            total = used + free + values.get("DCGM_FI_DEV_FB_RESERVED", 0.0)
        gauges = {
            field_name: next((values[name] for name in names if name in values), None)
            for field_name, names in _DCGM_GAUGES.items()
        }
        devices.append(
            GpuDevice(
                index=index,
                uuid=labels[index].get("UUID"),
                name=labels[index].get("modelName"),
                mem_used_bytes=None if used is None else int(used * MIB),
                mem_total_bytes=None if total is None else int(total * MIB),
                **gauges,
            )
        )
    return tuple(devices)


class DcgmExporterSource:
    """GPUs from a dcgm-exporter ``/metrics`` URL (default port 9400)."""

    source = "dcgm"

    def __init__(self, url: str, *, host: str | None = None, timeout: float = 2.0, clock: Clock = _utcnow) -> None:
        self.url = url if "://" in url else f"http://{url}"
        self.host = host
        self.timeout = timeout
        self._clock = clock

    def read(self) -> GpuReading:
        import httpx

        now = self._clock()
        try:
            response = httpx.get(self.url, timeout=self.timeout, trust_env=False)
        except httpx.TimeoutException:
            return GpuReading(self.source, now, False, reason=f"dcgm-exporter timed out after {self.timeout:g}s", host=self.host)
        except httpx.HTTPError as exc:
            return GpuReading(self.source, now, False, reason=f"dcgm-exporter unreachable: {exc}", host=self.host)
        if response.status_code != 200:
            return GpuReading(self.source, now, False, reason=f"dcgm-exporter HTTP {response.status_code}", host=self.host)
        devices = parse_dcgm(response.text)
        if not devices:
            return GpuReading(self.source, now, False, reason="dcgm-exporter body has no DCGM_FI_DEV_* series", host=self.host)
        return GpuReading(self.source, now, True, devices, host=self.host)

    def close(self) -> None:
        pass


# --------------------------------------------------------------------------- helpers


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _num(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _int(value: Any) -> int | None:
    number = _num(value)
    return None if number is None else int(number)
