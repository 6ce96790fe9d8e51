"""One collector per store: a second one is refused with a message that says who holds
it; readers are never blocked; the lock goes with its holder (even on kill -9)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from store.collector.runner import Collector
from store.query import StoreReader
from store.segments.lock import StoreLocked
from tests.support.collector import REPO, free_port, settings_for, start_inprocess, start_subprocess


def test_second_collector_in_process_is_refused(store_dir):
    first = start_inprocess(store_dir)
    try:
        second = Collector(settings_for(store_dir), workers=0)
        with pytest.raises(StoreLocked) as err:
            second.open()
        msg = str(err.value)
        assert f"pid {os.getpid()}" in msg and first.url.removeprefix("http://") in msg
        assert "a store has exactly one collector" in msg and str(store_dir) in msg
        StoreReader(store_dir).manifest()  # readers are not locked out
    finally:
        first.stop()
    # released on stop: the next one takes the store
    again = start_inprocess(store_dir)
    again.stop()


def test_second_collector_process_exits_with_the_reason(store_dir):
    first = start_subprocess(store_dir, workers=0)
    try:
        port = free_port()
        out = subprocess.run(
            [sys.executable, "-m", "store.collector", "--store", str(store_dir), "--listen", f"127.0.0.1:{port}",
             "--workers", "0"], cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)),
            capture_output=True, text=True, timeout=60)
        assert out.returncode == 2
        assert f"another collector (pid {first.proc.pid}, listening on {first.url.removeprefix('http://')})" \
            in out.stderr
        assert "already writing to" in out.stderr
    finally:
        first.kill9()
    # a killed holder leaves no stale lock
    again = start_inprocess(store_dir)
    again.stop()
