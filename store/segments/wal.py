"""The write-ahead log: what the collector has acknowledged but not yet published.

A record is a 24-byte header (magic, table code, sequence number, length, CRC32)
and an Arrow IPC stream. ``append`` returns only after fsync, so a record that was
acknowledged survives ``kill -9``. On restart, records after the manifest's
checkpoint are replayed exactly once; a torn record at the tail is cut off.
"""

from __future__ import annotations

import logging
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pyarrow as pa

log = logging.getLogger(__name__)

MAGIC = b"LWR1"
HEADER = struct.Struct("<4sB3xQII")
TABLE_CODES = {"spans": 1, "guardrail_events": 2, "scores": 3, "health_samples": 4, "alerts": 5}
TABLE_NAMES = {v: k for k, v in TABLE_CODES.items()}
SUFFIX = ".wal"


@dataclass(frozen=True)
class WalRecord:
    seq: int
    table: str
    payload: bytes

    def batch(self) -> pa.RecordBatch:
        return ipc_batch(self.payload)


def ipc_bytes(batch: pa.RecordBatch) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as w:
        w.write_batch(batch)
    return sink.getvalue().to_pybytes()


def ipc_batch(payload: bytes) -> pa.RecordBatch:
    with pa.ipc.open_stream(payload) as r:
        batches = list(r)
    if len(batches) == 1:
        return batches[0]
    return pa.Table.from_batches(batches, schema=r.schema).combine_chunks().to_batches()[0]


def _files(wal_dir: Path) -> list[tuple[int, Path]]:
    out = []
    for p in wal_dir.glob(f"*{SUFFIX}"):
        try:
            out.append((int(p.stem), p))
        except ValueError:
            continue
    return sorted(out)


class WalWriter:
    """Appends records; one file per checkpoint interval, removed once published."""

    def __init__(self, wal_dir: Path, next_seq: int, rotate_bytes: int = 256 << 20):
        self.dir = wal_dir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.next_seq = next_seq
        self.rotate_bytes = rotate_bytes
        self._fd = -1
        self._size = 0
        self._open()

    def _open(self) -> None:
        path = self.dir / f"{self.next_seq:020d}{SUFFIX}"
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._size = 0
        from store.segments.layout import fsync_dir

        fsync_dir(self.dir)

    def append(self, records: list[tuple[str, bytes]]) -> list[int]:
        """Write and fsync; returns the sequence numbers given to the records."""
        seqs, chunks = [], []
        for table, payload in records:
            seq = self.next_seq
            self.next_seq += 1
            chunks.append(HEADER.pack(MAGIC, TABLE_CODES[table], seq, len(payload), zlib.crc32(payload)))
            chunks.append(payload)
            seqs.append(seq)
        data = b"".join(chunks)
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]
        os.fdatasync(self._fd)
        self._size += len(data)
        if self._size >= self.rotate_bytes:
            self.rotate()
        return seqs

    def rotate(self) -> None:
        if self._size == 0:
            return
        os.close(self._fd)
        self._open()

    def drop_upto(self, checkpoint: int) -> None:
        """Delete whole files whose records are all at or below the checkpoint."""
        files = _files(self.dir)
        for (first, path), nxt in zip(files, files[1:]):
            if nxt[0] - 1 <= checkpoint:
                path.unlink(missing_ok=True)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def replay(wal_dir: Path, after_seq: int) -> Iterator[WalRecord]:
    """Records with seq > after_seq, in order. A torn tail is truncated away."""
    files = _files(wal_dir)
    for i, (first, path) in enumerate(files):
        data = path.read_bytes()
        off = 0
        while off < len(data):
            if len(data) - off < HEADER.size:
                _truncate(path, off, "torn header")
                break
            magic, code, seq, length, crc = HEADER.unpack_from(data, off)
            end = off + HEADER.size + length
            if magic != MAGIC or end > len(data) or code not in TABLE_NAMES:
                _truncate(path, off, "torn or corrupt record")
                break
            payload = data[off + HEADER.size:end]
            if zlib.crc32(payload) != crc:
                _truncate(path, off, "checksum mismatch")
                break
            if seq > after_seq:
                yield WalRecord(seq, TABLE_NAMES[code], payload)
            off = end


def last_seq(wal_dir: Path) -> int:
    last = 0
    for rec in replay(wal_dir, -1):
        last = rec.seq
    return last


def _truncate(path: Path, offset: int, why: str) -> None:
    # Only an unacknowledged write can be torn: fsync had not returned, so no 2xx went out.
    log.warning("WAL %s: %s at byte %d; cutting the tail", path.name, why, offset)
    with open(path, "r+b") as f:
        f.truncate(offset)
        f.flush()
        os.fsync(f.fileno())
