"""Forward migrations of a store's schema version.

Columns are only ever added, and readers read with ``union_by_name``, so most
schema changes need no migration at all. A change that does (a renamed column, a
new derived table) registers a step here: ``STEPS[v]`` takes a store at version v
to v+1 through the single writer, and the collector runs pending steps at start.
"""

from __future__ import annotations

from typing import Callable

from store.schema import SCHEMA_VERSION
from store.segments.manifest import StoreError
from store.segments.writer import SegmentWriter

Step = Callable[[SegmentWriter], None]

STEPS: dict[int, Step] = {}


def migrate(writer: SegmentWriter, target: int = SCHEMA_VERSION, steps: dict[int, Step] | None = None) -> list[int]:
    steps = STEPS if steps is None else steps
    m = writer.manifest
    if m.schema_version > target:
        raise StoreError(
            f"store schema version {m.schema_version} is newer than this llmops-console understands ({target}); upgrade"
        )
    done = []
    while writer.manifest.schema_version < target:
        v = writer.manifest.schema_version
        if v in steps:
            steps[v](writer)
        with writer.lock:
            writer.manifest.schema_version = v + 1
            from store.segments import manifest as mf

            mf.publish(writer.root, writer.manifest)
        done.append(v + 1)
    return done
