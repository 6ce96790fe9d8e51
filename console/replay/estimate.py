"""What a batch replay will cost, before anything is spent.

Input tokens: every message of every call counted with tiktoken's ``o200k_base``
when its vocabulary is on disk (LiteLLM bundles it; tiktoken is never allowed
to download), else ``ceil(characters / 4)``; plus 4 tokens of framing per
message. Other providers' tokenizers differ by some 10-20 %: it is an estimate.

Output tokens, per call:

- *expected*: the recorded output's token count when the request has one (the
  same task usually answers at a similar length), else ``min(max_tokens, 256)``;
- *upper bound*: ``max_tokens``; a call without ``max_tokens`` has no upper bound,
  and the batch's ``usd_max`` is then None.

A recorded side (variant A "recorded output") costs nothing. Judge calls are
counted as one call per judged output: its input (rubric + input + output) and
~100 output tokens. Prices come from :class:`CostCalculator`; a model without
a price is listed in ``unpriced_models`` and left out of the dollar figures.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.util import find_spec
from typing import Any

from console.replay.request import PlanError, RecordedRequest, Variant, plan_call
from console.replay.usage import CostCalculator, Usage

TYPICAL_OUTPUT_TOKENS = 256
JUDGE_OUTPUT_TOKENS = 100
MESSAGE_OVERHEAD_TOKENS = 4
_O200K_FILE = "fb374d419588a4632f3f557e76b4b70aebbca790"  # sha1 of tiktoken's o200k_base URL: its cache file name
_O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"  # tiktoken's expected hash


@lru_cache(maxsize=1)
def _encoder() -> Any:
    """tiktoken's o200k_base read from LiteLLM's bundled copy, or None.

    The file's sha256 is checked here first: tiktoken re-downloads a cached file
    whose hash is wrong, and this must never reach the network."""
    try:
        spec = find_spec("litellm")
        if spec is None or not spec.submodule_search_locations or find_spec("tiktoken") is None:
            return None
        folder = os.path.join(list(spec.submodule_search_locations)[0], "litellm_core_utils", "tokenizers")
        with open(os.path.join(folder, _O200K_FILE), "rb") as handle:
            if hashlib.sha256(handle.read()).hexdigest() != _O200K_SHA256:
                return None
        import tiktoken

        previous = os.environ.get("TIKTOKEN_CACHE_DIR")
        os.environ["TIKTOKEN_CACHE_DIR"] = folder
        try:
            return tiktoken.get_encoding("o200k_base")
        finally:
            if previous is None:
                del os.environ["TIKTOKEN_CACHE_DIR"]
            else:
                os.environ["TIKTOKEN_CACHE_DIR"] = previous
    except Exception:
        return None


def tokenizer_name() -> str:
    return "tiktoken o200k_base" if _encoder() is not None else "characters/4"


def count_tokens(text: str) -> int:
    encoder = _encoder()
    if encoder is not None:
        return len(encoder.encode(text, disallowed_special=()))
    return math.ceil(len(text) / 4)


def message_tokens(messages: Iterable[dict[str, Any]]) -> int:
    total = 0
    for message in messages:
        content = message.get("content")
        total += MESSAGE_OVERHEAD_TOKENS + (count_tokens(content) if isinstance(content, str) else 0)
        for call in message.get("tool_calls") or []:
            total += count_tokens(str(call.get("arguments") or ""))
    return total


@dataclass
class CostEstimate:
    calls: int = 0
    input_tokens: int = 0
    output_tokens_expected: int = 0
    output_tokens_max: int | None = 0
    usd_expected: float = 0.0
    usd_max: float | None = 0.0
    unpriced_models: list[str] = field(default_factory=list)
    unplannable: int = 0  # requests the variant cannot be applied to (they will fail without a call)
    tokenizer: str = ""

    def add(self, model: str, provider: str | None, input_tokens: int, expected: int, upper: int | None, costs: CostCalculator) -> None:
        self.calls += 1
        self.input_tokens += input_tokens
        self.output_tokens_expected += expected
        self.output_tokens_max = None if upper is None or self.output_tokens_max is None else self.output_tokens_max + upper
        usd, _source = costs.cost(model, provider, Usage(input_tokens, expected))
        if usd is None:
            if model not in self.unpriced_models:
                self.unpriced_models.append(model)
            return
        self.usd_expected += usd
        if upper is None or self.usd_max is None:
            self.usd_max = None
        else:
            upper_usd, _ = costs.cost(model, provider, Usage(input_tokens, upper))
            self.usd_max += upper_usd or 0.0

    def describe(self) -> str:
        money = f"~${self.usd_expected:.4f}" + (f" (at most ${self.usd_max:.4f})" if self.usd_max is not None else " (no upper bound: some calls have no max_tokens)")
        unpriced = f"; no price for {', '.join(self.unpriced_models)}" if self.unpriced_models else ""
        return f"{self.calls} calls, ~{self.input_tokens} input + ~{self.output_tokens_expected} output tokens, {money}{unpriced}"


def estimate_batch(
    requests: Sequence[RecordedRequest],
    variants: Sequence[Variant | None],
    *,
    costs: CostCalculator | None = None,
    api_base: str | None = None,
    registry: Any = None,
    judge_model: str | None = None,
    judged_rows: int | None = None,
) -> CostEstimate:
    """The estimate for replaying every request under each variant (None variants are skipped)."""
    costs = costs or CostCalculator()
    estimate = CostEstimate(tokenizer=tokenizer_name())
    judged = len(requests) if judged_rows is None else judged_rows
    for index, request in enumerate(requests):
        for variant in variants:
            if variant is None:
                continue
            if variant.use_recorded:
                if not request.has_recording:
                    continue
                input_tokens = message_tokens(request.messages)
                expected = request.usage.output_tokens if request.usage.output_tokens is not None else count_tokens(request.output_text)
            else:
                try:
                    plan = plan_call(request, variant, api_base=api_base, registry=registry)
                except PlanError:
                    estimate.unplannable += 1
                    continue
                max_tokens = plan.params.get("max_tokens") or plan.params.get("max_completion_tokens")
                recorded = request.usage.output_tokens
                expected = recorded if recorded is not None else min(max_tokens or TYPICAL_OUTPUT_TOKENS, TYPICAL_OUTPUT_TOKENS)
                input_tokens = message_tokens(plan.messages)
                estimate.add(plan.model, plan.provider, input_tokens, expected, int(max_tokens) if max_tokens else None, costs)
            if judge_model and index < judged:
                judge_input = input_tokens + expected + 150  # rubric and framing
                estimate.add(judge_model, None, judge_input, JUDGE_OUTPUT_TOKENS, JUDGE_OUTPUT_TOKENS, costs)
    return estimate
