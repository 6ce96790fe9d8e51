"""Shared bits for the replay tests (imported as a plain module, not a test)."""

from __future__ import annotations

import json
from typing import Any


def span_row(**overrides: Any) -> dict[str, Any]:
    row = {
        "trace_id": "0af7651916cd43dd8448eb211c80319c",
        "span_id": "b7ad6b7169203331",
        "model": "echo",
        "provider": "openai",
        "input_messages": json.dumps([{"role": "user", "content": "hello replay world"}]),
        "output_messages": json.dumps([{"role": "assistant", "content": "recorded answer", "finish_reason": "stop"}]),
        "request_params": json.dumps({"temperature": 0.2, "max_tokens": 50, "stream": True}),
        "input_tokens": 3,
        "output_tokens": 2,
        "cost_usd": 0.001,
        "duration_ms": 420.0,
        "ttft_ms": 80.0,
        "server_address": None,
    }
    row.update(overrides)
    return row
