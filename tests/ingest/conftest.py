"""Fixtures for the ingest tests (helpers live in ingest_support.py)."""

from tests.support.openai_stub import openai_stub, openai_stub_server  # noqa: F401
