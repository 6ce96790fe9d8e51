"""One collector per store: an exclusive lock on ``collector.lock``, released by the OS
when the process dies (so ``kill -9`` never leaves a stale lock)."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

from store.segments.layout import LOCK


class StoreLocked(RuntimeError):
    pass


class WriterLock:
    def __init__(self, root: Path, listen: str = ""):
        self.path = Path(root) / LOCK
        self.listen = listen
        self._fd: int | None = None

    def acquire(self) -> "WriterLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = holder_info(self.path)
            os.close(fd)
            who = f"pid {holder.get('pid')}, listening on {holder.get('listen')}" if holder else "another process"
            raise StoreLocked(
                f"another collector ({who}) is already writing to {self.path.parent}; "
                "a store has exactly one collector. Point this one at another --store, or stop the other."
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "listen": self.listen}).encode())
        os.fsync(fd)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "WriterLock":
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def holder_info(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text() or "{}")
    except (OSError, ValueError):
        return {}
