"""Time filters mean the same instant whatever the reader's local time zone."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from tests.support.stores import T0, agent_trace, write

REPO = Path(__file__).resolve().parents[2]
PROBE = """
import sys
from store.query import StoreReader
from store.query.filters import parse
from store.query.traces import TraceQueries
q = TraceQueries(StoreReader(sys.argv[1]))
print(q.list(parse("since:" + sys.argv[2]), limit=50).rows.height)
"""


def test_since_is_the_same_instant_in_any_zone(tmp_path: Path) -> None:
    store = tmp_path / "store"
    write(store, [r for i in range(6) for r in agent_trace(i, T0 + timedelta(hours=i))])
    since = (T0 + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")  # naive: read as UTC
    counts = set()
    for tz in ("UTC", "America/New_York", "Asia/Kolkata"):
        env = dict(os.environ, TZ=tz, PYTHONPATH=str(REPO))
        out = subprocess.run([sys.executable, "-c", PROBE, str(store), since], env=env, capture_output=True,
                             text=True, check=True)
        counts.add(int(out.stdout.strip()))
    assert counts == {3}
