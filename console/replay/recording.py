"""Replays go to the collector like any traced LLM call, so they show up in the console.

Each replay call becomes one trace with one CLIENT span ``chat <model>``, sent over
OTLP/HTTP (protobuf) by the OpenTelemetry SDK's exporter from a background thread.
It carries the GenAI semantic-convention attributes (``gen_ai.operation.name=chat``,
``gen_ai.provider.name``, ``gen_ai.request.*``, ``gen_ai.usage.*``,
``gen_ai.input.messages``/``gen_ai.output.messages`` as JSON strings in the
semconv "parts" shape) and ours: ``llmops.replay.run_id``, ``llmops.replay.variant``,
``llmops.replay.source_trace_id``/``source_span_id``, ``prompt.id``, ``prompt.version``.

Scores (checks, judge) go as JSON to ``POST /v1/scores``:
``{"scores": [{"trace_id", "span_id", "name", "value", "string_value", "source", "comment", "run_id"}]}``.

Recording is best effort: no method here raises for a collector that is down or
slow; ``failures``/``last_error`` say what went wrong.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from console.replay.providers import ENDPOINT_PROVIDER, split_model

DEFAULT_COLLECTOR_URL = "http://127.0.0.1:4318/v1/traces"
SERVICE_NAME = "llmops-console-replay"

# LiteLLM provider names -> OpenTelemetry GenAI provider names.
_SEMCONV_PROVIDERS = {
    "bedrock": "aws.bedrock",
    "vertex_ai": "gcp.vertex_ai",
    "gemini": "gcp.gemini",
    "azure": "azure.ai.openai",
    "azure_ai": "azure.ai.inference",
    "mistral": "mistral_ai",
    "xai": "x_ai",
    "watsonx": "ibm.watsonx.ai",
}


def scores_url_for(traces_url: str) -> str:
    base = traces_url.rstrip("/")
    if base.endswith("/v1/traces"):
        base = base[: -len("/v1/traces")]
    return base + "/v1/scores"


@dataclass(frozen=True)
class ScoreRecord:
    trace_id: str | None
    span_id: str | None
    name: str
    value: float | None
    string_value: str | None = None
    source: Literal["heuristic", "llm-judge", "human"] = "heuristic"
    comment: str | None = None
    run_id: str | None = None


def semconv_messages(messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Normalized messages in the GenAI semconv shape: ``{"role", "parts": [...], "finish_reason"?}``."""
    out = []
    for message in messages:
        parts: list[dict[str, Any]] = []
        role = message.get("role") or "user"
        if message.get("content") is not None:
            if role == "tool":
                parts.append({"type": "tool_call_response", "id": message.get("tool_call_id"), "response": message["content"]})
            else:
                parts.append({"type": "text", "content": message["content"]})
        for call in message.get("tool_calls") or []:
            parts.append({"type": "tool_call", "id": call.get("id"), "name": call.get("name"), "arguments": call.get("arguments")})
        item: dict[str, Any] = {"role": role, "parts": parts}
        if message.get("finish_reason"):
            item["finish_reason"] = message["finish_reason"]
        out.append(item)
    return out


def replay_attributes(result: Any, request: Any, run_id: str) -> dict[str, Any]:
    """The span attributes of one replay call (``result``: a ReplayResult; ``request``: its RecordedRequest)."""
    route_provider, bare_model = split_model(result.model or "")
    provider = result.provider or route_provider
    if provider == ENDPOINT_PROVIDER or provider is None:
        provider = request.provider or "openai"  # a self-hosted server speaks OpenAI's protocol
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": _SEMCONV_PROVIDERS.get(provider, provider),
        "gen_ai.request.model": bare_model,
        "gen_ai.input.messages": json.dumps(semconv_messages(result.request_messages), ensure_ascii=False),
        "gen_ai.output.messages": json.dumps(semconv_messages(result.messages), ensure_ascii=False),
        "llmops.replay.run_id": run_id,
        "llmops.replay.variant": result.variant,
    }
    params = result.params or {}
    for key, name in (("temperature", "temperature"), ("max_tokens", "max_tokens"), ("top_p", "top_p"), ("seed", "seed")):
        if isinstance(params.get(key), int | float) and not isinstance(params.get(key), bool):
            attributes[f"gen_ai.request.{name}"] = params[key]
    if params.get("stop"):
        stop = params["stop"]
        attributes["gen_ai.request.stop_sequences"] = [stop] if isinstance(stop, str) else [str(s) for s in stop]
    usage = result.usage
    for value, name in (
        (usage.input_tokens, "gen_ai.usage.input_tokens"),
        (usage.output_tokens, "gen_ai.usage.output_tokens"),
        (usage.cache_read_tokens, "gen_ai.usage.cache_read.input_tokens"),
        (usage.reasoning_tokens, "gen_ai.usage.reasoning.output_tokens"),
    ):
        if value is not None:
            attributes[name] = int(value)
    if result.finish_reason:
        attributes["gen_ai.response.finish_reasons"] = [result.finish_reason]
    if result.ttft_ms is not None:
        attributes["gen_ai.response.time_to_first_chunk"] = result.ttft_ms / 1000  # seconds, as semconv durations are
    if result.api_base:
        host, _, port = result.api_base.split("://")[-1].split("/")[0].partition(":")
        attributes["server.address"] = host
        if port.isdigit():
            attributes["server.port"] = int(port)
    if result.error is not None:
        attributes["error.type"] = result.error.kind
    optional = {
        "llmops.replay.source_trace_id": request.trace_id,
        "llmops.replay.source_span_id": request.span_id,
        "prompt.id": result.prompt_id,
        "prompt.version": result.prompt_version,
    }
    attributes.update({k: v for k, v in optional.items() if v})
    if result.variables is not None:
        attributes["prompt.variables"] = json.dumps(result.variables, ensure_ascii=False, default=str)
    return attributes


