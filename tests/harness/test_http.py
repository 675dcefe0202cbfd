"""HTTP wrapper: error categories and curl evidence without secrets."""
from __future__ import annotations

import json
import socket

import httpx
import pytest

from support.errors import ApiError, InfrastructureError
from support.http import ApiClient, ExchangeLog, Redactor
from support.net import HttpServer, closed_port


def _mock(handler) -> ApiClient:
    client = ApiClient("http://salus.test/v1.0/", 2, ExchangeLog(Redactor(["super-secret-key"])),
                       token=lambda: "tok-abcdef-123", service="public API", setting="public_api.url")
    client._client = httpx.Client(transport=httpx.MockTransport(handler), timeout=2)
    return client


def test_curl_redacts_tokens_keys_passwords() -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        return httpx.Response(201, json={"id": "1", "token": "envoy-token-value", "description": "d"})
    client = _mock(handler)
    client.post("tenant/1/envoy-tokens?token=qs-secret", {"apiKey": "super-secret-key", "password": "pw-12345",
                                                          "name": "visible"}, headers={"Authorization": "Bearer x1y2"})
    text = client.log.render()
    assert text.startswith("curl -sS -X POST")
    for secret in ("tok-abcdef-123", "super-secret-key", "pw-12345", "envoy-token-value", "x1y2", "qs-secret"):
        assert secret not in text
    assert "x-auth-token: ***" in text.lower() and "authorization: ***" in text.lower() and "visible" in text


def test_secret_learnt_later_is_redacted_at_render_and_identity_responses_not_recorded() -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        token = {"id": "late-token-1234", "expires": "2999-01-01T00:00:00Z"}
        return httpx.Response(200, json={"access": {"token": token}})
    client = _mock(handler)
    client.get("echo/late-token-1234")
    client.post("tokens", {"auth": {}})
    client.log.redact.add("late-token-1234")
    text = client.log.render()
    assert "late-token-1234" not in text and "not recorded" in text


def test_4xx_is_api_error_not_infrastructure() -> None:
    client = _mock(lambda req: httpx.Response(409, json={"status": 409, "message": "zone has monitors"}))
    with pytest.raises(ApiError) as e:
        client.delete("tenant/1/zones/z", what="deleting a zone")
    assert not isinstance(e.value, InfrastructureError) and isinstance(e.value, AssertionError)
    assert e.value.status == 409 and "zone has monitors" in e.value.body and e.value.method == "DELETE"
    assert e.value.category == "product"


def test_expected_404_reads_as_absent() -> None:
    client = _mock(lambda req: httpx.Response(404, json={"status": 404}))
    assert client.get("tenant/1/resources/x", expect=(200, 404)) is None


def test_connection_refused_is_infrastructure_naming_host_and_setting() -> None:
    port = closed_port()
    client = ApiClient(f"http://127.0.0.1:{port}/v1.0/", 1, service="public API", setting="public_api.url")
    with pytest.raises(InfrastructureError) as e:
        client.get("tenant/1/zones")
    assert "127.0.0.1" in str(e.value) and "public_api.url" in str(e.value) and "\n" not in str(e.value)


def test_timeout_is_infrastructure() -> None:
    with socket.socket() as srv:                 # accepts, never answers
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        client = ApiClient(f"http://127.0.0.1:{srv.getsockname()[1]}/", 0.3, service="admin API")
        with pytest.raises(InfrastructureError, match="timed out"):
            client.get("api/zones")


def test_real_server_json_roundtrip() -> None:
    with HttpServer() as srv:
        client = ApiClient(srv.url, 2)
        assert client.get("anything") == "ok\n"
        assert json.dumps(client.log.curls()).count("curl") == 1
