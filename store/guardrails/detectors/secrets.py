"""Secret detectors: provider API keys, cloud credentials, private keys, JWTs.

Every pattern has a literal marker (``sk-``, ``AKIA``, ``-----BEGIN``, ``eyJ``)
checked with ``in`` before its regex runs, so clean text costs a few
substring searches.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass

from store.guardrails.model import BaseDetector, DetectionContext, Finding, Severity
from store.guardrails.prefilter import Markers, TextFacts


@dataclass(frozen=True, slots=True)
class KeyPattern:
    entity: str
    markers: tuple[str, ...]
    pattern: re.Pattern[str]
    severity: Severity = "critical"


def _key(entity: str, markers: tuple[str, ...], body: str, severity: Severity = "critical") -> KeyPattern:
    return KeyPattern(entity, markers, re.compile(rf"(?<![A-Za-z0-9_\-]){body}(?![A-Za-z0-9_\-])"), severity)


# Order matters where prefixes nest: sk-ant- before the generic OpenAI sk-.
PROVIDER_KEYS: tuple[KeyPattern, ...] = (
    _key("anthropic_api_key", ("sk-ant-",), r"sk-ant-(?:api|admin|sid)?\d{0,2}-?[A-Za-z0-9_\-]{32,}"),
    _key("openai_api_key", ("sk-",), r"sk-(?:proj-|svcacct-|admin-|None-)?(?=[A-Za-z0-9_\-]*\d)(?=[A-Za-z0-9_\-]*[A-Za-z])[A-Za-z0-9_\-]{32,}"),
    _key("google_api_key", ("AIza",), r"AIza[0-9A-Za-z_\-]{35}"),
    _key("groq_api_key", ("gsk_",), r"gsk_[A-Za-z0-9]{40,}"),
    _key("huggingface_token", ("hf_",), r"hf_[A-Za-z0-9]{30,}"),
    _key("github_token", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"), r"gh[pousr]_[A-Za-z0-9]{36,}"),
    _key("github_token", ("github_pat_",), r"github_pat_[A-Za-z0-9_]{50,}"),
    _key("slack_token", ("xox",), r"xox[abposr]-(?:\d+-)*[A-Za-z0-9\-]{10,}"),
    _key("slack_webhook", ("hooks.slack.com",), r"https://hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]+", "high"),
    _key("stripe_secret_key", ("sk_live_", "rk_live_"), r"[sr]k_live_[A-Za-z0-9]{20,}"),
    _key("stripe_test_key", ("sk_test_",), r"sk_test_[A-Za-z0-9]{20,}", "medium"),
    _key("aws_access_key_id", ("AKIA", "ASIA", "ABIA", "ACCA"), r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}"),
)


# Every key pattern starts with one of its markers: the markers no other
# marker contains are enough to tell a text with no key at all.
API_KEY_MARKERS: tuple[str, ...] = tuple(sorted(
    {m for key in PROVIDER_KEYS for m in key.markers if not any(o != m and o in m for k in PROVIDER_KEYS for o in k.markers)}
))  # fmt: skip


_KEY_MARKERS = tuple(Markers(key.markers) for key in PROVIDER_KEYS)


class ApiKeyDetector(BaseDetector):
    """Provider API keys by their documented prefixes."""

    name = "secret.api_key"
    category = "secret"
    severity = "critical"
    version = "1"
    family = "values"
    batch_pattern = "|".join(re.escape(m) for m in API_KEY_MARKERS)
    _markers = Markers(API_KEY_MARKERS)

    def prefilter(self, facts: TextFacts, ctx: DetectionContext) -> bool:
        return self._markers.in_text(facts.text)

    def detect(self, text: str, ctx: DetectionContext) -> list[Finding]:
        out: list[Finding] = []
        taken: list[tuple[int, int]] = []
        for key, markers in zip(PROVIDER_KEYS, _KEY_MARKERS):
            if not markers.in_text(text):
                continue
            for m in key.pattern.finditer(text):
                if any(s <= m.start() < e for s, e in taken):
                    continue  # an sk-ant- key already claimed this place
                taken.append(m.span())
                out.append(self.finding(m.start(), m.end(), key.entity, 0.95, ctx, severity=key.severity))
        return out


# AwsSecretKeyDetector._secret's alphabet as "k", every other byte (non-ASCII
# characters' too) as a space: a secret key is a run of 40 "k"
_SECRET_BYTES = bytes(ord("k") if chr(b).isascii() and (chr(b).isalnum() or chr(b) in "/+") else ord(" ") for b in range(256))
_SECRET_RUN = b"k" * 40


class AwsSecretKeyDetector(BaseDetector):
    """AWS secret access keys: 40 base64 characters, reported only near an
    access key id or after a name such as ``aws_secret_access_key`` (alone
    they look like any other hash)."""

    name = "secret.aws_secret_key"
    category = "secret"
    severity = "critical"
    version = "1"
    family = "values"
    markers = ("AKIA", "ASIA", "ecret", "ECRET")
    batch_pattern = "AKIA|ASIA|ecret|ECRET"
    _markers = Markers(markers)

    def prefilter(self, facts: TextFacts, ctx: DetectionContext) -> bool:
        return self._markers.in_text(facts.text)

    _secret = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
    _key_id = re.compile(r"(?:AKIA|ASIA)[A-Z2-7]{16}")
    _lower, _upper, _digit = re.compile(r"[a-z]"), re.compile(r"[A-Z]"), re.compile(r"\d")
    _named = re.compile(r"(?:secret_?access_?key|secretaccesskey|aws_?secret|secret_key)[\"']?\s*[:=]\s*[\"']?$", re.I)

    def detect(self, text: str, ctx: DetectionContext) -> list[Finding]:
        has_id = "AKIA" in text or "ASIA" in text
        if not has_id and "ecret" not in text and "ECRET" not in text:
            return []
        if _SECRET_RUN not in text.encode("utf-8", "surrogatepass").translate(_SECRET_BYTES):
            return []  # no 40 characters of the key's alphabet in a row: a few µs, where the regex costs tens
        ids = [m.start() for m in self._key_id.finditer(text)] if has_id else []
        out: list[Finding] = []
        for m in self._secret.finditer(text):
            value = m.group(0)
            if not (self._lower.search(value) and self._upper.search(value) and self._digit.search(value)):
                continue
            named = bool(self._named.search(text[max(0, m.start() - 40) : m.start()]))
            near_id = any(abs(m.start() - i) < 300 for i in ids)
            if named or near_id:
                out.append(self.finding(m.start(), m.end(), "aws_secret_key", 0.9, ctx))
        return out


class PrivateKeyDetector(BaseDetector):
    """PEM private keys (RSA, EC, DSA, OpenSSH, PKCS#8, encrypted, PGP), also
    inside JSON strings with escaped newlines; a GCP service-account JSON's
    ``private_key`` is reported as ``gcp_service_account_key``."""

    name = "secret.private_key"
    category = "secret"
    severity = "critical"
    version = "1"
    family = "values"
    markers = ("-----BEGIN",)
    batch_pattern = "-----BEGIN"

    def prefilter(self, facts: TextFacts, ctx: DetectionContext) -> bool:
        return "-----BEGIN" in facts.text

    _pem = re.compile(
        r"-----BEGIN ((?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?)-----"
        r"(?:.{0,8000}?-----END \1-----|[A-Za-z0-9+/=\s\\n]{0,8000})",
        re.S,
    )

    def detect(self, text: str, ctx: DetectionContext) -> list[Finding]:
        if "-----BEGIN" not in text:
            return []
        service_account = '"private_key"' in text and "service_account" in text
        out: list[Finding] = []
        for m in self._pem.finditer(text):
            end = m.end()
            while end > m.start() and text[end - 1] in " \t\r\n\\":
                end -= 1  # keep trailing whitespace / escapes out of the span
            in_sa = service_account and '"private_key"' in text[max(0, m.start() - 30) : m.start()]
            entity = "gcp_service_account_key" if in_sa else "private_key"
            out.append(self.finding(m.start(), end, entity, 0.99, ctx, details={"kind": m.group(1)}))
        return out


def _b64url_json(part: str) -> object | None:
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        return json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None


class JwtDetector(BaseDetector):
    """JSON Web Tokens: three base64url parts whose header decodes to a JSON
    object with ``alg``."""

    name = "secret.jwt"
    category = "secret"
    severity = "high"
    version = "1"
    family = "values"
    markers = ("eyJ",)
    batch_pattern = "eyJ"

    def prefilter(self, facts: TextFacts, ctx: DetectionContext) -> bool:
        return "eyJ" in facts.text

    _jwt = re.compile(r"(?<![A-Za-z0-9_\-])(eyJ[A-Za-z0-9_\-]{8,})\.([A-Za-z0-9_\-]{8,})\.([A-Za-z0-9_\-]{8,})(?![A-Za-z0-9_\-])")

    def detect(self, text: str, ctx: DetectionContext) -> list[Finding]:
        if "eyJ" not in text:
            return []
        out: list[Finding] = []
        for m in self._jwt.finditer(text):
            header = _b64url_json(m.group(1))
            if isinstance(header, dict) and "alg" in header:
                out.append(self.finding(m.start(), m.end(), "jwt", 0.95, ctx, details={"alg": str(header["alg"])[:16]}))
        return out


SECRET_DETECTORS = (ApiKeyDetector, AwsSecretKeyDetector, PrivateKeyDetector, JwtDetector)
