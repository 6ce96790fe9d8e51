"""The replay engine's overhead per call, on top of a bare ``litellm.acompletion``.

Against the local OpenAI-compatible stub (tests/support/openai_stub.py), the same
streamed request is sent both ways, in interleaved pairs (the order flips every
pair, so drift and warm-up hit both alike):

- bare: ``litellm.acompletion(stream=True, stream_options=...)`` with the same
  arguments the engine sends, consuming every chunk and joining the text;
- engine: ``ReplayEngine.run(request, Variant.original())`` (planning, key lookup,
  message conversion, stream accumulation, usage, cost, the result object);
- engine+recording: the same with a ReplayRecorder sending each call as an OTLP
  trace to a local receiver (export happens in the SDK's background thread).

It prints mean / p50 / p99 of the per-pair difference (target: < 2 ms), and the
machine. Run: ``python bench/bench_replay.py [--calls 300]``. Never run in tests.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from console.replay import RecordedRequest, ReplayEngine, Variant  # noqa: E402
from console.replay.engine import to_openai_messages  # noqa: E402
from console.replay.llm import load_litellm  # noqa: E402
from console.replay.recording import ReplayRecorder  # noqa: E402
from tests.support.asgi_server import BackgroundServer  # noqa: E402
from tests.support.collector_receiver import Receiver, _App as ReceiverApp  # noqa: E402
from tests.support.openai_stub import start_openai_stub  # noqa: E402

MESSAGES = [
    {"role": "system", "content": "You extract totals from invoices."},
    {"role": "user", "content": "Extract the total from: ACME Ltd, 3 widgets at 4.00, shipping 2.50, total 14.50 EUR."},
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def describe(name: str, values: list[float]) -> str:
    return f"{name:<34} mean {statistics.fmean(values):7.3f}  p50 {percentile(values, 0.5):7.3f}  p99 {percentile(values, 0.99):7.3f} ms"


async def bare_call(litellm, base_url: str) -> float:
    started = time.perf_counter()
    response = await litellm.acompletion(
        model="openai/echo",
        messages=to_openai_messages(MESSAGES),
        stream=True,
        stream_options={"include_usage": True},
        timeout=120.0,
        max_retries=0,
        drop_params=True,
        temperature=0.1,
        max_tokens=100,
        api_base=base_url,
        api_key="no-key",
    )
    parts = []
    async for chunk in response:
        if chunk.choices and chunk.choices[0].delta.content:
            parts.append(chunk.choices[0].delta.content)
    "".join(parts)
    return (time.perf_counter() - started) * 1000


async def engine_call(engine: ReplayEngine, request: RecordedRequest) -> float:
    started = time.perf_counter()
    result = await engine.run(request, Variant.original())
    elapsed = (time.perf_counter() - started) * 1000
    if result.error is not None:
        raise RuntimeError(result.error.message)
    return elapsed


async def measure(calls: int, warmup: int) -> None:
    os.environ.pop("HOSTED_VLLM_API_KEY", None)
    stub = start_openai_stub()
    receiver = Receiver()
    receiver_server = BackgroundServer(ReceiverApp(receiver))
    receiver.base_url = f"http://127.0.0.1:{receiver_server.port}"
    litellm = load_litellm()
    base_url = stub.stub.base_url
    request = RecordedRequest(messages=MESSAGES, model="echo", params={"temperature": 0.1, "max_tokens": 100})
    engine = ReplayEngine(api_base=base_url)
    recorder = ReplayRecorder(receiver.traces_url)
    recording_engine = ReplayEngine(api_base=base_url, recorder=recorder)

    for _ in range(warmup):
        await bare_call(litellm, base_url)
        await engine_call(engine, request)
        await engine_call(recording_engine, request)

    bare, plain, recorded = [], [], []
    for index in range(calls):
        order = [0, 1, 2] if index % 2 == 0 else [2, 1, 0]
        times: dict[int, float] = {}
        for which in order:
            if which == 0:
                times[0] = await bare_call(litellm, base_url)
            elif which == 1:
                times[1] = await engine_call(engine, request)
            else:
                times[2] = await engine_call(recording_engine, request)
        bare.append(times[0])
        plain.append(times[1] - times[0])
        recorded.append(times[2] - times[0])
    recorder.flush()

    print(f"machine: {platform.platform()}, {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, litellm {_version('litellm')}")
    print(f"calls: {calls} pairs after {warmup} warm-up rounds; stub model 'echo', streamed, {len(receiver.spans)} replay spans received")
    print(describe("bare litellm.acompletion (absolute)", bare))
    print(describe("engine overhead (engine - bare)", plain))
    print(describe("engine+recording overhead", recorded))
    target = statistics.fmean(plain) < 2.0
    print(f"target mean overhead < 2 ms: {'met' if target else 'NOT met'}")
    recorder.shutdown()
    receiver_server.stop()
    stub.stop()


def _version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(measure(args.calls, args.warmup))


if __name__ == "__main__":
    main()
