"""Who may send: loopback needs nothing; anything else needs a token, and once a token
(or Langfuse keys) is configured every request must carry it: Bearer, or Basic whose
password is the token, or the Langfuse key pair."""

from __future__ import annotations

import base64
import os

import httpx
import pytest
from ingest_support import pb_request, read_trace, sdk_tracer, trace_id_of

from store.collector.__main__ import main as collector_main
from store.collector.auth import AuthPolicy, InsecureBind, check_bind
from store.collector.runner import Collector
from store.config import Settings
from tests.support.collector import start_inprocess

TOKEN = "s3cret-token"


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _body() -> tuple[bytes, str]:
    tid = os.urandom(16)
    req = pb_request([{"trace_id": tid, "span_id": os.urandom(8), "name": "authed"}])
    return req.SerializeToString(), tid.hex()


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "10.0.0.5", "example.com", ""])
def test_binding_beyond_loopback_needs_a_token(host):
    with pytest.raises(InsecureBind, match="LLMOPS_TOKEN"):
        check_bind(host, AuthPolicy())
    check_bind(host, AuthPolicy(token=TOKEN))
    check_bind(host, AuthPolicy(langfuse_public_key="pk", langfuse_secret_key="sk"))


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.53", "::1", "localhost"])
def test_loopback_needs_nothing(host):
    check_bind(host, AuthPolicy())


def test_collector_refuses_an_open_bind_before_touching_the_store(tmp_path, capsys):
    store = tmp_path / "store"
    with pytest.raises(InsecureBind):
        Collector(Settings(store=store, listen="0.0.0.0:4318"))
    assert not store.exists()
    # the command line says why and exits 2
    assert collector_main(["--store", str(store), "--listen", "0.0.0.0:4318"]) == 2
    assert "refusing to listen on 0.0.0.0 without a token" in capsys.readouterr().err


@pytest.fixture
def token_collector(store_dir):
    rc = start_inprocess(store_dir, token=TOKEN, langfuse_public_key="pk-lf-1", langfuse_secret_key="sk-lf-1")
    try:
        yield rc
    finally:
        rc.stop()


def test_requests_without_the_token_get_401(token_collector):
    url = token_collector.traces_url
    body, _ = _body()
    for auth in (None, "Bearer wrong", f"Bearer {TOKEN}x", _basic("x", "wrong"), "Basic !!!notbase64",
                 _basic("pk-lf-1", "sk-wrong"), f"Token {TOKEN}", TOKEN):
        headers = {"content-type": "application/x-protobuf", **({"authorization": auth} if auth else {})}
        r = httpx.post(url, content=body, headers=headers)
        assert r.status_code == 401, auth
        assert r.headers["www-authenticate"].startswith("Bearer")
    assert httpx.get(token_collector.url + "/v1/stats").status_code == 401
    assert httpx.get(token_collector.url + "/healthz").status_code == 200  # liveness stays open
    assert httpx.get(token_collector.url + "/v1/stats",
                     headers={"authorization": f"Bearer {TOKEN}"}).json()["spans_received"] == 0


@pytest.mark.parametrize("auth", [f"Bearer {TOKEN}", f"bearer {TOKEN}", _basic("anyone", TOKEN),
                                  _basic("pk-lf-1", "sk-lf-1")])
def test_bearer_and_basic_work(token_collector, auth):
    body, trace_id = _body()
    r = httpx.post(token_collector.traces_url, content=body,
                   headers={"content-type": "application/x-protobuf", "authorization": auth})
    assert r.status_code == 200
    assert read_trace(token_collector.store, trace_id).spans[0]["name"] == "authed"


def test_otel_sdk_with_the_token_in_otel_exporter_otlp_headers(token_collector, monkeypatch):
    """How an app beyond loopback is configured: the standard OTel environment variable."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", f"Authorization=Bearer%20{TOKEN}")
    provider, tracer = sdk_tracer(token_collector.traces_url, "remote-app")
    with tracer.start_as_current_span("remote call") as span:
        span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
    provider.shutdown()
    assert read_trace(token_collector.store, trace_id_of(span)).spans[0]["service"] == "remote-app"
