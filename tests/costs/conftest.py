"""The cost tests keep what readers cache (``cost_rollup.RollupFiles``) in a temporary
directory, never in the user's."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path_factory, monkeypatch) -> None:
    monkeypatch.setenv("LLMOPS_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
