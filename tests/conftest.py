"""Shared fixtures: real stores in tmp dirs and real collectors on loopback."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

# Never let a test reach the network for LiteLLM's price map, or read a developer's config.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ.setdefault("LLMOPS_CONFIG_FILE", "/nonexistent/llmops-console-test-config.toml")

from tests.support.collector import RunningCollector, start_inprocess  # noqa: E402


@pytest.fixture(autouse=True)
def _reader_cache_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """What readers cache (``cost_rollup.RollupFiles``) goes to a temporary directory,
    never the user's, in every test and every process a test starts."""
    monkeypatch.setenv("LLMOPS_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def collector(store_dir: Path) -> Iterator[RunningCollector]:
    rc = start_inprocess(store_dir)
    try:
        yield rc
    finally:
        rc.stop()
