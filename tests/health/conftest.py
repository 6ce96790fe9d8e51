"""Fixtures for the health tests (helpers live in health_stub.py)."""

from __future__ import annotations

import socket

import pytest
from health_stub import StubVllm


@pytest.fixture
def stub_vllm():
    server = StubVllm()
    yield server
    server.close()


@pytest.fixture
def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"
