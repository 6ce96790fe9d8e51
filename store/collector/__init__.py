"""The sidecar collector: OTLP/HTTP in, durable segments out.

The HTTP front end (``server``) hands request bodies to decoder processes
(``decoders``), which parse, normalize and price spans into Arrow batches. The
single writer (``ingest``) appends each batch to the write-ahead log, answers the
request only after fsync, and publishes Parquet segments on a short interval.
"""
