"""The models the demo's apps call, with what makes their spans look real: the
snapshot the provider answers with, where they are served, how fast they are and
how their prompt cache behaves."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Model:
    name: str  # as requested
    response: str  # as the provider reports it (a dated snapshot)
    provider: str  # openai, anthropic, google, vllm
    server: tuple[str, int]
    ttft: float  # median seconds to the first token, short prompt
    tps: float  # output tokens per second once streaming
    cache: str = "none"  # auto (OpenAI, >=1024 tokens), explicit (Anthropic breakpoints), prefix (vLLM)
    reasoning: bool = False
    context: int = 128_000
    # list prices, USD per million tokens (input, output, cache read, cache write): what a
    # gateway or SDK that reports its own cost would say
    prices: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)

    def list_cost(self, input_uncached: int, output: int, cache_read: int = 0, cache_write: int = 0) -> float:
        p_in, p_out, p_read, p_write = self.prices
        return (input_uncached * p_in + output * p_out + cache_read * p_read + cache_write * p_write) / 1e6

    @property
    def short(self) -> str:
        """The name without a route prefix (``hosted_vllm/``)."""
        return self.name.rsplit("/", 1)[-1]


GPT_4O = Model("gpt-4o", "gpt-4o-2024-08-06", "openai", ("api.openai.com", 443), 0.55, 62, "auto",
               prices=(2.5, 10.0, 1.25, 0.0))
GPT_4O_MINI = Model("gpt-4o-mini", "gpt-4o-mini-2024-07-18", "openai", ("api.openai.com", 443), 0.38, 85, "auto",
                    prices=(0.15, 0.6, 0.075, 0.0))
O3_MINI = Model("o3-mini", "o3-mini-2025-01-31", "openai", ("api.openai.com", 443), 0.9, 140, "auto",
                reasoning=True, context=200_000, prices=(1.1, 4.4, 0.55, 0.0))
CLAUDE_SONNET = Model("claude-sonnet-4-6", "claude-sonnet-4-6", "anthropic", ("api.anthropic.com", 443), 0.85, 58,
                      "explicit", context=200_000, prices=(3.0, 15.0, 0.3, 3.75))
GEMINI_FLASH = Model("gemini-2.0-flash", "gemini-2.0-flash-001", "google",
                     ("generativelanguage.googleapis.com", 443), 0.32, 160, context=1_048_576,
                     prices=(0.1, 0.4, 0.025, 0.0))
LLAMA_8B = Model("hosted_vllm/llama-3.1-8b-instruct", "llama-3.1-8b-instruct", "vllm", ("127.0.0.1", 8000), 0.07,
                 105, "prefix", context=32_768)
EMBEDDING_SMALL = Model("text-embedding-3-small", "text-embedding-3-small", "openai", ("api.openai.com", 443), 0.12,
                        0, prices=(0.02, 0.0, 0.0, 0.0))
