"""Which provider a call goes to, the model string LiteLLM wants, and the endpoint.

Span rows name providers in OpenTelemetry GenAI terms (``aws.bedrock``,
``gcp.vertex_ai``); LiteLLM routes on its own prefixes (``bedrock/``,
``vertex_ai/``). A self-hosted OpenAI-compatible server (vLLM, llama.cpp, ...)
is called as ``openai/<served name>`` with ``api_base``; its key is looked up
under the name :data:`ENDPOINT_PROVIDER`, never a cloud provider's, so a
replay never sends, say, ``OPENAI_API_KEY`` to a host taken from a trace.
"""

from __future__ import annotations

from dataclasses import dataclass

ENDPOINT_PROVIDER = "hosted_vllm"  # key name for any self-hosted OpenAI-compatible endpoint

# OpenTelemetry GenAI provider names (and a few other spellings) -> LiteLLM prefixes.
_PROVIDER_ALIASES = {
    "aws.bedrock": "bedrock",
    "azure.ai.openai": "azure",
    "azure.ai.inference": "azure_ai",
    "az.ai.openai": "azure",
    "az.ai.inference": "azure_ai",
    "gcp.vertex_ai": "vertex_ai",
    "gcp.gen_ai": "gemini",
    "gcp.gemini": "gemini",
    "google": "gemini",
    "mistral_ai": "mistral",
    "x_ai": "xai",
    "ibm.watsonx.ai": "watsonx",
    "together": "together_ai",
    "vllm": ENDPOINT_PROVIDER,
}

# LiteLLM route prefixes we recognise at the start of a model string.
KNOWN_PREFIXES = frozenset(
    {
        "openai", "anthropic", "azure", "azure_ai", "bedrock", "vertex_ai", "gemini", "groq", "mistral",
        "cohere", "together_ai", "deepseek", "openrouter", "fireworks_ai", "xai", "perplexity", "ollama",
        "ollama_chat", "hosted_vllm", "vllm", "huggingface", "replicate", "databricks", "watsonx", "cerebras",
        "sambanova", "nvidia_nim", "lm_studio", "llamafile", "sagemaker", "text-completion-openai",
    }
)  # fmt: skip

# Hosts of the cloud APIs: a span whose server is one of these needs no api_base.
CLOUD_HOSTS = (
    "api.openai.com", "api.anthropic.com", "generativelanguage.googleapis.com", "aiplatform.googleapis.com",
    "api.mistral.ai", "api.groq.com", "api.cohere.com", "api.cohere.ai", "api.together.xyz", "api.deepseek.com",
    "openrouter.ai", "api.fireworks.ai", "api.x.ai", "api.perplexity.ai", "amazonaws.com", "openai.azure.com",
    "api.cerebras.ai",
)  # fmt: skip


def normalize_provider(provider: str | None) -> str | None:
    if not provider:
        return None
    provider = provider.strip().lower()
    return _PROVIDER_ALIASES.get(provider, provider)


@dataclass(frozen=True)
class Route:
    model: str  # as LiteLLM wants it, e.g. "anthropic/claude-sonnet-4-6" or "openai/llama-3"
    provider: str | None  # the key name: a LiteLLM provider, or ENDPOINT_PROVIDER for api_base calls
    api_base: str | None


def split_model(model: str) -> tuple[str | None, str]:
    """("anthropic", "claude-x") for "anthropic/claude-x"; (None, model) when there is no known prefix."""
    prefix, sep, rest = model.partition("/")
    if sep and prefix.lower() in KNOWN_PREFIXES:
        return prefix.lower(), rest
    return None, model


def api_base_for_server(server_address: str | None) -> str | None:
    """``http://<host:port>/v1`` for a self-hosted server; None for the cloud APIs or no address."""
    if not server_address:
        return None
    address = server_address.strip().rstrip("/")
    host = address.split("://")[-1].split("/")[0].split(":")[0].lower()
    if any(host == h or host.endswith("." + h) for h in CLOUD_HOSTS):
        return None
    if "://" not in address:
        address = "http://" + address
    return address if address.endswith("/v1") else address + "/v1"


def route(model: str, provider: str | None = None, api_base: str | None = None) -> Route:
    """How to call ``model``: with an ``api_base`` every call is OpenAI-compatible
    (``openai/<name>``); otherwise the model's own prefix, else the provider's."""
    prefix, bare = split_model(model)
    provider = normalize_provider(provider)
    if api_base:
        if prefix in (None, "openai", "hosted_vllm", "vllm"):
            return Route(f"openai/{bare}", ENDPOINT_PROVIDER, api_base)
        return Route(model, prefix, api_base)  # e.g. an Anthropic-compatible proxy
    if prefix:
        return Route(model, prefix, None)
    if provider and provider != ENDPOINT_PROVIDER:
        return Route(f"{provider}/{bare}", provider, None)
    return Route(model, None, None)  # LiteLLM infers the provider from the name (gpt-*, claude-*)
