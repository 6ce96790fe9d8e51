"""Decoding OTLP/HTTP trace bodies (protobuf or JSON, optionally gzipped)."""

from __future__ import annotations

import base64
import binascii
import gzip
import zlib

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

PROTOBUF = "protobuf"
JSON = "json"


class BadRequest(ValueError):
    """Input the collector refuses with 400; the message goes back to the sender."""


class UnsupportedMediaType(BadRequest):
    """A content type the collector does not speak (415)."""


class TooLarge(BadRequest):
    """A body over the configured limit (413)."""


def encoding_of(content_type: str | None) -> str:
    ct = (content_type or "").split(";", 1)[0].strip().lower()
    if ct in ("application/x-protobuf", "application/protobuf", "application/octet-stream"):
        return PROTOBUF
    if ct in ("application/json", "text/json"):
        return JSON
    raise UnsupportedMediaType(
        f"unsupported content type {ct or '(none)'!r}: send application/x-protobuf or application/json"
    )


def decompress(body: bytes, content_encoding: str | None, limit: int) -> bytes:
    enc = (content_encoding or "identity").strip().lower()
    if enc in ("", "identity"):
        return body
    if enc not in ("gzip", "x-gzip", "deflate"):
        raise UnsupportedMediaType(f"unsupported content encoding {enc!r}: send gzip or identity")
    # Inflate incrementally so a small bomb cannot expand past the limit.
    d = zlib.decompressobj(wbits=31 if "gzip" in enc else 15)
    try:
        out = d.decompress(body, limit + 1)
        if len(out) > limit or d.unconsumed_tail:
            raise TooLarge(f"decompressed body exceeds {limit} bytes")
        out += d.flush()
    except (zlib.error, gzip.BadGzipFile) as e:
        raise BadRequest(f"body is not valid {enc}: {e}") from None
    if not d.eof:
        raise BadRequest(f"{enc} body is truncated")
    return out


_ID_KEYS = {"traceId": 16, "spanId": 8, "parentSpanId": 8}


def _hex_ids_to_base64(node: object) -> None:
    """OTLP/JSON carries ids as hex, but protobuf's JSON mapping expects base64."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_KEYS and isinstance(value, str):
                try:
                    raw = bytes.fromhex(value) if value else b""
                except ValueError:
                    raise BadRequest(f"{key} {value[:40]!r} is not hex") from None
                node[key] = base64.b64encode(raw).decode()
            else:
                _hex_ids_to_base64(value)
    elif isinstance(node, list):
        for item in node:
            _hex_ids_to_base64(item)


def parse_request(payload: bytes, encoding: str) -> ExportTraceServiceRequest:
    req = ExportTraceServiceRequest()
    if encoding == PROTOBUF:
        try:
            req.ParseFromString(payload)
        except (DecodeError, RuntimeError, ValueError) as e:
            raise BadRequest(f"body is not a valid OTLP ExportTraceServiceRequest protobuf: {e}") from None
        return req
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError as e:
        raise BadRequest(f"body is not valid JSON: {e}") from None
    if not isinstance(doc, dict):
        raise BadRequest("OTLP/JSON body must be an object with resourceSpans")
    _hex_ids_to_base64(doc)
    try:
        json_format.ParseDict(doc, req, ignore_unknown_fields=True)
    except (json_format.ParseError, binascii.Error, ValueError, TypeError) as e:
        raise BadRequest(f"body is not a valid OTLP/JSON ExportTraceServiceRequest: {e}") from None
    return req


def response_body(encoding: str, rejected: int = 0, message: str = "") -> bytes:
    resp = ExportTraceServiceResponse()
    if rejected or message:
        resp.partial_success.rejected_spans = rejected
        resp.partial_success.error_message = message
    if encoding == JSON:
        return json_format.MessageToJson(resp, indent=None).encode() if (rejected or message) else b"{}"
    return resp.SerializeToString()
