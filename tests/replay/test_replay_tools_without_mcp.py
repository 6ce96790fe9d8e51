"""A recorded request with tools replays without LiteLLM's optional `mcp` package."""

import json

import pytest
from replay_helpers import span_row

from console.replay import RecordedRequest, ReplayEngine, Variant

pytestmark = pytest.mark.usefixtures("isolated_keys")

TOOLS = [{"type": "function", "function": {"name": "lookup_refund", "description": "Find a refund",
                                            "parameters": {"type": "object", "properties": {"id": {"type": "string"}}}}}]


async def test_a_request_with_tools_replays(openai_stub):
    row = span_row(request_params=json.dumps({"temperature": 0.2, "tools": TOOLS}))
    result = await ReplayEngine(api_base=openai_stub.base_url).run(RecordedRequest.from_span(row), Variant.original())
    assert result.error is None, result.error and result.error.detail
    assert result.text == "hello replay world"
    assert openai_stub.calls[0].body["tools"][0]["function"]["name"] == "lookup_refund"
