"""The one place that imports LiteLLM, lazily.

``import litellm`` costs ~3 s and ~170 MB (tech brief §6), so nothing imports it
at module import time; :func:`load_litellm` does on first use (call it through
``asyncio.to_thread`` to keep a UI responsive). It first sets
``LITELLM_LOCAL_MODEL_COST_MAP=True`` so the import reads the bundled price map
instead of fetching one from GitHub.
"""

from __future__ import annotations

import os
import threading
from typing import Any

_lock = threading.Lock()
_module: Any = None


def load_litellm() -> Any:
    global _module
    if _module is None:
        with _lock:
            if _module is None:
                os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
                import litellm

                # The "Give Feedback / Get Help" banner goes to stdout on every error;
                # we turn errors into our own messages instead.
                litellm.suppress_debug_info = True
                _module = litellm
    return _module


def is_loaded() -> bool:
    return _module is not None
