"""Property tests over the decoders: whatever bytes arrive, ``parse_request`` and
``SpanBatchBuilder.build`` either produce a batch or raise ``BadRequest`` (and its
subclasses, the documented 400/413/415); never anything else, which would cost a
request (or, inline, a 500)."""

from __future__ import annotations

import gzip
import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingest_support import json_request, json_span, new_span_id, new_trace_id, pb_request

from store.collector import otlp
from store.collector.enrich import make_price_fn
from store.collector.normalize import SpanBatchBuilder
from store.collector.normalize import keys as K

FUZZ = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
BUILDER = SpanBatchBuilder(price=make_price_fn({}))
LIMIT = 1 << 20


def decode(body: bytes, encoding: str, content_encoding: str | None = None):  # type: ignore[no-untyped-def]
    """The decoder's path: inflate, parse, normalize; only BadRequest may escape."""
    try:
        payload = otlp.decompress(body, content_encoding, LIMIT)
        request = otlp.parse_request(payload, encoding)
    except otlp.BadRequest:
        return None
    result = BUILDER.build(request)
    assert result.batch.num_rows == result.accepted
    # the builder turns a normalizer exception into a rejected span: that is a bug here
    assert not any("could not normalize" in e for e in result.errors), result.errors
    return result


def _rich_attrs() -> dict:
    return {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 3, "llm.cost.total": 0.1,
        "gen_ai.input.messages": '[{"role":"user","parts":[{"type":"text","content":"hi"}]}]',
        "llm.input_messages.0.message.role": "user", "llm.input_messages.0.message.content": "hi",
        "llm.input_messages.1.message.tool_calls.0.tool_call.function.name": "f",
        "gen_ai.prompt.0.role": "user", "gen_ai.completion.0.content": "yo", "llm.invocation_parameters": '{"t": 1}',
        "langfuse.observation.usage_details": '{"input": 3}', "hidden_params": '{"response_cost": 0.5}',
        "gen_ai.response.finish_reasons": ["stop"], "tag.tags": ["a"], "server.port": 443,
    }


VALID_PB = pb_request([{"trace_id": os.urandom(16), "span_id": os.urandom(8), "name": "chat", "kind": 3,
                        "attrs": _rich_attrs()}]).SerializeToString()
VALID_JSON = json_request([json_span(new_trace_id(), new_span_id(), "chat", _rich_attrs(),
                                     events=[("gen_ai.choice", {"message": '{"content": "x"}'})])])


@FUZZ
@given(body=st.binary(max_size=4000), encoding=st.sampled_from([otlp.PROTOBUF, otlp.JSON]))
def test_random_bytes(body, encoding):
    decode(body, encoding)


@FUZZ
@given(body=st.binary(max_size=2000))
def test_random_bytes_as_gzip(body):
    decode(body, otlp.PROTOBUF, "gzip")
    decode(gzip.compress(body), otlp.PROTOBUF, "gzip")


@FUZZ
@given(data=st.data())
def test_mutated_protobuf(data):
    body = bytearray(VALID_PB)
    for _ in range(data.draw(st.integers(1, 8))):
        op = data.draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        i = data.draw(st.integers(0, max(0, len(body) - 1)))
        if op == "flip" and body:
            body[i] = data.draw(st.integers(0, 255))
        elif op == "insert":
            body[i:i] = data.draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del body[i:i + data.draw(st.integers(1, 16))]
        else:
            del body[i:]
    decode(bytes(body), otlp.PROTOBUF)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20)


def _paths(node, path=()):  # type: ignore[no-untyped-def]
    yield path
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, path + (i,))


PATHS = [p for p in _paths(VALID_JSON) if p]


@FUZZ
@given(data=st.data())
def test_mutated_json(data):
    doc = json.loads(json.dumps(VALID_JSON))
    for _ in range(data.draw(st.integers(1, 4))):
        path = data.draw(st.sampled_from(PATHS))
        node = doc
        try:
            for step in path[:-1]:
                node = node[step]
            node[path[-1]] = data.draw(JSON_VALUES)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation changed the shape above this path
    decode(json.dumps(doc).encode(), otlp.JSON)


KNOWN_KEYS = sorted(K.FIELD_OF) + ["error.type", "litellm.call_id", "langfuse.trace.name"]
FLAT_KEYS = st.builds(lambda p, i, rest: f"{p}{i}.{rest}", st.sampled_from(K.FLAT_PREFIXES),
                      st.sampled_from(["0", "1", "7", "x", ""]),
                      st.sampled_from(["message.role", "message.content", "role", "content", "tool_calls.0.id",
                                       "message.tool_calls.1.tool_call.function.arguments", "tool.json_schema",
                                       "message.contents.0.message_content.text", "name", "parameters", "", "a.b"]))
ANY_VALUES = st.recursive(
    st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1) | st.floats() | st.text(max_size=40)
    | st.binary(max_size=8) | st.sampled_from(['[{"role":"user","content":"x"}]', '{"total": 1e308}', "[", "{}"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12)


@FUZZ
@given(attrs=st.dictionaries(st.sampled_from(KNOWN_KEYS) | FLAT_KEYS, ANY_VALUES, max_size=12),
       kind=st.integers(0, 2**31 - 1), start=st.integers(0, 2**64 - 1), end=st.integers(0, 2**64 - 1),
       tid=st.binary(max_size=20), sid=st.binary(max_size=10))
def test_random_values_under_known_keys(attrs, kind, start, end, tid, sid):
    """The normalizer's own input space: every mapped key, with any value shape."""
    good = {"trace_id": os.urandom(16), "span_id": os.urandom(8), "kind": kind, "start_ns": start, "end_ns": end,
            "attrs": attrs}
    odd = {"trace_id": tid, "span_id": sid, "attrs": attrs}
    result = decode(pb_request([good, odd]).SerializeToString(), otlp.PROTOBUF)
    odd_ok = len(tid) == 16 and any(tid) and len(sid) == 8 and any(sid)
    assert (result.accepted, result.rejected) == (1 + odd_ok, 1 - odd_ok), result.errors


def test_the_seeds_are_valid():
    for body, enc in ((VALID_PB, otlp.PROTOBUF), (json.dumps(VALID_JSON).encode(), otlp.JSON)):
        result = BUILDER.build(otlp.parse_request(body, enc))
        assert (result.accepted, result.rejected) == (1, 0)


@pytest.mark.parametrize("encoding", [otlp.PROTOBUF, otlp.JSON])
def test_empty_body_is_an_empty_request(encoding):
    body = b"" if encoding == otlp.PROTOBUF else b"{}"
    assert BUILDER.build(otlp.parse_request(body, encoding)).accepted == 0
