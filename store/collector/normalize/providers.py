"""One name per provider, whatever the dialect called it.

GenAI semconv says ``gcp.vertex_ai``, OpenInference ``google``, LiteLLM ``vertex_ai``;
grouping cost by provider needs them to be one. Unknown values are kept as sent
(lower-cased).
"""

from __future__ import annotations

CANONICAL = {
    "openai": "openai", "azure": "azure", "azure.ai.openai": "azure", "azure_ai": "azure", "azure_openai": "azure",
    "az.ai.openai": "azure", "az.ai.inference": "azure", "azure.ai.inference": "azure",
    "anthropic": "anthropic",
    "google": "google", "gcp.gemini": "google", "gcp.vertex_ai": "google", "gcp.gen_ai": "google",
    "vertex_ai": "google", "vertexai": "google", "gemini": "google", "vertex_ai-language-models": "google",
    "aws.bedrock": "aws.bedrock", "bedrock": "aws.bedrock", "aws": "aws.bedrock", "bedrock_converse": "aws.bedrock",
    "mistral": "mistral", "mistral_ai": "mistral", "mistralai": "mistral",
    "cohere": "cohere", "cohere_chat": "cohere", "groq": "groq", "deepseek": "deepseek", "xai": "xai",
    "x_ai": "xai", "perplexity": "perplexity", "ibm.watsonx.ai": "ibm", "watsonx": "ibm",
    "vllm": "vllm", "hosted_vllm": "vllm", "ollama": "ollama", "ollama_chat": "ollama",
    "together_ai": "together", "fireworks_ai": "fireworks", "openrouter": "openrouter",
}


def canonical(provider: str | None) -> str | None:
    if not provider:
        return None
    p = provider.strip().lower()
    return CANONICAL.get(p, p)
