"""Identity, the Repose-like token check, the auth service, paging while deleting, the HTTP fault
middlewares, and state kept across a restart on the same data dir."""
from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_rig import OTHER, PUBLIC_ZONE, TENANT, ApiRig, error_shape, fresh_tenant, module_rig, net_monitor

from sandbox.salus import faults as F

rig = module_rig("edges")


@pytest.fixture(autouse=True)
def _no_faults(rig: ApiRig) -> Iterator[None]:
    yield
    rig.ctx.faults.clear()


# ---------------------------------------------------------------------------- identity
def _tokens(rig: ApiRig, body: object, **kw: object):
    return rig.http.post(rig.urls["identity"] + "/v2.0/tokens", json=body, **kw)


def test_identity_api_key_response_shape(rig: ApiRig) -> None:
    user = rig.ctx.config.user("e2et-regular")
    r = _tokens(rig, {"auth": {"RAX-KSKEY:apiKeyCredentials": {
        "username": user.username, "apiKey": user.api_key.get_secret_value()}}})
    assert r.status_code == 200
    access = r.json()["access"]
    assert access["token"]["id"] and access["token"]["expires"].endswith("Z")
    assert access["token"]["tenant"] == {"id": TENANT, "name": TENANT}
    assert access["user"]["name"] == "e2et-regular"
    assert all({"id", "name", "tenantId"} <= set(role) for role in access["user"]["roles"])
    assert access["serviceCatalog"]


def test_identity_password_form_for_admin(rig: ApiRig) -> None:
    admin = rig.ctx.config.user("e2et-admin")
    r = _tokens(rig, {"auth": {"passwordCredentials": {"username": admin.username,
                                                       "password": admin.password.get_secret_value()}}})
    assert r.status_code == 200
    assert "monitoring:service-admin" in [x["name"] for x in r.json()["access"]["user"]["roles"]]


@pytest.mark.parametrize("body", [
    {"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": "e2et-regular", "apiKey": "wrong"}}},
    {"auth": {"passwordCredentials": {"username": "e2et-regular", "password": "nope"}}},
    {"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": "nobody", "apiKey": "x"}}},
])
def test_identity_bad_credentials_401(rig: ApiRig, body: dict) -> None:
    r = _tokens(rig, body)
    assert r.status_code == 401 and r.json()["unauthorized"]["code"] == 401


@pytest.mark.parametrize("body", [{}, {"auth": {}}, {"auth": {"passwordCredentials": "x"}},
                                  {"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": "u"}}}, "not an object"])
def test_identity_malformed_400(rig: ApiRig, body: object) -> None:
    assert _tokens(rig, body).status_code == 400
    assert rig.http.post(rig.urls["identity"] + "/v2.0/tokens", content=b"{oops").status_code == 400


def test_token_check_like_repose(rig: ApiRig) -> None:
    assert rig.pub("GET", TENANT, "zones", token=None).status_code == 401
    unknown = rig.pub("GET", TENANT, "zones", token="deadbeef")
    assert unknown.status_code == 401 and error_shape(unknown.json())
    assert rig.pub("GET", OTHER, "zones").status_code == 403          # not the regular user's tenant
    assert rig.pub("GET", OTHER, "zones", token="other").status_code == 200
    assert rig.pub("GET", OTHER, "zones", token="admin").status_code == 200   # service-admin: any tenant
    assert rig.pub("GET", "not-a-tenant", "zones", token="admin").status_code == 404


def test_expired_token_is_401(rig: ApiRig) -> None:
    token = rig.login("e2et-regular", api_key=rig.ctx.config.user("e2et-regular").api_key.get_secret_value())
    doc = rig.domain.store.get("idtoken", token)
    rig.domain.store.put("idtoken", token, None, {**doc, "expires": "2000-01-01T00:00:00.000Z"})
    assert rig.pub("GET", TENANT, "zones", token=token).status_code == 401


# ---------------------------------------------------------------------------- auth service
def test_auth_service_issues_cert_for_token_tenant(rig: ApiRig) -> None:
    t = fresh_tenant()
    tok = rig.pub("POST", t, "envoy-tokens", "admin", json={"description": "envoy"}).json()
    assert tok["lastUsed"] is None
    r = rig.http.get(rig.urls["auth_service"] + "/v1.0/cert", headers={"Authorization": f"Bearer {tok['token']}"})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"certificate", "privateKey", "issuingCaCertificate"}
    assert f"CN={t}" in body["certificate"] and rig.pki.issued[-1] == t
    assert rig.pub("GET", t, f"envoy-tokens/{tok['id']}", "admin").json()["lastUsed"]
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": tok["token"]}):
        assert rig.http.get(rig.urls["auth_service"] + "/v1.0/cert", headers=headers).status_code == 401


