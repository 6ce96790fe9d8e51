"""Services the screens call from workers: store queries, the collector link.

Everything here is blocking or async I/O and never touches widgets.
"""
