"""Admin API and sandbox fault control over real HTTP: auth, catalog, templates, policies,
tenant metadata, public zones, presence partitions, admin lists, tenant delete."""
from __future__ import annotations

import pytest
from api_rig import OTHER, PUBLIC_ZONE, TENANT, ApiRig, error_shape, fresh_tenant, module_rig, net_monitor

from sandbox.salus import topics

rig = module_rig("admin")


def _all(rig: ApiRig, path: str) -> list[dict]:
    out, page = [], 0
    while True:
        body = rig.adm("GET", path, params={"page": page}).json()
        out += body["content"]
        if body["last"]:
            return out
        page += 1


@pytest.mark.parametrize("path", ["api/agent-releases", "api/monitor-templates", "api/policies/monitors",
                                  "api/tenant-metadata", "api/zones", "api/presence-monitor/partitions",
                                  "api/monitors", "api/resources", "_sandbox/faults"])
def test_admin_routes_need_an_admin_token(rig: ApiRig, path: str) -> None:
    assert rig.adm("GET", path, token=None).status_code == 401
    assert rig.adm("GET", path, token="not-a-token").status_code == 401
    forbidden = rig.adm("GET", path, token="regular")
    assert forbidden.status_code == 403 and error_shape(forbidden.json())
    assert rig.adm("GET", path).status_code == 200


# ---------------------------------------------------------------------------- agent releases
def test_agent_release_create_duplicate_get_delete(rig: ApiRig) -> None:
    body = {"type": "TELEGRAF", "version": "9.9.9", "labels": {"agent_discovered_os": "plan9"},
            "url": "http://x/t.tar.gz", "exe": "./telegraf/telegraf"}
    created = rig.adm("POST", "api/agent-releases", json=body)
    assert created.status_code == 201
    rel = created.json()
    assert {k: rel[k] for k in body} == body and rel["id"]
    assert rig.adm("POST", "api/agent-releases", json=body).status_code == 422
    bad = rig.adm("POST", "api/agent-releases", json={**body, "type": "NOPE", "labels": {}})
    assert bad.status_code == 400 and bad.json()["message"] == "One or more field validations failed: type, labels"
    assert rig.adm("GET", f"api/agent-releases/{rel['id']}").json() == rel
    assert rel["id"] in [r["id"] for r in _all(rig, "api/agent-releases")]
    assert rig.adm("DELETE", f"api/agent-releases/{rel['id']}").status_code == 204
    assert rig.adm("GET", f"api/agent-releases/{rel['id']}").status_code == 404


# ---------------------------------------------------------------------------- templates and policies
def _template_body(name: str) -> dict:
    return {"name": name, "labelSelector": {"role": "web"}, "interval": "PT10S",
            "details": {"type": "remote", "monitoringZones": [PUBLIC_ZONE],
                        "plugin": {"type": "http", "url": "http://127.0.0.1:9/", "timeout": "PT2S"}}}


def _template(rig: ApiRig, name: str = "http policy") -> dict:
    r = rig.adm("POST", "api/monitor-templates", json=_template_body(name))
    assert r.status_code == 201, r.text
    return r.json()


def test_monitor_template_crud(rig: ApiRig) -> None:
    tpl = _template(rig, "crud")
    assert rig.adm("GET", f"api/monitor-templates/{tpl['id']}").json() == tpl
    put = rig.adm("PUT", f"api/monitor-templates/{tpl['id']}", json={"name": "renamed"})
    assert put.status_code == 200 and put.json()["name"] == "renamed"
    assert tpl["id"] in [t["id"] for t in _all(rig, "api/monitor-templates")]
    bad = rig.adm("POST", "api/monitor-templates", json={"name": "x", "labelSelector": {}})
    assert bad.status_code == 400 and bad.json()["message"] == "One or more field validations failed: details"
    one = dict(_template_body("one resource"), resourceId="r-1")
    del one["labelSelector"]
    refused = rig.adm("POST", "api/monitor-templates", json=one)
    assert refused.status_code == 400
    assert refused.json()["message"] == "Policy Monitors must use label selectors and not a resourceId"
    assert rig.adm("DELETE", f"api/monitor-templates/{tpl['id']}").status_code == 204
    assert rig.adm("GET", f"api/monitor-templates/{tpl['id']}").status_code == 404


