"""Reading a segment a batch at a time without holding a whole row group's bytes."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

# Column chunks are read through a 1 MiB buffer: pre-buffering (pyarrow's default)
# holds a whole row group's compressed bytes, ~3x the memory for a streamed rewrite.
READ_BUFFER = 1 << 20


def batches(path: Path, size: int, columns: Sequence[str] | None = None) -> Iterator[pa.RecordBatch]:
    pf = pq.ParquetFile(path, pre_buffer=False, buffer_size=READ_BUFFER)
    try:
        yield from pf.iter_batches(batch_size=size, columns=list(columns) if columns is not None else None)
    finally:
        pf.close()
