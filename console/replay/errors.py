"""Provider failures as one clear message per call.

:func:`classify` turns whatever LiteLLM (or asyncio) raised into a
:class:`ReplayError` whose ``message`` says what happened and what to do, with
no traceback. The LiteLLM exception classes are looked up only when an error
happens, so this module does not import LiteLLM.
"""

from __future__ import annotations

import asyncio
import email.utils
import re
import time
from dataclasses import dataclass
from typing import Any, Literal

from console.replay.keys import env_var_for, missing_key_message
from console.replay.providers import ENDPOINT_PROVIDER

ErrorKind = Literal[
    "no_key", "auth", "rate_limit", "timeout", "connection", "context_length", "not_found",
    "bad_request", "server", "malformed", "render", "no_recording", "cancelled", "unknown",
]  # fmt: skip


@dataclass(frozen=True)
class ReplayError:
    kind: ErrorKind
    message: str  # one line for the user; names what to set or check
    status_code: int | None = None
    provider: str | None = None
    model: str | None = None
    retry_after_s: float | None = None
    attempts: int = 1
    detail: str | None = None  # the provider's own words, shortened

    def __str__(self) -> str:
        return self.message

    def with_attempts(self, attempts: int) -> ReplayError:
        from dataclasses import replace

        message = self.message
        if attempts > 1 and "attempt" not in message:
            message = f"{message} (after {attempts} attempts)"
        return replace(self, attempts=attempts, message=message)


def no_key_error(provider: str, model: str | None, lookup: Any = None) -> ReplayError:
    return ReplayError("no_key", missing_key_message(provider, lookup), None, provider, model)


def _provider_words(exc: BaseException) -> str:
    """The provider's message without LiteLLM's class-name prefixes."""
    text = str(getattr(exc, "message", None) or exc)
    text = re.sub(r"^(litellm\.\w+:\s*)+", "", text)
    text = re.sub(r"^(\w+Error:\s*)+", "", text)
    text = re.sub(r"^\w+Exception - ", "", text)
    text = text.split(" Received Model Group=")[0].split("\nModel: ")[0]
    return " ".join(text.split())[:300]


def retry_after_seconds(exc: BaseException) -> float | None:
    """Retry-After (or retry-after-ms) from the provider's response headers.

    LiteLLM keeps the upstream headers in ``litellm_response_headers``; its own
    ``exc.response`` is synthetic."""
    headers = getattr(exc, "litellm_response_headers", None) or getattr(getattr(exc, "response", None), "headers", None)
    if not headers:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(float(millis) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        parsed = email.utils.parsedate_tz(value)
        return max(email.utils.mktime_tz(parsed) - time.time(), 0.0) if parsed else None


def _is_connection_failure(words: str) -> bool:
    lowered = words.lower()
    return any(s in lowered for s in ("connection error", "connection refused", "connecterror", "cannot connect", "name or service not known", "nodename nor servname"))


def classify(exc: BaseException, *, provider: str | None, model: str | None, api_base: str | None = None, timeout_s: float | None = None) -> ReplayError:
    """One :class:`ReplayError` for an exception raised by a call (never raises itself)."""
    try:
        return _classify(exc, provider, model, api_base, timeout_s)
    except Exception:
        return ReplayError("unknown", f"{type(exc).__name__}: {str(exc)[:300]}", None, provider, model)


def _classify(exc: BaseException, provider: str | None, model: str | None, api_base: str | None, timeout_s: float | None) -> ReplayError:
    # For a self-hosted endpoint the server's address says more than the key name.
    who = f"the server at {api_base}" if api_base and provider == ENDPOINT_PROVIDER else provider or "the provider"
    where = api_base or who
    words = _provider_words(exc)
    status = getattr(exc, "status_code", None)
    status = status if isinstance(status, int) else None

    def error(kind: ErrorKind, message: str, **extra: Any) -> ReplayError:
        return ReplayError(kind, message, status, provider, model, detail=words or None, **extra)

    if isinstance(exc, asyncio.CancelledError):
        return error("cancelled", "Cancelled.")
    timed_out = f"{model or who} did not answer within {timeout_s:g} s (timeout)." if timeout_s else f"{model or who} timed out."
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return error("timeout", timed_out)

    from litellm import exceptions as litellm  # already imported by the call that failed

    env = env_var_for(provider) if provider else "the provider's API key"
    if isinstance(exc, litellm.ContextWindowExceededError) or "context_length_exceeded" in words or "maximum context length" in words:
        return error("context_length", f"The input is too long for {model or who} (context length exceeded): {words}")
    if isinstance(exc, litellm.AuthenticationError) or status == 401:
        return error("auth", f"{who[0].upper() + who[1:]} rejected the API key (401). Check {env}, or run `llmops-console keys set {provider or '<provider>'}`.")
    if isinstance(exc, litellm.PermissionDeniedError) or status == 403:
        return error("auth", f"Access refused by {who} (403): {words}")
    if isinstance(exc, litellm.RateLimitError) or status == 429:
        wait = retry_after_seconds(exc)
        hint = f" The provider asked to wait {wait:g} s." if wait is not None else ""
        return error("rate_limit", f"Rate limited by {who} (429).{hint}", retry_after_s=wait)
    if isinstance(exc, litellm.Timeout):
        return error("timeout", timed_out)
    if isinstance(exc, litellm.NotFoundError) or status == 404:
        return error("not_found", f"{where} has no model {model!r} (404): {words}")
    if any(s in words for s in ("payload is not completed", "Server disconnected", "peer closed connection", "incomplete chunked read")):
        return error("connection", f"The connection to {where} dropped in the middle of the response.")
    if _is_connection_failure(words) or (isinstance(exc, litellm.APIConnectionError) and "json" not in words.lower()):
        return error("connection", f"Cannot connect to {where} (connection refused or unreachable). Is the server running?")
    if isinstance(exc, litellm.MidStreamFallbackError | litellm.APIConnectionError | ValueError) or "Expecting" in words or "JSON" in words:
        return error("malformed", f"{where} sent a response that could not be read: {words}")
    if isinstance(exc, litellm.BadRequestError) or status == 400:
        return error("bad_request", f"Request rejected by {who} (400): {words}")
    if status is not None and status >= 500:
        return error("server", f"{where} failed with a server error ({status}): {words}")
    return error("unknown", f"{type(exc).__name__}: {words}")