def test_account_type_policy_clones_opt_out_and_late_metadata(rig: ApiRig) -> None:
    account = rig.ctx.config.account_type
    tpl = _template(rig)
    created = rig.adm("POST", "api/policies/monitors", json={"scope": "ACCOUNT_TYPE", "subscope": account,
                                                            "name": "http-policy", "monitorTemplateId": tpl["id"]})
    assert created.status_code == 201, created.text
    policy = created.json()
    assert set(policy) == {"id", "scope", "subscope", "name", "monitorId", "createdTimestamp", "updatedTimestamp"}
    assert policy["monitorId"] == tpl["id"]

    clones = [m for m in rig.domain.monitors.list(TENANT, admin=True) if m["policyId"] == policy["id"]]
    assert len(clones) == 1 and clones[0]["policy"] is True and clones[0]["name"] == "http policy"
    public_view = rig.pub("GET", TENANT, f"monitors/{clones[0]['id']}").json()
    assert public_view["policy"] is True and "policyId" not in public_view
    assert not [m for m in rig.domain.monitors.list(OTHER, admin=True) if m["policy"]]
    assert rig.pub("DELETE", TENANT, f"monitors/{clones[0]['id']}").status_code == 409
    eff = rig.adm("GET", f"api/policies/monitors/effective/{TENANT}").json()
    assert [p["id"] for p in eff] == [policy["id"]]

    # a tenant whose metadata arrives later gets the clone then
    late = fresh_tenant()
    assert rig.adm("POST", "api/tenant-metadata", json={"tenantId": late, "accountType": account}).status_code == 201
    assert [m["policyId"] for m in rig.domain.monitors.list(late, admin=True)] == [policy["id"]]

    # TENANT opt-out removes that tenant's clone only
    opt = rig.adm("POST", "api/policies/monitors/opt-out",
                  json={"scope": "TENANT", "subscope": late, "name": "http-policy", "monitorTemplateId": None})
    assert opt.status_code == 201 and opt.json()["monitorId"] is None
    assert rig.domain.monitors.list(late) == []
    assert [m for m in rig.domain.monitors.list(TENANT) if m["policy"]]
    bad_opt = rig.adm("POST", "api/policies/monitors/opt-out",
                      json={"scope": "TENANT", "subscope": late, "name": "x", "monitorTemplateId": tpl["id"]})
    assert bad_opt.status_code == 400

    assert rig.adm("GET", f"api/policies/monitors/{policy['id']}").json() == policy
    assert policy["id"] in [p["id"] for p in _all(rig, "api/policies/monitors")]
    mark = rig.bus.mark()
    assert rig.adm("DELETE", f"api/policies/monitors/{policy['id']}").status_code == 204
    assert not [m for m in rig.domain.monitors.list(TENANT) if m["policy"]]
    assert [r[2]["monitorId"] for r in rig.bus.since(mark, topics.MONITOR_CHANGES)] == [clones[0]["id"]]
    assert rig.adm("GET", f"api/policies/monitors/{policy['id']}").status_code == 404


@pytest.mark.parametrize("body, fields", [
    ({"scope": "NOPE", "subscope": "x", "name": "n", "monitorTemplateId": "t"}, "scope"),
    ({"scope": "ACCOUNT_TYPE", "name": "n", "monitorTemplateId": "t"}, "subscope"),
    ({"scope": "GLOBAL", "name": "n"}, "monitorTemplateId"),
    ({"scope": "GLOBAL", "monitorTemplateId": "t"}, "name"),
])
def test_policy_validation(rig: ApiRig, body: dict, fields: str) -> None:
    r = rig.adm("POST", "api/policies/monitors", json=body)
    assert r.status_code == 400 and r.json()["message"] == f"One or more field validations failed: {fields}"


