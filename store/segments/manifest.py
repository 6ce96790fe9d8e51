"""The manifest: the list of live segments, replaced atomically on every publish.

Readers load it, query exactly the files it lists, and so always see a consistent
snapshot. Files dropped by compaction or retention wait in ``graveyard`` for a grace
period before deletion, so a reader holding an older snapshot never hits a missing
file.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from store.schema import SCHEMA_VERSION
from store.segments.layout import MANIFEST, fsync_dir

FORMAT = 1


class StoreError(RuntimeError):
    """A store that cannot be read as it is; the message says what to do."""


@dataclass(frozen=True)
class Segment:
    table: str
    day: str
    path: str
    rows: int
    bytes: int
    min_us: int
    max_us: int
    level: int = 0
    generation: int = 0  # the publish that added it (0 for rewrites, which hold older rows)
    text_index: bool = False  # a trigram index sidecar (store.segments.text_index) exists


@dataclass
class Manifest:
    generation: int = 0
    schema_version: int = SCHEMA_VERSION
    wal_checkpoint: int = 0  # every WAL record up to this sequence number is in a segment
    segments: list[Segment] = field(default_factory=list)
    graveyard: list[tuple[str, float]] = field(default_factory=list)  # (path, delete after unix time)
    updated_at: float = 0.0

    def tables(self, table: str) -> list[Segment]:
        return [s for s in self.segments if s.table == table]

    def to_json(self) -> bytes:
        doc = asdict(self)
        doc["format"] = FORMAT
        return orjson.dumps(doc, option=orjson.OPT_INDENT_2)

    @classmethod
    def from_json(cls, raw: bytes) -> "Manifest":
        doc: dict[str, Any] = orjson.loads(raw)
        if doc.get("format", 1) > FORMAT:
            raise StoreError(
                f"this store was written by a newer llmops-console (manifest format {doc['format']}); upgrade to read it"
            )
        return cls(
            generation=doc["generation"],
            schema_version=doc.get("schema_version", 1),
            wal_checkpoint=doc.get("wal_checkpoint", 0),
            segments=[Segment(**s) for s in doc.get("segments", [])],
            graveyard=[tuple(g) for g in doc.get("graveyard", [])],
            updated_at=doc.get("updated_at", 0.0),
        )


def load(root: Path) -> Manifest:
    try:
        raw = (root / MANIFEST).read_bytes()
    except FileNotFoundError:
        return Manifest()
    try:
        return Manifest.from_json(raw)
    except (orjson.JSONDecodeError, KeyError, TypeError) as e:
        raise StoreError(f"{root / MANIFEST} is damaged ({e}); restore it from a backup") from None


class ManifestCache:
    """Re-reads the manifest only when the file was replaced (cheap per query)."""

    def __init__(self, root: Path):
        self.root = root
        self._key: tuple[int, int] | None = None
        self._manifest = Manifest()

    def get(self) -> Manifest:
        try:
            st = os.stat(self.root / MANIFEST)
        except FileNotFoundError:
            return Manifest()
        key = (st.st_ino, st.st_mtime_ns)
        if key != self._key:
            self._manifest = load(self.root)
            self._key = key
        return self._manifest


def publish(root: Path, manifest: Manifest) -> None:
    """Write-to-temp, fsync, rename, fsync the directory: readers see old or new, never half."""
    manifest.updated_at = time.time()
    data = manifest.to_json()
    fd, tmp = tempfile.mkstemp(prefix=".manifest-", dir=root)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, root / MANIFEST)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(root)
