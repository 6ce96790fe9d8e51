"""Provider API keys: the environment first, then the system keyring.

``OPENAI_API_KEY`` (etc.) wins, as CI expects; otherwise
``keyring.get_password("llmops-console", <provider>)``. Keyring trouble (no
backend on a headless box, a locked store) never raises out of here: the lookup
just reports no key and why, and :func:`missing_key_message` says exactly what to set.

On headless Linux with keyrings.alt the keyring is a **plaintext** file
(tech brief §7); :func:`backend_warning` says so, for the CLI to show.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

SERVICE = "llmops-console"

# Where a provider's env var is not simply <PROVIDER>_API_KEY (LiteLLM's names).
_ENV_VARS = {
    "together_ai": "TOGETHERAI_API_KEY",
    "fireworks_ai": "FIREWORKS_AI_API_KEY",
    "azure_ai": "AZURE_AI_API_KEY",
    "huggingface": "HF_TOKEN",
    "vertex_ai": "GOOGLE_APPLICATION_CREDENTIALS",
    "nvidia_nim": "NVIDIA_NIM_API_KEY",
}
# Providers that authenticate without an API key of ours (cloud credentials, local servers).
KEYLESS = frozenset({"bedrock", "sagemaker", "vertex_ai", "ollama", "ollama_chat", "lm_studio", "llamafile"})


def env_var_for(provider: str) -> str:
    provider = provider.lower()
    if provider in _ENV_VARS:
        return _ENV_VARS[provider]
    return "".join(ch if ch.isalnum() else "_" for ch in provider.upper()) + "_API_KEY"


@dataclass(frozen=True)
class KeyLookup:
    provider: str
    key: str | None
    source: Literal["env", "keyring"] | None
    env_var: str
    keyring_problem: str | None = None  # why the keyring could not be asked, when it could not

    @property
    def found(self) -> bool:
        return self.key is not None


class KeyStoreError(RuntimeError):
    """The keyring cannot store or delete a key; the message says what to do instead."""


def _keyring_get(provider: str) -> tuple[str | None, str | None]:
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:
        return None, "the keyring package is not installed"
    try:
        return keyring.get_password(SERVICE, provider) or None, None
    except KeyringError as exc:
        return None, f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # a broken third-party backend must not break a replay
        return None, f"{type(exc).__name__}: {exc}"


def resolve_key(provider: str) -> KeyLookup:
    env_var = env_var_for(provider)
    value = os.environ.get(env_var)
    if value:
        return KeyLookup(provider, value, "env", env_var)
    key, problem = _keyring_get(provider)
    return KeyLookup(provider, key, "keyring" if key else None, env_var, problem)


def get_key(provider: str) -> str | None:
    return resolve_key(provider).key


def missing_key_message(provider: str, lookup: KeyLookup | None = None) -> str:
    env_var = env_var_for(provider)
    message = f"No API key for {provider}: set {env_var}, or run `llmops-console keys set {provider}`."
    if lookup is not None and lookup.keyring_problem:
        message += f" (The keyring could not be read: {lookup.keyring_problem.split(':')[0]}; use {env_var}.)"
    return message


def set_key(provider: str, key: str) -> None:
    import keyring
    from keyring.errors import KeyringError

    try:
        keyring.set_password(SERVICE, provider, key)
    except KeyringError as exc:
        raise KeyStoreError(
            f"Cannot store the key: no usable keyring ({type(exc).__name__}). "
            f"Set {env_var_for(provider)} in the environment instead, or install keyrings.alt."
        ) from exc


def delete_key(provider: str) -> bool:
    """True when a stored key was deleted, False when there was none."""
    import keyring
    from keyring.errors import KeyringError, PasswordDeleteError

    try:
        keyring.delete_password(SERVICE, provider)
        return True
    except PasswordDeleteError:
        return False
    except KeyringError as exc:
        raise KeyStoreError(f"Cannot reach the keyring ({type(exc).__name__}).") from exc


def backend_name() -> str:
    try:
        import keyring

        backend = keyring.get_keyring()
        return f"{type(backend).__module__}.{type(backend).__name__}"
    except Exception as exc:
        return f"unavailable ({type(exc).__name__})"


def backend_warning() -> str | None:
    """A warning when keys would be stored as plaintext (keyrings.alt's file backend)."""
    name = backend_name()
    if "Plaintext" in name or ("keyrings.alt.file" in name and "Encrypted" not in name):
        return f"Keys are stored unencrypted by {name}; prefer environment variables on shared machines."
    return None


def mask(key: str) -> str:
    return key[:3] + "…" + key[-4:] if len(key) > 12 else "…" * 3
