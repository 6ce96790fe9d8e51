"""Run by test_ingest_litellm in a fresh process: LiteLLM sets the process's global
TracerProvider once and reads its OTel settings (the semconv opt-in included) when
the callback is created, so each mode needs a process of its own.

    python litellm_child.py <stub base_url> <collector url> <spans to wait for>

Configuration comes from the environment, as a LiteLLM user sets it (OTEL_EXPORTER,
OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, OTEL_SEMCONV_STABILITY_OPT_IN).
Prints one JSON line per call.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import httpx
import litellm

CALLS = [
    {"model": "openai/gpt-4o-mini", "temperature": 0.2, "max_tokens": 50},
    {"model": "openai/stub-model"},
]
MESSAGES = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Say hello to the collector"}]


async def main(api_base: str) -> None:
    litellm.callbacks = ["otel"]
    for call in CALLS:
        r = await litellm.acompletion(api_base=api_base, api_key="sk-stub", messages=MESSAGES, **call)
        print(json.dumps({"model": call["model"], "id": r.id, "prompt_tokens": r.usage.prompt_tokens,
                          "completion_tokens": r.usage.completion_tokens,
                          "response_cost": r._hidden_params.get("response_cost")}), flush=True)


def wait_exported(collector: str, spans: int) -> None:
    """The callback runs after the call returns and the exporter batches: flush until the
    collector has the spans (or give up after 15 s; the test then says what is missing)."""
    from opentelemetry import trace

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        trace.get_tracer_provider().force_flush()
        if httpx.get(collector + "/v1/stats").json()["spans_received"] >= spans:
            return
        time.sleep(0.1)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
    wait_exported(sys.argv[2], int(sys.argv[3]))
