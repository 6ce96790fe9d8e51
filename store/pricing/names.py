"""From the model and provider names spans carry to the keys of LiteLLM's cost map.

Spans name the same model many ways: ``gpt-4o``, ``openai/gpt-4o``,
``gpt-4o-2024-08-06``, ``models/gemini-2.5-pro``, an inference-profile ARN,
``claude-sonnet-4-20250514`` (Anthropic's id, which the 1.106.2 map only knows as
the Bedrock id ``anthropic.claude-sonnet-4-20250514-v1:0``). Providers come as
OTel GenAI values (``aws.bedrock``, ``gcp.vertex_ai``), OpenInference values
(``google``, ``mistralai``), OpenLLMetry display names (``Anthropic``) or LiteLLM
route names (``hosted_vllm``). This module only turns those into lookup keys;
``catalog.Catalog.resolve`` decides which key wins.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ProviderHint:
    """Where a provider's models live in the cost map."""

    name: str
    # route prefixes of keys, tried as f"{prefix}/{model}" before the bare model
    prefixes: tuple[str, ...]
    # litellm_provider values (or their prefixes) that a bare key must carry to match
    families: tuple[str, ...]
    # a server the user runs: a cloud price for the same weights would be wrong
    self_hosted: bool = False
    # Bedrock: bare names (``llama3-70b-instruct``) also find vendor-prefixed ids
    vendor_ids: bool = False


def _hint(
    name: str,
    prefixes: tuple[str, ...],
    families: tuple[str, ...] | None = None,
    *,
    vendor_ids: bool = False,
) -> ProviderHint:
    return ProviderHint(name, prefixes, families if families is not None else prefixes, vendor_ids=vendor_ids)


_OPENAI = _hint("openai", ("openai",), ("openai", "text-completion-openai"))
_ANTHROPIC = _hint("anthropic", ("anthropic",))
# bedrock, bedrock_converse, bedrock_mantle
_BEDROCK = _hint("bedrock", ("bedrock", "bedrock_converse"), ("bedrock",), vendor_ids=True)
_VERTEX = _hint("vertex_ai", ("vertex_ai",))  # vertex_ai, vertex_ai-language-models, vertex_ai-anthropic_models, ...
_GEMINI = _hint("gemini", ("gemini",))
_GOOGLE = _hint("google", ("gemini", "vertex_ai"))
_AZURE = _hint("azure", ("azure",), ("azure", "azure_text"))
_AZURE_AI = _hint("azure_ai", ("azure_ai",))
_MISTRAL = _hint("mistral", ("mistral",))
_COHERE = _hint("cohere", ("cohere", "cohere_chat"))
_XAI = _hint("xai", ("xai",))
_TOGETHER = _hint("together_ai", ("together_ai",))
_FIREWORKS = _hint("fireworks_ai", ("fireworks_ai",))
_WATSONX = _hint("watsonx", ("watsonx",))
_SELF_HOSTED = ProviderHint("self_hosted", (), (), self_hosted=True)