class ReplayRecorder:
    """Sends replay calls (OTLP/HTTP) and scores (JSON) to the collector."""

    def __init__(
        self,
        collector_url: str = DEFAULT_COLLECTOR_URL,
        *,
        scores_url: str | None = None,
        token: str | None = None,
        timeout_s: float = 5.0,
    ) -> None:
        self.collector_url = collector_url
        self.scores_url = scores_url or scores_url_for(collector_url)
        self.timeout_s = timeout_s
        # The collector's bearer token (LLMOPS_TOKEN), when it requires one.
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.failures = 0
        self.last_error: str | None = None
        self._lock = threading.Lock()
        self._tracer: Any = None
        self._provider: Any = None
        try:
            self._start_exporter()
        except ImportError as exc:  # the SDK is a test extra today; without it, recording is off
            missing = exc.name or str(exc)
            self.last_error = f"recording is off: {missing} is not installed (needs opentelemetry-sdk and opentelemetry-exporter-otlp-proto-http)"

    @property
    def enabled(self) -> bool:
        return self._tracer is not None

    def _start_exporter(self) -> None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExportResult

        recorder, collector_url = self, self.collector_url

        class _CountingExporter(OTLPSpanExporter):
            def export(self, spans: Any) -> Any:
                try:
                    outcome = super().export(spans)
                except Exception as exc:  # the exporter should not raise; if it does, it is one more failure
                    outcome = SpanExportResult.FAILURE
                    recorder._failed(f"{type(exc).__name__}: {exc}")
                    return outcome
                if outcome != SpanExportResult.SUCCESS:
                    recorder._failed(f"could not send replay traces to {collector_url}")
                return outcome

        # A provider of our own, not the global one: the app's tracing stays untouched.
        self._provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
        exporter = _CountingExporter(endpoint=collector_url, headers=self._headers, timeout=self.timeout_s)
        self._provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=200))
        self._tracer = self._provider.get_tracer("llmops-console.replay")

    def _failed(self, message: str) -> None:
        with self._lock:
            self.failures += 1
            self.last_error = message

    def record(self, result: Any, *, request: Any, run_id: str) -> tuple[str, str] | None:
        """Queue one replay call as a trace; returns its (trace_id, span_id) in hex."""
        if self._tracer is None:
            return None
        from opentelemetry import context
        from opentelemetry.trace import SpanKind, Status, StatusCode

        try:
            start = result.started_at_ns
            if start is None:
                return None
            end = start + int((result.latency_ms or 0) * 1e6)
            span = self._tracer.start_span(
                f"chat {split_model(result.model or '')[1]}",
                context=context.Context(),  # a new trace, whatever is current
                kind=SpanKind.CLIENT,
                attributes=replay_attributes(result, request, run_id),
                start_time=start,
            )
            if result.error is not None:
                span.set_status(Status(StatusCode.ERROR, result.error.message))
            span.end(end_time=end)
            span_context = span.get_span_context()
            return f"{span_context.trace_id:032x}", f"{span_context.span_id:016x}"
        except Exception as exc:
            self._failed(f"{type(exc).__name__}: {exc}")
            return None

    async def send_scores(self, scores: Sequence[ScoreRecord]) -> bool:
        """POST scores to the collector; False (and ``last_error``) when it did not take them."""
        if not scores:
            return True
        import httpx

        body = {"scores": [asdict(s) for s in scores]}
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s, headers=self._headers) as client:
                response = await client.post(self.scores_url, json=body)
            if response.status_code >= 300:
                self._failed(f"{self.scores_url} answered {response.status_code}")
                return False
            return True
        except httpx.HTTPError as exc:
            self._failed(f"could not send scores to {self.scores_url}: {type(exc).__name__}")
            return False

    def flush(self, timeout_s: float = 5.0) -> bool:
        if self._provider is None:
            return False
        try:
            return bool(self._provider.force_flush(int(timeout_s * 1000)))
        except Exception:
            return False

    def shutdown(self) -> None:
        if self._provider is None:
            return
        try:
            self._provider.shutdown()
        except Exception:
            pass
