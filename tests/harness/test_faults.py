"""The sandbox fault-control client: paths, admin sign-in, and a clear error outside the sandbox."""
from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from support.config import load_settings
from support.errors import ConfigError
from support.salus.pack import PACK

from .conftest import REAL_ENDPOINTS


def test_fault_control_signs_in_as_admin_and_uses_documented_paths(sandbox_profile: Path) -> None:
    settings = load_settings("local", {"E2ET_SANDBOX_PROFILE": str(sandbox_profile)})
    seen: list[str] = []

    def handler(req: httpx.Request) -> httpx.Response:
        if req.url.path.endswith("/tokens"):
            body = json.loads(req.content)
            assert body["auth"]["passwordCredentials"]["username"] == "e2et-admin"
            token = {"id": "adm-tok-1", "expires": "2999-01-01T00:00:00Z"}
            return httpx.Response(200, json={"access": {"token": token}})
        assert req.headers["X-Auth-Token"] == "adm-tok-1"
        seen.append(f"{req.method} {req.url.path} {req.content.decode()}")
        return httpx.Response(200, json={"active": {"route-500": "zones"}, "catalog": {}})

    control = PACK.fault_control(settings.salus, transport=httpx.MockTransport(handler))
    control.enable("route-500", "zones")
    control.disable("route-500")
    control.clear()
    assert control.active() == {"route-500": "zones"}
    assert seen[:3] == ['PUT /_sandbox/faults/route-500 {"param":"zones"}', "DELETE /_sandbox/faults/route-500 ",
                        "DELETE /_sandbox/faults "]
    assert "adm-tok-1" not in control.api.log.render()


def test_fault_control_outside_the_sandbox_is_a_config_error() -> None:
    settings = load_settings("dev", {"E2ET_REGULAR_API_KEY": "k-123", "E2ET_ADMIN_PASSWORD": "pw-12345",
                                     **REAL_ENDPOINTS})
    with pytest.raises(ConfigError, match=r"sandbox\.control_url"):
        PACK.fault_control(settings.salus)
