"""Secret detectors. Keys are assembled at run time so no literal key sits in the repo."""

import base64
import json

import pytest

from store.guardrails import DetectionContext
from store.guardrails.detectors.secrets import ApiKeyDetector, AwsSecretKeyDetector, JwtDetector, PrivateKeyDetector

CTX = DetectionContext()
BODY = "aB3dE5fG7hJ9kL1mN2pQ4rS6tU8vW0xY2zA4bC6dE8fG0hJ2kL4"


def entities(detector, text):
    return [(f.entity, text[f.start : f.end]) for f in detector.detect(text, CTX)]


@pytest.mark.parametrize(
    "key, entity",
    [
        ("sk-" + BODY[:48], "openai_api_key"),
        ("sk-proj-" + BODY + "_x-" + BODY[:20], "openai_api_key"),
        ("sk-ant-api03-" + BODY + BODY, "anthropic_api_key"),
        ("AIza" + BODY[:35], "google_api_key"),
        ("gsk_" + BODY[:52], "groq_api_key"),
        ("hf_" + BODY[:34], "huggingface_token"),
        ("ghp_" + BODY[:36], "github_token"),
        ("github_pat_11ABCDEFG0" + BODY[:40] + "_" + BODY[:20], "github_token"),
        ("xoxb-123456789012-1234567890123-" + BODY[:24], "slack_token"),
        ("sk_live_" + BODY[:24], "stripe_secret_key"),
        ("AKIA" + "IOSFODNN7EXAMPL", None),  # 15 chars after AKIA: too short
        ("AKIA" + "IOSFODNN7EXAMPLE", "aws_access_key_id"),
        ("ASIA" + "Y34FZKBOKMUTVV7A", "aws_access_key_id"),
    ],
)
def test_provider_keys(key, entity):
    found = entities(ApiKeyDetector(), f"config: KEY={key} # keep safe")
    assert found == ([(entity, key)] if entity else [])


@pytest.mark.parametrize(
    "text",
    [
        "use scikit-learn and sk-learn for models",
        "the task-force met; risk-assessment-of-the-quarterly-report-2024 is due",
        "ghp_short",
        "hf_hub_download is a function",
        "AKIAlowercase-not-a-key",
    ],
)
def test_provider_key_negatives(text):
    assert not ApiKeyDetector().detect(text, CTX)


def test_aws_secret_needs_a_key_id_or_a_name():
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    assert entities(AwsSecretKeyDetector(), f"aws_secret_access_key = {secret}") == [("aws_secret_key", secret)]
    assert entities(AwsSecretKeyDetector(), f"id AKIAIOSFODNN7EXAMPLE secret {secret}") == [("aws_secret_key", secret)]
    assert not AwsSecretKeyDetector().detect(f"sha {secret} and a secret plan", CTX)


def test_pem_and_gcp_service_account():
    pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA75\nabc+/=\n-----END RSA PRIVATE KEY-----"
    found = PrivateKeyDetector().detect(f"key:\n{pem}\nthanks", CTX)
    assert [(f.entity, f.details["kind"]) for f in found] == [("private_key", "RSA PRIVATE KEY")]
    sa = json.dumps({"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----\n"})
    found = PrivateKeyDetector().detect(sa, CTX)
    assert [f.entity for f in found] == ["gcp_service_account_key"]
    assert sa[found[0].start : found[0].end].startswith("-----BEGIN PRIVATE KEY-----")
    assert not PrivateKeyDetector().detect("-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----", CTX)


def _b64(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def test_jwt_needs_a_header_with_alg():
    token = f"{_b64({'alg': 'HS256', 'typ': 'JWT'})}.{_b64({'sub': '42'})}.c2lnbmF0dXJlLWJ5dGVz"
    assert entities(JwtDetector(), f"Authorization: Bearer {token}") == [("jwt", token)]
    no_alg = f"{_b64({'typ': 'JWT'})}.{_b64({'sub': '42'})}.c2lnbmF0dXJlLWJ5dGVz"
    assert not JwtDetector().detect(no_alg, CTX)
    assert not JwtDetector().detect("eyJub3QganNvbg.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJl", CTX)