# Keys are normalized: lower case, spaces and dashes as underscores.
_PROVIDER_HINTS: dict[str, ProviderHint] = {
    "openai": _OPENAI,
    "text_completion_openai": _OPENAI,
    "anthropic": _ANTHROPIC,
    "aws.bedrock": _BEDROCK,
    "bedrock": _BEDROCK,
    "bedrock_converse": _BEDROCK,
    "aws": _BEDROCK,
    "amazon_bedrock": _BEDROCK,
    "gcp.vertex_ai": _VERTEX,
    "vertex_ai": _VERTEX,
    "vertexai": _VERTEX,
    "google_vertex": _VERTEX,
    "gcp.gemini": _GEMINI,
    "gemini": _GEMINI,
    "google_ai_studio": _GEMINI,
    "gcp.gen_ai": _GOOGLE,
    "google": _GOOGLE,
    "google_genai": _GOOGLE,
    "google_generativeai": _GOOGLE,
    "azure.ai.openai": _AZURE,
    "azure": _AZURE,
    "azure_openai": _AZURE,
    "azure.ai.inference": _AZURE_AI,
    "azure_ai": _AZURE_AI,
    "mistral_ai": _MISTRAL,
    "mistralai": _MISTRAL,
    "mistral": _MISTRAL,
    "cohere": _COHERE,
    "cohere_chat": _COHERE,
    "x_ai": _XAI,
    "xai": _XAI,
    "together_ai": _TOGETHER,
    "together": _TOGETHER,
    "togetherai": _TOGETHER,
    "fireworks_ai": _FIREWORKS,
    "fireworks": _FIREWORKS,
    "ibm.watsonx.ai": _WATSONX,
    "watsonx": _WATSONX,
    "hosted_vllm": _SELF_HOSTED,
    "vllm": _SELF_HOSTED,
    "sglang": _SELF_HOSTED,
    "tgi": _SELF_HOSTED,
    "llamacpp": _SELF_HOSTED,
    "llama_cpp": _SELF_HOSTED,
    "lm_studio": _SELF_HOSTED,
    "lmstudio": _SELF_HOSTED,
    "self_hosted": _SELF_HOSTED,
}


def normalize_provider(provider: str | None) -> str | None:
    if not provider:
        return None
    return provider.strip().lower().replace(" ", "_").replace("-", "_") or None


def provider_hint(provider: str | None, known_families: frozenset[str] = frozenset()) -> ProviderHint | None:
    """The hint for a span's provider; an unlisted name that is itself a LiteLLM provider
    (``groq``, ``deepseek``, ``openrouter``) is its own prefix and family."""
    key = normalize_provider(provider)
    if key is None:
        return None
    hint = _PROVIDER_HINTS.get(key)
    if hint is None and key in known_families:
        hint = ProviderHint(key, (key,), (key,))
    return hint


def family_matches(litellm_provider: str | None, hint: ProviderHint) -> bool:
    if litellm_provider is None:
        return False
    return litellm_provider.startswith(hint.families)


# A model's maker, from the start of its name, and the route prefixes under which the
# map keeps the maker's own prices: both of Google's APIs for Gemini, as the map prices
# some models on one only (gemini-2.0-flash: Vertex). Only unmistakable names: a name
# no pattern claims has no known maker, and without a provider it then needs a single
# family to price it (``catalog._sole_family_keys``).
_MAKERS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "openai",
        r"gpt-|o\d(?:-|$)|chatgpt-|text-embedding-(?:3|ada)|dall-e|whisper-|tts-1|davinci-|babbage-",
        ("openai",),
    ),
    ("anthropic", r"claude-", ("anthropic",)),
    ("google", r"gemini-|gemma-|learnlm-|imagen-|veo-", ("gemini", "vertex_ai")),
    (
        "mistral",
        r"mistral-|open-mistral-|open-mixtral-|mixtral-|codestral-|ministral-|magistral-|pixtral-|devstral-|voxtral-",
        ("mistral",),
    ),
    (
        "cohere",
        r"command-|c4ai-aya-|embed-(?:english|multilingual)-|rerank-(?:english|multilingual|v\d)",
        ("cohere", "cohere_chat"),
    ),
    ("xai", r"grok-", ("xai",)),
    ("deepseek", r"deepseek-", ("deepseek",)),
    ("meta", r"(?:meta-)?llama-?\d", ("meta_llama",)),
    ("alibaba", r"qwen", ("dashscope",)),
    ("moonshot", r"kimi-|moonshot-", ("moonshot",)),
    ("zhipu", r"glm-", ("zai",)),
    ("minimax", r"minimax-", ("minimax",)),
)
_MAKER_AT_START = tuple((maker, re.compile(f"^(?:{body})"), prefixes) for maker, body, prefixes in _MAKERS)
# anywhere a segment starts: databricks-claude-opus-4, oci/meta.llama-3.3-70b-instruct
_MAKER_INSIDE = re.compile(
    "(?:^|[./_-])(?:" + "|".join(f"(?P<{maker}>{body})" for maker, body, _ in _MAKERS) + ")", re.IGNORECASE
)