# ---------------------------------------------------------------------------- paging while deleting
def _page(rig: ApiRig, t: str, page: int) -> dict:
    return rig.pub("GET", t, "resources", "admin", params={"page": page, "size": 5}).json()


def _make_resources(rig: ApiRig, t: str, n: int) -> None:
    for i in range(n):
        rig.domain.resources.create(t, {"resourceId": f"r-{i:02d}", "presenceMonitoringEnabled": False})


def _make_resources_from(rig: ApiRig, t: str, start: int, stop: int) -> None:
    for i in range(start, stop):
        rig.domain.resources.create(t, {"resourceId": f"r-{i:04d}", "presenceMonitoringEnabled": False})


def test_page_metadata(rig: ApiRig) -> None:
    t = fresh_tenant()
    _make_resources(rig, t, 12)
    p0, p2, p9 = _page(rig, t, 0), _page(rig, t, 2), _page(rig, t, 9)
    assert (p0["totalElements"], p0["totalPages"], p0["number"], p0["first"], p0["last"]) == (12, 3, 0, True, False)
    assert len(p2["content"]) == 2 and p2["last"] and not p2["first"]
    assert p9["content"] == [] and p9["last"]
    default = rig.pub("GET", t, "resources", "admin").json()
    assert len(default["content"]) == 12 and default["totalPages"] == 1
    empty = rig.pub("GET", fresh_tenant(), "resources", "admin").json()
    assert (empty["totalPages"], empty["first"], empty["last"], empty["content"]) == (0, True, True, [])
    # Spring's Pageable resolver: unparsable or negative values fall back to the defaults; size capped at 2000
    odd = rig.pub("GET", t, "resources", "admin", params={"page": "x", "size": "-3"})
    assert odd.status_code == 200 and (odd.json()["number"], len(odd.json()["content"])) == (0, 12)
    _make_resources_from(rig, t, 12, 2100)
    assert len(rig.pub("GET", t, "resources", "admin", params={"size": 5000}).json()["content"]) == 2000


def test_deleting_page_zero_repeatedly_empties_everything(rig: ApiRig) -> None:
    t = fresh_tenant()
    _make_resources(rig, t, 12)
    while True:
        content = _page(rig, t, 0)["content"]
        if not content:
            break
        for r in content:
            assert rig.pub("DELETE", t, f"resources/{r['resourceId']}", "admin").status_code == 204
    assert _page(rig, t, 0)["totalElements"] == 0


def test_walking_page_numbers_while_deleting_misses_items(rig: ApiRig) -> None:
    """The naive client: delete page N's items, then ask for page N+1 — items slide under it."""
    t = fresh_tenant()
    _make_resources(rig, t, 12)
    page = 0
    while True:
        body = _page(rig, t, page)
        for r in body["content"]:
            rig.pub("DELETE", t, f"resources/{r['resourceId']}", "admin")
        if body["last"]:
            break
        page += 1
    left = _page(rig, t, 0)["totalElements"]
    assert left > 0, "a naive page walk must leave items behind (proves the paging rule matters)"


# ---------------------------------------------------------------------------- fault middlewares
@pytest.mark.parametrize("family, call", [
    ("zones", lambda rig: rig.pub("GET", TENANT, "zones")),
    ("monitors", lambda rig: rig.pub("GET", TENANT, "monitors")),
    ("resources", lambda rig: rig.pub("GET", TENANT, "resources/x")),
    ("agent-installs", lambda rig: rig.pub("POST", TENANT, "agent-installs", json={})),
    ("event-tasks", lambda rig: rig.pub("GET", TENANT, "event-tasks")),
    ("envoy-tokens", lambda rig: rig.pub("GET", TENANT, "envoy-tokens")),
    ("agent-releases", lambda rig: rig.pub("GET", TENANT, "agent-releases")),
    ("agent-releases", lambda rig: rig.pub("GET", TENANT, "event-tasks/agent-releases/x")),
    ("bound-monitors", lambda rig: rig.pub("GET", TENANT, "bound-monitors")),
    ("agent-history", lambda rig: rig.pub("GET", TENANT, "agent-history")),
    ("zones", lambda rig: rig.adm("GET", "api/zones")),
    ("tokens", lambda rig: _tokens(rig, {})),
])
def test_route_500_breaks_only_its_family(rig: ApiRig, family: str, call) -> None:
    rig.ctx.faults.enable(F.ROUTE_500, family)
    r = call(rig)
    assert r.status_code == 500 and error_shape(r.json()) and "route-500" in r.json()["message"]
    other = "zones" if family != "zones" else "monitors"
    assert rig.pub("GET", TENANT, other).status_code == 200


