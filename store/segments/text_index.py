"""Trigram indexes for free-text search, in a sidecar of a compacted span segment
(``<segment>.trigrams``): for each row group, one bit per possible trigram of
lowercase letters, digits and underscores (37³ bits, 6 KB), set when some word of
the row group's text contains it.

Search is substring search (ILIKE), so the index must never say "absent" for text
that matches: every run of three or more such characters in the query is a
substring of some word of any matching text, so each of its trigrams is set
there. A row group missing one of them cannot match and is not read. A rare term
over a month of traffic ("TimeoutError", an order id, an email) then reads only
the row groups that may hold it. Queries with no run of three such characters
cannot be looked up and scan.
"""

from __future__ import annotations

import os
import re
import struct
from pathlib import Path

import polars as pl
import pyarrow as pa

from store.segments.layout import fsync_dir

MAGIC = b"LTRI1"
SUFFIX = ".trigrams"
TEXT_COLUMNS = ("name", "input_messages", "output_messages", "input_value", "output_value", "status_message")
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789_"
_CODE = {ch: i for i, ch in enumerate(_ALPHABET)}
N = len(_ALPHABET)
BYTES = (N**3 + 7) // 8
_RUN = re.compile(r"[a-z0-9_]{3,}")
_HEADER = struct.Struct("<5sII")  # magic, bytes per row group, row groups


def trigram_ids(word: str) -> set[int]:
    codes = [_CODE[c] for c in word]
    return {(codes[i] * N + codes[i + 1]) * N + codes[i + 2] for i in range(len(codes) - 2)}


def query_trigrams(tokens: list[str]) -> set[int]:
    out: set[int] = set()
    for tok in tokens:
        for run in _RUN.findall(tok.lower()):
            out |= trigram_ids(run)
    return out


def build(table: pa.Table, row_group_size: int) -> bytes:
    """The index of ``table`` as it will be written in row groups of ``row_group_size``."""
    n = table.num_rows
    groups = [table.slice(start, row_group_size) for start in range(0, n, row_group_size)] or [table]
    return assemble([group_bits(g) for g in groups])


def group_bits(group: pa.Table) -> bytes:
    """One row group's bitmap: built as each row group is written, so a segment of any
    size is indexed without holding it in memory."""
    cols = [c for c in TEXT_COLUMNS if c in group.column_names]
    bits = bytearray(BYTES)
    if not cols or group.num_rows == 0:
        return bytes(bits)
    df = pl.from_arrow(group.select(cols).combine_chunks())
    assert isinstance(df, pl.DataFrame)
    words = (df.select(pl.concat_str([pl.col(c).fill_null("") for c in cols], separator=" ")
                       .str.to_lowercase().str.extract_all(_RUN.pattern).alias("w"))
             .explode("w").drop_nulls().unique())
    seen: set[int] = set()
    for w in words.get_column("w").to_list():
        seen |= trigram_ids(w)
    for t in seen:
        bits[t >> 3] |= 1 << (t & 7)
    return bytes(bits)


def assemble(groups: list[bytes]) -> bytes:
    return _HEADER.pack(MAGIC, BYTES, len(groups)) + b"".join(groups)


def write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def candidate_row_groups(index: bytes, trigrams: set[int]) -> list[int] | None:
    """Row groups that may match, or None when the index cannot answer (a damaged
    file, or a query with nothing to look up)."""
    if not trigrams or len(index) < _HEADER.size:
        return None
    magic, size, n_groups = _HEADER.unpack_from(index)
    if magic != MAGIC or size != BYTES or len(index) != _HEADER.size + n_groups * size:
        return None
    out = []
    for rg in range(n_groups):
        base = _HEADER.size + rg * size
        if all(index[base + (t >> 3)] & (1 << (t & 7)) for t in trigrams):
            out.append(rg)
    return out
