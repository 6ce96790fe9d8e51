"""Reading the store: DuckDB in-process over the files the manifest lists.

Readers never lock anything and never block the collector: each query reads the
manifest (re-parsed only when it was replaced), picks the segments whose time
range overlaps the question, and hands their paths to ``read_parquet``.
"""

from store.query.reader import StoreReader

__all__ = ["StoreReader"]
