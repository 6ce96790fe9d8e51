"""Who may send: nobody needs a token on loopback; anything else needs one.

Accepted: ``Authorization: Bearer <token>``, or Basic auth whose password is the
token, or the configured Langfuse public/secret key pair (what the Langfuse SDK sends).
"""

from __future__ import annotations

import base64
import hmac
import ipaddress
from dataclasses import dataclass


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class AuthPolicy:
    token: str | None = None
    langfuse_public_key: str | None = None
    langfuse_secret_key: str | None = None

    @property
    def required(self) -> bool:
        return bool(self.token or (self.langfuse_public_key and self.langfuse_secret_key))

    def allows(self, authorization: str | None) -> bool:
        if not self.required:
            return True
        if not authorization:
            return False
        scheme, _, cred = authorization.partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer" and self.token:
            return hmac.compare_digest(cred.strip().encode(), self.token.encode())
        if scheme == "basic":
            try:
                user, _, password = base64.b64decode(cred.strip(), validate=True).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return False
            if self.token and hmac.compare_digest(password.encode(), self.token.encode()):
                return True
            if self.langfuse_public_key and self.langfuse_secret_key:
                return hmac.compare_digest(user.encode(), self.langfuse_public_key.encode()) and \
                    hmac.compare_digest(password.encode(), self.langfuse_secret_key.encode())
        return False


class InsecureBind(ValueError):
    pass


def check_bind(host: str, policy: AuthPolicy) -> None:
    if not is_loopback(host) and not policy.required:
        raise InsecureBind(
            f"refusing to listen on {host} without a token: anything beyond loopback must authenticate. "
            "Set LLMOPS_TOKEN (or `token` in the config file), or listen on 127.0.0.1."
        )
