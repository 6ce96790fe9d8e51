"""Writing rows to files people open: CSV, JSONL, JSON, Parquet."""

from __future__ import annotations

from pathlib import Path

import polars as pl

FORMATS = ("csv", "jsonl", "json", "parquet")


def _flat_for_csv(df: pl.DataFrame) -> pl.DataFrame:
    # CSV has no lists or nested values: lists become comma-joined text
    exprs = []
    for name, dtype in df.schema.items():
        if isinstance(dtype, pl.List):
            exprs.append(pl.col(name).cast(pl.List(pl.String)).list.join(",").alias(name))
        elif isinstance(dtype, (pl.Struct, pl.Array)):
            exprs.append(pl.col(name).cast(pl.String).alias(name))
    return df.with_columns(exprs) if exprs else df


def write_rows(df: pl.DataFrame, path: Path, fmt: str) -> int:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    if fmt == "csv":
        _flat_for_csv(df).write_csv(tmp)
    elif fmt == "jsonl":
        df.write_ndjson(tmp)
    elif fmt == "json":
        df.write_json(tmp)
    elif fmt == "parquet":
        df.write_parquet(tmp)
    else:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    tmp.replace(path)
    return df.height