def maker_prefixes(model: str) -> tuple[str, ...]:
    """Route prefixes of the maker's own keys: ``mistral-large-latest`` -> ``("mistral",)``."""
    lowered = model.lower()
    return next((prefixes for _, pattern, prefixes in _MAKER_AT_START if pattern.match(lowered)), ())


def makers_named_in(key: str) -> set[str]:
    """Makers whose model lines a map key names anywhere (to tell hosts of many makers' models)."""
    return {match.lastgroup for match in _MAKER_INSIDE.finditer(key) if match.lastgroup}


# A leading segment that names a LiteLLM route rather than part of the model id.
# Model ids with slashes (``meta-llama/Llama-3.1-8B``) keep theirs.
def split_route(model: str, known_prefixes: frozenset[str]) -> tuple[str | None, str]:
    head, sep, rest = model.partition("/")
    if sep and rest and (head.lower() in known_prefixes or head.lower() in _PROVIDER_HINTS):
        return head.lower(), rest
    return None, model


_ARN_TAIL = re.compile(r"^arn:aws[\w-]*:bedrock:[^/]*:[^/]*:[\w-]+/(.+)$")
_GOOGLE_RESOURCE = re.compile(r"^(?:projects/[^/]+/locations/[^/]+/publishers/[^/]+/)?models/(.+)$")
# LiteLLM's bedrock route words and AWS region segments: bedrock/converse/..., bedrock/us-east-1/...
_BEDROCK_ROUTE = re.compile(r"^(?:(?:converse|invoke|converse_like)/)?(?:[a-z]{2}(?:-gov)?-[a-z]+-\d+/)?")
_BEDROCK_REGION = re.compile(r"^(?:us|eu|apac|au|jp|ca|us-gov|global)\.(?=[a-z]+\.)")


def clean_model_id(model: str) -> str:
    """Drop wrappers that never appear in map keys: Bedrock ARNs and route words,
    Google resource paths (``models/``, ``projects/.../models/``)."""
    if match := _ARN_TAIL.match(model):
        model = match.group(1)
    if match := _GOOGLE_RESOURCE.match(model):
        model = match.group(1)
    return _BEDROCK_ROUTE.sub("", model)


# Suffixes that only pin a snapshot; one is stripped per step, longest-lived first.
# Bedrock version: anthropic.claude-...-v1:0, openai.gpt-oss-120b-1:0 (the colon keeps deepseek-v3)
_BEDROCK_VERSION = re.compile(r"-v?(\d+):(\d+)$")
_DATE_8 = re.compile(r"[-@](?:19|20)\d{6}$")  # claude-...-20250514, vertex @20250514
_SNAPSHOT_SUFFIXES = (
    (_BEDROCK_VERSION, ""),
    (re.compile(r"[-@]\d{4}-\d{2}-\d{2}$"), ""),  # gpt-4o-2024-08-06
    (_DATE_8, ""),
    (re.compile(r"-(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])$"), ""),  # gpt-4-0613 (MMDD)
    (re.compile(r"@(?:default|latest)$"), ""),
    (re.compile(r"-latest$"), ""),
    (re.compile(r"^(gemini-.+)-00\d$"), r"\1"),  # Gemini stable versions: gemini-2.0-flash-001
)


def snapshot_variants(model: str) -> list[str]:
    """``model`` followed by the names left as snapshot suffixes come off, one at a time.

    ``anthropic.claude-x-20250101-v1:0`` -> ``[..., anthropic.claude-x-20250101, anthropic.claude-x]``.
    Only whole suffixes come off: never a prefix match, so ``claude-opus-4`` can
    never pick up ``claude-opus-4-5``'s price.
    """
    variants = [model]
    current = model
    for _ in range(3):
        for pattern, replacement in _SNAPSHOT_SUFFIXES:
            stripped = pattern.sub(replacement, current)
            if stripped != current and stripped:
                current = stripped
                variants.append(current)
                break
        else:
            break
    return variants


