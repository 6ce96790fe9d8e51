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
