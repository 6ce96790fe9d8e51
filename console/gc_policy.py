"""When the console's Python collects cyclic garbage.

A full collection walks every tracked object (a quarter of a million once a few pages
and traces are loaded) and took 50 to 240 ms on a busy 2-core machine. Left to the
allocation counters it runs exactly when the console allocates most: opening a trace,
appending a page, which is where a reader sees the pause. So once the app is up, what
exists then (modules, widget trees, caches that live as long as the app) is frozen out
of collections, the automatic full collection is switched off, and one runs on a timer
instead, at a moment no key press caused. Young collections stay as they are.
"""

from __future__ import annotations

import gc

FULL_COLLECTION_SECONDS = 60.0
_NEVER = 10**9  # full collections triggered by the allocation counters: none


class GcPolicy:
    def __init__(self) -> None:
        self._saved: tuple[int, int, int] | None = None

    def apply(self) -> None:
        if self._saved is not None:
            return
        self._saved = gc.get_threshold()
        gc.freeze()
        young, middle, _ = self._saved
        gc.set_threshold(young, middle, _NEVER)

    def collect(self) -> None:
        if self._saved is not None:
            gc.collect()

    def restore(self) -> None:
        """Python's own policy again (the app has ended, or tests run many apps in one
        process): frozen objects go back into collections."""
        if self._saved is None:
            return
        gc.set_threshold(*self._saved)
        gc.unfreeze()
        self._saved = None