def test_policy_with_unknown_template_is_400(rig: ApiRig) -> None:
    unknown = "00000000-0000-0000-0000-000000000000"
    r = rig.adm("POST", "api/policies/monitors", json={"scope": "GLOBAL", "name": "g", "monitorTemplateId": unknown})
    assert r.status_code == 400 and r.json()["message"] == f"Invalid monitor id provided: {unknown}"
    tpl = _template(rig, "global with subscope")
    r = rig.adm("POST", "api/policies/monitors", json={"scope": "GLOBAL", "subscope": "x", "name": "g",
                                                      "monitorTemplateId": tpl["id"]})
    assert r.status_code == 400 and r.json()["message"] == "One or more field validations failed: subscope"


# ---------------------------------------------------------------------------- tenant metadata
def test_tenant_metadata_crud(rig: ApiRig) -> None:
    seeded = rig.adm("GET", f"api/tenant-metadata/{TENANT}").json()
    assert seeded["accountType"] == rig.ctx.config.account_type
    t = fresh_tenant()
    created = rig.adm("POST", "api/tenant-metadata", json={"tenantId": t, "accountType": "a", "metadata": {"k": "v"}})
    assert created.status_code == 201 and created.json()["metadata"] == {"k": "v"}
    assert rig.adm("POST", "api/tenant-metadata", json={"tenantId": t, "accountType": "a"}).status_code == 422
    assert rig.adm("POST", "api/tenant-metadata", json={"accountType": "a"}).status_code == 400
    put = rig.adm("PUT", f"api/tenant-metadata/{t}", json={"accountType": "b"})
    assert put.status_code == 200 and rig.domain.tenant_account_type(t) == "b"
    assert put.json()["metadata"] == {"k": "v"}          # fields not sent are kept (whenNonNull)
    assert t in [m["tenantId"] for m in _all(rig, "api/tenant-metadata")]
    assert rig.adm("DELETE", f"api/tenant-metadata/{t}").status_code == 204
    assert rig.adm("GET", f"api/tenant-metadata/{t}").status_code == 404
    assert rig.adm("PUT", f"api/tenant-metadata/{t}", json={"accountType": "b"}).status_code == 404


# ---------------------------------------------------------------------------- public zones
def test_public_zones_with_slashes(rig: ApiRig) -> None:
    listed = _all(rig, "api/zones")
    assert PUBLIC_ZONE in [z["name"] for z in listed]
    assert all(z["public"] is True and "state" in z for z in listed)
    body = {"name": "public/eu_west_9", "provider": "p", "providerRegion": "r", "sourceIpAddresses": ["10.0.0.0/8"]}
    created = rig.adm("POST", "api/zones", json=body)
    assert created.status_code == 201
    assert created.json()["state"] == "INACTIVE" and created.json()["pollerTimeout"] == 300
    assert rig.adm("POST", "api/zones", json=body).status_code == 422
    bad = rig.adm("POST", "api/zones", json={"name": "eu_west"})
    assert bad.status_code == 400
    assert bad.json()["message"] == ("One or more field validations failed: name, provider, providerRegion, "
                                     "sourceIpAddresses")
    assert rig.adm("GET", "api/zones/public/eu_west_9").json()["name"] == "public/eu_west_9"
    assert rig.adm("PUT", "api/zones/public/eu_west_9", json={"state": "ACTIVE"}).json()["state"] == "ACTIVE"
    assert "public/eu_west_9" in [z["name"] for z in rig.pub("GET", TENANT, "zones").json()["content"]]
    assert rig.adm("DELETE", "api/zones/public/eu_west_9").status_code == 204
    assert rig.adm("GET", "api/zones/public/eu_west_9").status_code == 404


def test_public_zone_in_use_cannot_be_deleted(rig: ApiRig) -> None:
    rig.adm("POST", "api/zones", json={"name": "public/used", "provider": "p", "providerRegion": "r",
                                       "sourceIpAddresses": ["10.0.0.0/8"]})
    t = fresh_tenant()
    rig.pub("POST", t, "monitors", "admin", json=net_monitor("r1", ["public/used"]))
    assert rig.adm("DELETE", "api/zones/public/used").status_code == 409