def without_bedrock_region(model: str) -> str | None:
    """``apac.anthropic.claude-...`` -> ``anthropic.claude-...`` (regional profiles the map lacks)."""
    stripped = _BEDROCK_REGION.sub("", model)
    return stripped if stripped != model else None


def fine_tune_base(model: str) -> str | None:
    """OpenAI fine-tunes, ``ft:gpt-4o-mini-2024-07-18:org::id``, bill at the ``ft:<base>`` key."""
    if not model.startswith("ft:"):
        return None
    return "ft:" + model[3:].split(":", 1)[0]


_CLAUDE_DATE = re.compile(r"^(claude-[\w.-]+?)[-@]((?:19|20)\d{6})$")


def claude_aliases(model: str, bedrock_ids: dict[str, str]) -> list[str]:
    """Other map keys for an Anthropic model id.

    The 1.106.2 map dropped first-party keys for older Claude ids
    (``claude-sonnet-4-20250514``, ``claude-3-5-sonnet-20241022``) and for undated
    aliases (``claude-opus-4-1``, ``claude-3-5-haiku-latest``). Bedrock's base ids
    (no regional prefix) carry Anthropic's list prices, so they stand in (an undated
    alias takes the newest dated id, which is what Anthropic's alias points to);
    then Vertex's ``name@date`` form.
    """
    if not model.startswith("claude-"):
        return []
    canonical = model.replace("@", "-")
    aliases = []
    if (key := bedrock_ids.get(canonical)) and without_bedrock_region(key) is None:  # regional ids cost more
        aliases.append(key)
    if match := _CLAUDE_DATE.match(model):
        aliases.append(f"vertex_ai/{match.group(1)}@{match.group(2)}")
    return aliases


_BEDROCK_VENDOR_ID = re.compile(r"^([a-z0-9-]+)\.([\w.:@-]+)$")


def bedrock_id_index(entries: Mapping[str, Any]) -> dict[str, str]:
    """Bare model names -> Bedrock model ids, for spans that drop the vendor prefix.

    ``meta.llama3-70b-instruct-v1:0`` is found as ``llama3-70b-instruct-v1:0``, as
    ``llama3-70b-instruct`` (version off) and, for dated ids, without the date
    (``claude-opus-4-1`` -> ``anthropic.claude-opus-4-1-20250805-v1:0``). A name keeps
    the id it came from with the least taken off; among equals the newest id (the
    latest date or version) wins. Regional inference profiles (``us.``, ``global.``)
    count only for models the map has no base id for, ``global.`` (the base price)
    first. Names without a dash (``r1`` from ``deepseek.r1-v1:0``) are left out: too
    generic to stand for one model.
    """
    ranked: dict[str, tuple[int, str]] = {}
    for key in sorted((k for k in entries if "/" not in k), key=_recency):
        entry = entries[key]
        if not isinstance(entry, Mapping) or not str(entry.get("litellm_provider") or "").startswith("bedrock"):
            continue
        base = without_bedrock_region(key)
        region_rank = 0 if base is None else 3 if key.startswith("global.") else 6
        match = _BEDROCK_VENDOR_ID.match(base or key)
        if match is None:
            continue
        name = match.group(2)
        unversioned = _BEDROCK_VERSION.sub("", name)
        undated = _DATE_8.sub("", unversioned)
        for rank, alias in enumerate((name, unversioned, undated), start=region_rank):
            if "-" not in alias:
                continue
            held = ranked.get(alias)
            if held is None or rank <= held[0]:
                ranked[alias] = (rank, key)
    return {alias: key for alias, (_, key) in ranked.items()}


def _recency(key: str) -> tuple[str, int, int, str]:
    """Sorts ids oldest first: by date, then version (``-v2:0`` after ``-v1:0`` and after none)."""
    date = _DATE_8.search(_BEDROCK_VERSION.sub("", key))
    version = _BEDROCK_VERSION.search(key)
    major, minor = (int(version.group(1)), int(version.group(2))) if version else (-1, -1)
    return (date.group(0)[1:] if date else "", major, minor, key)
