"""The append-only segment store: Parquet segments partitioned by day, a manifest
replaced atomically, a write-ahead log, compaction and retention.

Layout under the store root (relative paths only, so the same layout works on
object storage)::

    manifest.json                      the current snapshot (atomically replaced)
    tables/<table>/day=YYYY-MM-DD/<generation>-<n>.parquet
    wal/<first-seq>.wal                the write-ahead log (collector only)
    collector.lock                     held by the single writer
"""