# ---------------------------------------------------------------------------- presence partitions
def test_presence_partitions(rig: ApiRig) -> None:
    assert rig.adm("GET", "api/presence-monitor/partitions").json() == []
    assert rig.adm("PUT", "api/presence-monitor/partitions", json={"count": 3}).json() == {"success": False}
    assert rig.adm("PUT", "api/presence-monitor/partitions", json={"count": 4}).json() == {"success": True}
    ranges = rig.adm("GET", "api/presence-monitor/partitions").json()
    assert len(ranges) == 4 and ranges[0]["start"] == "0" * 64 and ranges[-1]["end"] == "f" * 64
    assert all(len(r["start"]) == len(r["end"]) == 64 for r in ranges)
    assert int(ranges[1]["start"], 16) == int(ranges[0]["end"], 16) + 1


# ---------------------------------------------------------------------------- admin lists, tenant delete
def test_admin_lists_include_tenant_ids(rig: ApiRig) -> None:
    monitors = _all(rig, "api/monitors")
    assert {m["tenantId"] for m in monitors} >= {OTHER}
    resources = _all(rig, "api/resources")
    assert all({"tenantId", "id", "envoyId", "associatedWithEnvoy"} <= set(r) for r in resources)


def test_delete_tenant_fans_out_with_events(rig: ApiRig) -> None:
    t = fresh_tenant()
    d = rig.domain
    d.zones.create_private(t, {"name": "z"})
    d.resources.create(t, {"resourceId": "r1", "presenceMonitoringEnabled": True})
    mon = d.monitors.create(t, net_monitor("r1", ["z"]))
    task = d.tasks.create(t, {"name": "t", "monitoringSystem": "salus", "taskParameters": {"metricGroup": "g"}})
    d.tokens.create(t, "x")
    d.tenants.upsert(t, {"accountType": "a"}, create=True)
    mark = rig.bus.mark()
    assert rig.adm("DELETE", f"api/tenant/{t}").status_code == 204
    assert d.resources.list(t) == [] and d.monitors.list(t) == [] and d.tasks.list(t) == []
    assert d.tokens.list(t) == [] and d.tenant_account_type(t) is None
    assert all(z["public"] for z in d.zones.list(t))
    keys = {(r[0], r[1]) for r in rig.bus.since(mark)}
    assert {(topics.RESOURCES, f"{t}:r1"), (topics.MONITOR_CHANGES, f"{t}:{mon['id']}"),
            (topics.TASK_CHANGES, f"{t}:{task['id']}")} <= keys


# ---------------------------------------------------------------------------- fault control
def test_fault_control(rig: ApiRig) -> None:
    state = rig.adm("GET", "_sandbox/faults").json()
    assert state["active"] == {} and "route-500" in state["catalog"]
    on = rig.adm("PUT", "_sandbox/faults/route-500", json={"param": "monitors"})
    assert on.status_code == 200 and on.json()["active"] == {"route-500": "monitors"}
    default = rig.adm("PUT", "_sandbox/faults/slow-responses")
    assert default.json()["active"]["slow-responses"] == 15.0
    # the control itself is never slowed down, or the fault could not be switched off
    off = rig.adm("DELETE", "_sandbox/faults/slow-responses", timeout=2)
    assert off.status_code == 200 and "slow-responses" not in off.json()["active"]
    unknown = rig.adm("PUT", "_sandbox/faults/no-such-fault")
    assert unknown.status_code == 404 and "unknown fault 'no-such-fault'" in unknown.json()["message"]
    assert rig.adm("DELETE", "_sandbox/faults/no-such-fault").status_code == 404
    assert rig.adm("DELETE", "_sandbox/faults").json()["active"] == {}
    assert rig.adm("PUT", "_sandbox/faults/route-500", token="regular").status_code == 403
    assert rig.ctx.faults.snapshot() == {}