def test_tenant_leak_adds_other_tenants_items_to_lists(rig: ApiRig) -> None:
    def ids(path: str, key: str = "id") -> set[str]:
        return {x[key] for x in rig.all_pages(path, TENANT)}

    clean_monitors, clean_resources = ids("monitors"), ids("resources", "resourceId")
    clean_zones = ids("zones", "name")
    rig.ctx.faults.enable(F.TENANT_LEAK)
    assert ids("monitors") - clean_monitors == {m["id"] for m in rig.domain.monitors.list(OTHER)}
    assert "other-tenant-server" in ids("resources", "resourceId") - clean_resources
    assert "other_tenant_zone" in ids("zones", "name") - clean_zones
    assert rig.pub("GET", TENANT, "envoy-tokens").json()["totalElements"] >= 1
    rig.ctx.faults.disable(F.TENANT_LEAK)
    assert ids("monitors") == clean_monitors


def test_slow_responses_delay_every_response(rig: ApiRig) -> None:
    rig.ctx.faults.enable(F.SLOW_RESPONSES, 0.3)
    for call in (lambda: rig.pub("GET", TENANT, "zones"), lambda: rig.adm("GET", "api/zones"),
                 lambda: _tokens(rig, {})):
        start = time.monotonic()
        call()
        assert time.monotonic() - start >= 0.3
    start = time.monotonic()
    rig.adm("GET", "_sandbox/faults")
    assert time.monotonic() - start < 0.3


# ---------------------------------------------------------------------------- restart keeps state
def test_restart_on_same_data_dir_keeps_state_and_seed_is_idempotent(tmp_path: Path) -> None:
    first = ApiRig(tmp_path)
    t = fresh_tenant()
    first.domain.resources.create(t, {"resourceId": "kept", "presenceMonitoringEnabled": True})
    releases = len(first.domain.releases.list())
    first.close()
    second = ApiRig(tmp_path)
    try:
        assert second.domain.resources.get(t, "kept")["resourceId"] == "kept"
        assert len(second.domain.releases.list()) == releases
        assert len(second.domain.monitors.list(OTHER)) == 2   # its local ping and its public-zone check
        new = second.domain.resources.create(t, {"resourceId": "after", "presenceMonitoringEnabled": True})
        assert [r["resourceId"] for r in second.domain.resources.list(t)] == ["kept", new["resourceId"]]
    finally:
        second.close()


@pytest.mark.parametrize(("given", "shown"), [("PT90S", "PT1M30S"), ("PT60M", "PT1H"), ("PT3660S", "PT1H1M"),
                                              ("PT30S", "PT30S")])
def test_durations_are_shown_as_java_prints_them(rig: ApiRig, given: str, shown: str) -> None:
    r = rig.pub("POST", TENANT, "monitors", json=net_monitor(None, [PUBLIC_ZONE], labelSelector={"x": "y"},
                                                              interval=given))
    assert r.status_code == 201, r.text
    assert r.json()["interval"] == shown
    rig.pub("DELETE", TENANT, f"monitors/{r.json()['id']}")


@pytest.mark.parametrize("cidrs", [["nope"], ["10.0.0.1"], "10.0.0.0/8", ["10.0.0.0/33"]])
def test_zone_source_addresses_must_be_cidrs(rig: ApiRig, cidrs: object) -> None:
    private = rig.pub("POST", fresh_tenant(), "zones", "admin", json={"name": "cidr_zone", "sourceIpAddresses": cidrs})
    public = rig.adm("POST", "api/zones", json={"name": "public/cidr_zone", "provider": "p", "providerRegion": "r",
                                                "sourceIpAddresses": cidrs})
    for r in (private, public):
        assert r.status_code == 400 and r.json()["message"] == "One or more field validations failed: sourceIpAddresses"
    ok = rig.pub("POST", fresh_tenant(), "zones", "admin", json={"name": "cidr_zone",
                                                                 "sourceIpAddresses": ["10.0.0.0/8", "2001:db8::/32"]})
    assert ok.status_code == 201, ok.text
