"""Plain OpenTelemetry HTTP spans (the web framework's instrumentation): no GenAI
attributes at all, so the collector files them under the ``otel`` dialect."""

from __future__ import annotations

from typing import Any

from console.demo.spans import CLIENT, ERROR, SERVER, SpanShape


def server(method: str, route: str, status: int, user_agent: str = "", client_address: str = "") -> SpanShape:
    attrs: dict[str, Any] = {
        "http.request.method": method,
        "http.route": route,
        "url.path": route,
        "url.scheme": "https",
        "http.response.status_code": status,
        "network.protocol.version": "1.1",
    }
    if user_agent:
        attrs["user_agent.original"] = user_agent
    if client_address:
        attrs["client.address"] = client_address
    shape = SpanShape(f"{method} {route}", SERVER, attrs)
    if status >= 500:
        shape.status = ERROR
        attrs["error.type"] = str(status)
    return shape


def client(method: str, url: str, status: int) -> SpanShape:
    attrs: dict[str, Any] = {"http.request.method": method, "url.full": url, "http.response.status_code": status}
    shape = SpanShape(method, CLIENT, attrs)
    if status >= 400:
        shape.status = ERROR
        attrs["error.type"] = str(status)
    return shape
