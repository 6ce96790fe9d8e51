"""Token usage of one call, and what it cost."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Usage:
    """Token counts in the SPANS conventions: input includes cached tokens, output includes reasoning."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    reasoning_tokens: int | None = None

    @property
    def total_tokens(self) -> int | None:
        if self.input_tokens is None and self.output_tokens is None:
            return None
        return (self.input_tokens or 0) + (self.output_tokens or 0)

    @classmethod
    def from_openai(cls, usage: Any) -> Usage:
        """From an OpenAI/LiteLLM ``usage`` object or dict."""
        if usage is None:
            return cls()

        def get(obj: Any, name: str) -> Any:
            return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)

        prompt_details = get(usage, "prompt_tokens_details")
        completion_details = get(usage, "completion_tokens_details")
        return cls(
            get(usage, "prompt_tokens"),
            get(usage, "completion_tokens"),
            get(prompt_details, "cached_tokens") if prompt_details is not None else None,
            get(completion_details, "reasoning_tokens") if completion_details is not None else None,
        )


class CostCalculator:
    """USD for a call's usage: ``store.pricing`` (overrides, GPU-time rules, the cost map)
    when it is there, else LiteLLM's ``cost_per_token``. Unknown prices give None, never 0."""

    def __init__(self, pricer: Any = None) -> None:
        self._pricer = pricer
        self._pricer_tried = pricer is not None
        self._unpriced: set[str] = set()

    def _get_pricer(self) -> Any:
        if not self._pricer_tried:
            self._pricer_tried = True
            try:
                from store.pricing.pricer import Pricer

                self._pricer = Pricer()
            except Exception:  # not built yet, or its price map is unreadable: fall back
                self._pricer = None
        return self._pricer

    def cost(self, model: str | None, provider: str | None, usage: Usage, server_address: str | None = None) -> tuple[float | None, str]:
        """(usd or None, source) with source one of the SPANS ``cost_source`` values."""
        if not model or (usage.input_tokens is None and usage.output_tokens is None):
            return None, "unknown"
        pricer = self._get_pricer()
        if pricer is not None:
            try:
                from store.pricing.pricer import TokenUsage

                priced = pricer.price(
                    model,
                    provider,
                    TokenUsage(usage.input_tokens, usage.output_tokens, usage.cache_read_tokens, None, usage.reasoning_tokens),
                    server_address=server_address,
                )
                return priced.cost_usd, priced.source
            except Exception:
                self._pricer = None  # broken once, broken always: do not pay for the failure on every call
        return self._litellm_cost(model, usage)

    def _litellm_cost(self, model: str, usage: Usage) -> tuple[float | None, str]:
        if model in self._unpriced:
            return None, "unknown"
        from console.replay.llm import load_litellm

        litellm = load_litellm()
        try:
            prompt_usd, completion_usd = litellm.cost_per_token(
                model=model,
                prompt_tokens=usage.input_tokens or 0,
                completion_tokens=usage.output_tokens or 0,
                cache_read_input_tokens=usage.cache_read_tokens or 0,
            )
        except Exception:  # LiteLLM raises for models it cannot price
            self._unpriced.add(model)
            return None, "unknown"
        return prompt_usd + completion_usd, "computed"
