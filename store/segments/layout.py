"""Where things live inside a store root."""

from __future__ import annotations

import os
from datetime import date, datetime, timezone
from pathlib import Path

MANIFEST = "manifest.json"
TABLES = "tables"
WAL_DIR = "wal"
LOCK = "collector.lock"
STATE_DIR = "state"


def day_of_us(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, tz=timezone.utc).date().isoformat()


def partition_dir(table: str, day: str) -> str:
    return f"{TABLES}/{table}/day={day}"


def segment_path(table: str, day: str, generation: int | str, index: int) -> str:
    gen = f"{generation:012d}" if isinstance(generation, int) else generation
    return f"{partition_dir(table, day)}/{gen}-{index:04d}.parquet"


def parse_day(day: str) -> date:
    return date.fromisoformat(day)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
