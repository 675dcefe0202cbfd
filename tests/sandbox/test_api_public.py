"""Public API routes over real HTTP: status codes, DTO shapes, validation, Kafka side effects."""
from __future__ import annotations

import json

import pytest
from api_rig import (
    OTHER,
    PUBLIC_ZONE,
    TENANT,
    ApiRig,
    error_shape,
    fresh_tenant,
    local_monitor,
    module_rig,
    net_monitor,
)

from sandbox.salus import topics
from sandbox.salus.seed import goarch

rig = module_rig("public")


# ---------------------------------------------------------------------------- agent releases
def test_agent_releases_span_pages_and_filter_by_type(rig: ApiRig) -> None:
    first = rig.pub("GET", TENANT, "agent-releases").json()
    assert set(first) == {"content", "number", "totalPages", "totalElements", "last", "first"}
    assert first["totalPages"] >= 3 and len(first["content"]) == 20 and first["first"] and not first["last"]
    everything = rig.all_pages("agent-releases", TENANT)
    assert len(everything) == first["totalElements"]
    telegraf = rig.all_pages("agent-releases", TENANT, params={"type": "TELEGRAF"})
    assert telegraf and all(r["type"] == "TELEGRAF" for r in telegraf)
    linux = [r for r in telegraf if r["labels"] == {"agent_discovered_os": "linux", "agent_discovered_arch": goarch()}]
    assert sorted(r["version"] for r in linux) == ["1.12.0", "1.13.2"]
    assert all(r["exe"] == "./telegraf/telegraf" and r["url"].endswith(f"linux-{goarch()}.tar.gz") for r in linux)
    assert max(r["version"] for r in telegraf if r["labels"]["agent_discovered_os"] != "linux") > "1.13.2"


def test_one_release_lives_under_event_tasks(rig: ApiRig) -> None:
    rel = rig.pub("GET", TENANT, "agent-releases").json()["content"][0]
    got = rig.pub("GET", TENANT, f"event-tasks/agent-releases/{rel['id']}")
    assert got.status_code == 200 and got.json() == rel
    assert set(rel) >= {"id", "type", "version", "labels", "url", "exe", "createdTimestamp", "updatedTimestamp"}
    missing = rig.pub("GET", TENANT, "event-tasks/agent-releases/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404 and error_shape(missing.json())


# ---------------------------------------------------------------------------- agent installs
def _linux_release(rig: ApiRig, version: str = "1.13.2") -> dict:
    return next(r for r in rig.domain.releases.list("TELEGRAF")
                if r["version"] == version and r["labels"]["agent_discovered_os"] == "linux"
                and r["labels"]["agent_discovered_arch"] == goarch())


def test_agent_install_lifecycle_and_events(rig: ApiRig) -> None:
    t = fresh_tenant()
    rig.pub("POST", t, "resources", "admin", json={"resourceId": "r1", "presenceMonitoringEnabled": True,
                                                   "labels": {"os": "linux"}})
    rel = _linux_release(rig)
    mark = rig.bus.mark()
    created = rig.pub("POST", t, "agent-installs", "admin",
                      json={"agentReleaseId": rel["id"], "labelSelector": {"os": "linux"}})
    assert created.status_code == 201
    inst = created.json()
    assert inst["agentRelease"] == rel and inst["labelSelectorMethod"] == "AND" and "tenantId" not in inst
    (_topic, key, value, type_id), = rig.bus.since(mark, topics.INSTALLS)
    assert key == f"{t}:r1" and value == {"tenantId": t, "resourceId": "r1", "op": "UPSERT", "agentType": "TELEGRAF"}
    assert type_id == topics.TYPE_IDS["AgentInstallChangeEvent"]
    assert ("installs", t) in rig.changes

    dup = rig.pub("POST", t, "agent-installs", "admin",
                  json={"agentReleaseId": rel["id"], "labelSelector": {"os": "linux"}})
    assert dup.status_code == 422
    no_rel = rig.pub("POST", t, "agent-installs", "admin",
                     json={"agentReleaseId": "00000000-0000-0000-0000-000000000000", "labelSelector": {}})
    assert no_rel.status_code == 404
    bad = rig.pub("POST", t, "agent-installs", "admin", json={"labelSelector": {}})
    assert bad.status_code == 400 and bad.json()["message"] == "One or more field validations failed: agentReleaseId"

    assert [i["id"] for i in rig.all_pages("agent-installs", t, "admin")] == [inst["id"]]
    mark = rig.bus.mark()
    assert rig.pub("DELETE", t, f"agent-installs/{inst['id']}", "admin").status_code == 204
    assert [r[2]["op"] for r in rig.bus.since(mark, topics.INSTALLS)] == ["DELETE"]
    assert rig.pub("DELETE", t, f"agent-installs/{inst['id']}", "admin").status_code == 404


def test_highest_matching_install_wins(rig: ApiRig) -> None:
    t = fresh_tenant()
    rig.domain.resources.create(t, {"resourceId": "r1", "presenceMonitoringEnabled": True, "labels": {}})
    for v in ("1.12.0", "1.13.2"):
        rig.domain.installs.create(t, {"agentReleaseId": _linux_release(rig, v)["id"], "labelSelector": {}})
    (chosen,) = rig.domain.installs_for_resource(t, "r1")
    assert chosen["agentRelease"]["version"] == "1.13.2"


# ---------------------------------------------------------------------------- resources
def test_resource_crud_validation_and_events(rig: ApiRig) -> None:
    t = fresh_tenant()
    mark = rig.bus.mark()
    r = rig.pub("POST", t, "resources", "admin", json={"resourceId": "web-1.example:a",
                                                      "presenceMonitoringEnabled": False, "labels": {"env": "x"}})
    assert r.status_code == 201
    assert set(r.json()) == {"resourceId", "labels", "metadata", "presenceMonitoringEnabled",
                             "createdTimestamp", "updatedTimestamp"}
    ((_, key, value, type_id),) = rig.bus.since(mark, topics.RESOURCES)
    assert key == f"{t}:web-1.example:a" and type_id == topics.TYPE_IDS["ResourceEvent"]
    assert value == {"tenantId": t, "resourceId": "web-1.example:a", "labelsChanged": True, "deleted": False,
                     "reattachedEnvoyId": None}

    assert rig.pub("POST", t, "resources", "admin", json={"resourceId": "web-1.example:a",
                                                          "presenceMonitoringEnabled": True}).status_code == 422
    bad = rig.pub("POST", t, "resources", "admin", json={"resourceId": "bad id/x"})
    assert bad.status_code == 400
    assert bad.json()["message"] == "One or more field validations failed: resourceId, presenceMonitoringEnabled"

    got = rig.pub("GET", t, "resources/web-1.example:a", "admin")
    assert got.status_code == 200 and got.json()["labels"] == {"env": "x"}
    mark = rig.bus.mark()
    put = rig.pub("PUT", t, "resources/web-1.example:a", "admin", json={"labels": {"env": "y"}})
    assert put.status_code == 200 and put.json()["labels"] == {"env": "y"}
    assert rig.bus.since(mark, topics.RESOURCES)[0][2]["labelsChanged"] is True
    assert rig.pub("GET", t, "resources/", "admin").json()["totalElements"] == 1   # trailing slash
    mark = rig.bus.mark()
    assert rig.pub("DELETE", t, "resources/web-1.example:a", "admin").status_code == 204
    assert rig.bus.since(mark, topics.RESOURCES)[0][2]["deleted"] is True
    assert rig.pub("GET", t, "resources/web-1.example:a", "admin").status_code == 404
    assert rig.pub("PUT", t, "resources/nope", "admin", json={}).status_code == 404


def test_malformed_json_is_400(rig: ApiRig) -> None:
    r = rig.pub("POST", fresh_tenant(), "resources", "admin", content=b"{not json",
                headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and error_shape(r.json()) and r.json()["status"] == 400


@pytest.mark.parametrize("path", ["resources", "envoy-tokens", "zones", "event-tasks"])
def test_missing_body_is_400(rig: ApiRig, path: str) -> None:
    r = rig.pub("POST", fresh_tenant(), path, "admin", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["message"] == "Required request body is missing"


def test_unknown_route_has_spring_error_body(rig: ApiRig) -> None:
    r = rig.pub("GET", TENANT, "no-such-thing")
    assert r.status_code == 404 and error_shape(r.json())


# ---------------------------------------------------------------------------- envoy attach
def test_envoy_attach_creates_resource_and_history(rig: ApiRig) -> None:
    t = fresh_tenant()
    mark = rig.bus.mark()
    envoy = rig.attach(t, "host-1")
    res = rig.pub("GET", t, "resources/host-1", "admin").json()
    assert res["presenceMonitoringEnabled"] is True and res["metadata"] == {}
    assert set(res["labels"]) == {"agent_discovered_os", "agent_discovered_arch"}
    assert rig.domain.resources.list(t, view="admin")[0]["envoyId"] == envoy.envoy_id
    assert rig.domain.resources.list(t, view="admin")[0]["associatedWithEnvoy"] is True
    assert rig.bus.since(mark, topics.RESOURCES)[0][2]["labelsChanged"] is True
    assert rig.domain.active_envoy_id(t, "host-1") == envoy.envoy_id

    hist = rig.pub("GET", t, "agent-history", "admin", params={"envoyId": envoy.envoy_id}).json()["content"]
    (h,) = hist
    assert set(h) == {"id", "tenantId", "envoyId", "resourceId", "zoneId", "remoteIp", "connectedAt", "disconnectedAt"}
    assert h["remoteIp"] == "127.0.0.1" and h["disconnectedAt"] is None
    assert rig.pub("GET", t, "agent-history", "admin", params={"resourceId": "other"}).json()["content"] == []
    rig.domain.envoy_detached(envoy.envoy_id)
    one = rig.pub("GET", t, f"agent-history/{h['id']}", "admin")
    assert one.status_code == 200 and one.json()["disconnectedAt"]
    assert rig.pub("GET", t, "agent-history/nope", "admin").status_code == 404

    mark = rig.bus.mark()
    again = rig.attach(t, "host-1", envoy_id="envoy-host-1-b")
    (ev,) = [r[2] for r in rig.bus.since(mark, topics.RESOURCES)]
    assert ev["reattachedEnvoyId"] == again.envoy_id and ev["labelsChanged"] is False


# ---------------------------------------------------------------------------- zones
def test_zones_public_plus_private_and_rules(rig: ApiRig) -> None:
    t = fresh_tenant()
    names = [z["name"] for z in rig.pub("GET", t, "zones", "admin").json()["content"]]
    assert names == [PUBLIC_ZONE]
    created = rig.pub("POST", t, "zones", "admin", json={"name": "my_zone_1"})
    assert created.status_code == 201
    z = created.json()
    assert z["public"] is False and z["pollerTimeout"] == 120 and "state" not in z
    assert set(z) == {"name", "pollerTimeout", "provider", "providerRegion", "public", "sourceIpAddresses",
                      "createdTimestamp", "updatedTimestamp"}
    assert [z["name"] for z in rig.pub("GET", t, "zones/?page=0", "admin").json()["content"]] == \
        [PUBLIC_ZONE, "my_zone_1"]
    assert rig.pub("POST", t, "zones", "admin", json={"name": "my_zone_1"}).status_code == 422
    for bad in ("Upper", "has-dash", "public/x", ""):
        r = rig.pub("POST", t, "zones", "admin", json={"name": bad})
        assert r.status_code == 400 and "name" in r.json()["message"], bad
    assert rig.pub("POST", t, "zones", "admin", json={"name": "z", "pollerTimeout": 5}).status_code == 400

    assert rig.pub("GET", t, "zones/my_zone_1", "admin").json()["name"] == "my_zone_1"
    assert rig.pub("GET", t, f"zones/{PUBLIC_ZONE}", "admin").json()["public"] is True
    assert rig.pub("GET", t, "zones/nope", "admin").status_code == 404
    put = rig.pub("PUT", t, "zones/my_zone_1", "admin", json={"provider": "p", "pollerTimeout": 300})
    assert put.status_code == 200 and put.json()["provider"] == "p" and put.json()["pollerTimeout"] == 300

    rig.pub("POST", t, "resources", "admin", json={"resourceId": "r1", "presenceMonitoringEnabled": True})
    mon = rig.pub("POST", t, "monitors", "admin", json=net_monitor("r1", ["my_zone_1"])).json()
    conflict = rig.pub("DELETE", t, "zones/my_zone_1", "admin")
    assert conflict.status_code == 409 and error_shape(conflict.json())
    rig.pub("DELETE", t, f"monitors/{mon['id']}", "admin")
    assert rig.pub("DELETE", t, "zones/my_zone_1", "admin").status_code == 204
    assert rig.pub("DELETE", t, "zones/my_zone_1", "admin").status_code == 404
    # another tenant's private zone is not visible
    assert "other_tenant_zone" not in [z["name"] for z in rig.pub("GET", TENANT, "zones").json()["content"]]


# ---------------------------------------------------------------------------- monitors
@pytest.mark.parametrize("body, message", [
    (local_monitor(), "detailedMonitorInput (exactly one of labelSelector or resourceId)"),
    (local_monitor("r1", labelSelector={}), "detailedMonitorInput (exactly one of labelSelector or resourceId)"),
    (local_monitor("r1", excludedResourceIds=["r2"]), "excludedResourceIds"),
    (local_monitor(labelSelector={"bad-key": "x"}), "labelSelector"),
    ({"name": "x", "resourceId": "r1"}, "details"),
    ({"resourceId": "r1", "details": {"type": "local", "plugin": {"type": "net_response"}}}, "details.plugin"),
    ({"resourceId": "r1", "details": {"type": "remote", "plugin": {"type": "cpu"}}}, "details.plugin"),
    (net_monitor("r1", [PUBLIC_ZONE], port=0), "details.plugin.port"),
    ({"resourceId": "r1", "details": {"type": "remote", "plugin": {"type": "http"}}}, "details.plugin.url"),
    (local_monitor("r1", interval="soon"), "interval"),
])
def test_monitor_validation(rig: ApiRig, body: dict, message: str) -> None:
    r = rig.pub("POST", TENANT, "monitors", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["message"] == f"One or more field validations failed: {message}"


def test_monitor_zone_must_be_public_or_own_private(rig: ApiRig) -> None:
    for zones in (["nope"], ["other_tenant_zone"]):
        r = rig.pub("POST", TENANT, "monitors", json=net_monitor("r1", zones))
        assert r.status_code == 400 and r.json()["message"] == "Invalid zone(s) provided"


def test_monitor_crud_and_change_events(rig: ApiRig) -> None:
    t = fresh_tenant()
    mark = rig.bus.mark()
    created = rig.pub("POST", t, "monitors", "admin",
                      json=net_monitor(None, [PUBLIC_ZONE], labelSelector={"env": "prod"}, port="8080"))
    assert created.status_code == 201
    m = created.json()
    assert m["interval"] == "PT30S" and m["policy"] is False and m["labelSelectorMethod"] == "AND"
    assert m["summary"] == {"host": "127.0.0.1", "port": "8080"} or m["summary"]["port"] == "8080"
    assert "policyId" not in m and "tenantId" not in m
    (_, key, value, tid), = rig.bus.since(mark, topics.MONITOR_CHANGES)
    assert key == f"{t}:{m['id']}" and value == {"tenantId": t, "monitorId": m["id"]}
    assert tid == topics.TYPE_IDS["MonitorChangeEvent"]

    assert rig.pub("GET", t, f"monitors/{m['id']}", "admin").json() == m
    mark = rig.bus.mark()
    put = rig.pub("PUT", t, f"monitors/{m['id']}", "admin", json={"name": "renamed", "interval": "PT1M"})
    assert put.status_code == 200 and put.json()["name"] == "renamed" and put.json()["interval"] == "PT1M"
    assert len(rig.bus.since(mark, topics.MONITOR_CHANGES)) == 1
    switched = rig.pub("PUT", t, f"monitors/{m['id']}", "admin", json={"resourceId": "r9"}).json()
    assert switched["resourceId"] == "r9" and switched["labelSelector"] is None

    patch = rig.pub("PATCH", t, f"monitors/{m['id']}", "admin",
                    content=json.dumps([{"op": "replace", "path": "/name", "value": "patched"},
                                        {"op": "replace", "path": "/details/plugin/port", "value": 9090}]),
                    headers={"Content-Type": "application/json-patch+json"})
    assert patch.status_code == 200, patch.text
    assert patch.json()["name"] == "patched" and patch.json()["details"]["plugin"]["port"] == 9090
    plain = rig.pub("PATCH", t, f"monitors/{m['id']}", "admin", json=[])
    assert plain.status_code == 415

    assert [x["id"] for x in rig.all_pages("monitors", t, "admin")] == [m["id"]]
    assert rig.pub("DELETE", t, f"monitors/{m['id']}", "admin").status_code == 204
    assert rig.pub("GET", t, f"monitors/{m['id']}", "admin").status_code == 404
    assert rig.pub("DELETE", t, f"monitors/{m['id']}", "admin").status_code == 404


# ---------------------------------------------------------------------------- bound monitors
def test_bound_monitors_local_private_and_public(rig: ApiRig) -> None:
    t = fresh_tenant()
    rig.domain.zones.create_private(t, {"name": "pz"})
    target = rig.attach(t, "target")
    rig.pub("PUT", t, "resources/target", "admin", json={"labels": {**rig.domain.resource_labels(t, "target"),
                                                                    "role": "web"}})
    poller = rig.attach(t, "poller-1", zone="pz")
    public_poller = rig.attach(rig.ctx.config.public_zone_tenant, "public-poller", zone=PUBLIC_ZONE)
    intruder = rig.attach(t, "intruder", zone=PUBLIC_ZONE)   # not a public-zone tenant: never chosen

    mark = rig.bus.mark()
    local = rig.pub("POST", t, "monitors", "admin", json=local_monitor(labelSelector={"role": "web"})).json()
    bound_events = {r[1] for r in rig.bus.since(mark, topics.MONITORS)}
    assert bound_events == {target.envoy_id}
    mark = rig.bus.mark()
    remote = rig.pub("POST", t, "monitors", "admin", json=net_monitor("target", ["pz", PUBLIC_ZONE], port=22)).json()
    assert {r[1] for r in rig.bus.since(mark, topics.MONITORS)} == {poller.envoy_id, public_poller.envoy_id}
    assert all(r[2] == {"envoyId": r[1]} and r[3] == topics.TYPE_IDS["MonitorBoundEvent"]
               for r in rig.bus.since(mark, topics.MONITORS))

    (b_local,) = rig.domain.bound_monitors_for_envoy(target.envoy_id)
    assert b_local["monitorId"] == local["id"] and b_local["selectorScope"] == "local"
    assert b_local["resourceId"] == "target" and b_local["agentType"] == "TELEGRAF"
    assert json.loads(b_local["renderedContent"]) == {"type": "cpu"}
    (b_priv,) = rig.domain.bound_monitors_for_envoy(poller.envoy_id)
    assert b_priv["zoneName"] == "pz" and b_priv["pollerResourceId"] == "poller-1" and b_priv["tenantId"] == t
    assert b_priv["interval"] == "PT30S" and b_priv["monitorType"] == "net_response"
    assert json.loads(b_priv["renderedContent"]) == {"type": "net_response", "protocol": "tcp",
                                                     "address": "127.0.0.1:22", "timeout": "2s"}
    # (the region's poller also runs the seeded checks of other tenants)
    (b_pub,) = [b for b in rig.domain.bound_monitors_for_envoy(public_poller.envoy_id) if b["tenantId"] == t]
    assert b_pub["zoneName"] == PUBLIC_ZONE and b_pub["pollerResourceId"] == "public-poller"
    assert rig.domain.bound_monitors_for_envoy(intruder.envoy_id) == []
    for b in (b_local, b_priv, b_pub):
        assert {"monitorId", "monitorType", "monitorName", "zoneName", "resourceId", "tenantId", "interval",
                "selectorScope", "agentType", "renderedContent", "envoyId", "pollerResourceId"} <= set(b)

    listed = rig.all_pages("bound-monitors", t, "admin")
    assert len(listed) == 3 and all("envoyId" not in b and "tenantId" not in b for b in listed)
    assert "zoneName" not in next(b for b in listed if b["selectorScope"] == "local")
    by_monitor = rig.pub("GET", t, "bound-monitors", "admin", params={"monitorId": remote["id"]}).json()["content"]
    assert {b["zoneName"] for b in by_monitor} == {"pz", PUBLIC_ZONE}
    assert rig.pub("GET", t, "bound-monitors", "admin", params={"resourceId": "nope"}).json()["content"] == []

    # an unchanged re-bind sends nothing; deleting the local monitor tells only its envoy
    mark = rig.bus.mark()
    rig.pub("DELETE", t, f"monitors/{local['id']}", "admin")
    assert {r[1] for r in rig.bus.since(mark, topics.MONITORS)} == {target.envoy_id}


def test_http_monitor_renders_http_response(rig: ApiRig) -> None:
    t = fresh_tenant()
    rig.domain.zones.create_private(t, {"name": "pz"})
    poller = rig.attach(t, "poller", zone="pz")
    rig.pub("POST", t, "resources", "admin", json={"resourceId": "site", "presenceMonitoringEnabled": False})
    rig.pub("POST", t, "monitors", "admin", json={
        "name": "web", "resourceId": "site", "interval": "PT5S",
        "details": {"type": "remote", "monitoringZones": ["pz"],
                    "plugin": {"type": "http", "url": "http://127.0.0.1:9/x", "timeout": "PT3S",
                               "responseStringMatch": "ok", "insecureSkipVerify": True}}})
    (b,) = rig.domain.bound_monitors_for_envoy(poller.envoy_id)
    assert b["monitorType"] == "http" and b["interval"] == "PT5S"
    assert json.loads(b["renderedContent"]) == {
        "type": "http_response", "urls": ["http://127.0.0.1:9/x"], "method": "GET", "response_timeout": "3s",
        "follow_redirects": False, "response_string_match": "ok", "insecure_skip_verify": True}


# ---------------------------------------------------------------------------- envoy tokens
def test_envoy_tokens_raw_spring_page_and_crud(rig: ApiRig) -> None:
    t = fresh_tenant()
    created = rig.pub("POST", t, "envoy-tokens", "admin", json={})
    assert created.status_code == 201
    tok = created.json()
    assert len(tok["token"]) == 24 and set(tok["token"]) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert set(tok) == {"id", "token", "description", "tenantId", "createdTimestamp", "updatedTimestamp", "lastUsed"}
    page = rig.pub("GET", t, "envoy-tokens", "admin").json()
    assert {"pageable", "size", "sort", "numberOfElements", "empty", "content", "totalElements", "last",
            "first", "number", "totalPages"} <= set(page)
    assert page["size"] == 20 and page["numberOfElements"] == 1 and page["empty"] is False
    assert rig.pub("GET", t, f"envoy-tokens/{tok['id']}", "admin").json()["token"] == tok["token"]
    put = rig.pub("PUT", t, f"envoy-tokens/{tok['id']}", "admin", json={"description": "d"})
    assert put.status_code == 200 and put.json()["description"] == "d"
    assert rig.pub("DELETE", t, f"envoy-tokens/{tok['id']}", "admin").status_code == 204
    assert rig.pub("GET", t, f"envoy-tokens/{tok['id']}", "admin").status_code == 404
    assert rig.pub("GET", t, "envoy-tokens", "admin").json()["empty"] is True


# ---------------------------------------------------------------------------- event tasks
def _task(**params: object) -> dict:
    tp = {"metricGroup": "net_response", "labelSelector": {"system_resource_id": "r1"},
          "stateExpressions": [{"state": "CRITICAL", "message": "down #{result_code}",
                                "expression": {"type": "comparison", "comparator": "!=", "input": "result_code",
                                               "comparisonValue": 0}}]}
    tp.update(params)
    return {"name": "tcp down", "monitoringSystem": "salus", "taskParameters": tp}


def test_event_task_crud_defaults_and_events(rig: ApiRig) -> None:
    t = fresh_tenant()
    mark = rig.bus.mark()
    created = rig.pub("POST", t, "event-tasks", "admin", json=_task())
    assert created.status_code == 201, created.text
    task = created.json()
    assert set(task) == {"id", "name", "taskParameters", "monitoringSystem", "createdTimestamp", "updatedTimestamp"}
    tp = task["taskParameters"]
    assert tp["defaultConsecutiveCount"] == 1 and tp["zoneQuorumCount"] == 1 and tp["groupBy"] == []
    ((_, key, value, tid),) = rig.bus.since(mark, topics.TASK_CHANGES)
    assert key == f"{t}:{task['id']}" and value == {"tenantId": t, "taskId": task["id"]}
    assert tid == topics.TYPE_IDS["TaskChangeEvent"]
    assert rig.domain.tasks_for(t, "net_response")[0]["tenantId"] == t
    assert rig.domain.tasks_for(t, "http_response") == []

    assert rig.pub("GET", t, f"event-tasks/{task['id']}", "admin").json() == task
    put = rig.pub("PUT", t, f"event-tasks/{task['id']}", "admin", json=_task(defaultConsecutiveCount=3))
    assert put.status_code == 200 and put.json()["taskParameters"]["defaultConsecutiveCount"] == 3
    assert len(rig.all_pages("event-tasks", t, "admin")) == 1
    mark = rig.bus.mark()
    assert rig.pub("DELETE", t, f"event-tasks/{task['id']}", "admin").status_code == 204
    assert len(rig.bus.since(mark, topics.TASK_CHANGES)) == 1
    assert rig.pub("GET", t, f"event-tasks/{task['id']}", "admin").status_code == 404


def test_stale_go_e2et_task_body_is_rejected_for_missing_metric_group(rig: ApiRig) -> None:
    stale = {"name": "e2et", "measurement": "net_response", "monitoringSystem": "salus", "monitorScope": "remote",
             "monitorType": "net", "taskParameters": {
                 "labelSelector": {"agent_discovered_os": "linux"},
                 "stateExpressions": [{"state": "CRITICAL", "expression": {
                     "type": "comparison", "comparator": ">", "metricName": "result_code", "comparisonValue": -1}}]}}
    r = rig.pub("POST", TENANT, "event-tasks", json=stale)
    assert r.status_code == 400
    msg = r.json()["message"]
    assert msg.startswith("One or more field validations failed: ") and "taskParameters.metricGroup" in msg
    assert "taskParameters.stateExpressions[0].expression.input" in msg


@pytest.mark.parametrize("body, field", [
    ({**_task(), "monitoringSystem": "SALUS"}, "monitoringSystem"),
    ({**_task(), "name": ""}, "name"),
    (_task(defaultConsecutiveCount=0), "taskParameters.defaultConsecutiveCount"),
    (_task(zoneQuorumCount=0), "taskParameters.zoneQuorumCount"),
    (_task(stateExpressions=[{"state": "BAD", "expression": {"type": "logical", "operator": "AND",
                                                             "expressions": []}}]),
     "taskParameters.stateExpressions[0].state, taskParameters.stateExpressions[0].expression.expressions"),
])
def test_event_task_validation(rig: ApiRig, body: dict, field: str) -> None:
    r = rig.pub("POST", TENANT, "event-tasks", json=body)
    assert r.status_code == 400 and r.json()["message"] == f"One or more field validations failed: {field}"


def test_other_tenants_ids_are_not_found(rig: ApiRig) -> None:
    other_monitor = rig.domain.monitors.list(OTHER)[0]
    assert rig.pub("GET", TENANT, f"monitors/{other_monitor['id']}").status_code == 404
    other_token = rig.domain.tokens.list(OTHER)[0]
    assert rig.pub("DELETE", TENANT, f"envoy-tokens/{other_token['id']}").status_code == 404


def test_new_matching_resource_rebinds_and_tells_the_poller(rig: ApiRig) -> None:
    t = fresh_tenant()
    rig.domain.zones.create_private(t, {"name": "pz"})
    poller = rig.attach(t, "poller", zone="pz")
    rig.pub("POST", t, "monitors", "admin", json=net_monitor(None, ["pz"], labelSelector={"role": "db"},
                                                            excludedResourceIds=["db-2"]))
    assert rig.domain.bound_monitors_for_envoy(poller.envoy_id) == []
    mark = rig.bus.mark()
    for rid in ("db-1", "db-2"):
        rig.pub("POST", t, "resources", "admin", json={"resourceId": rid, "presenceMonitoringEnabled": False,
                                                      "labels": {"role": "db"}})
    assert [r[1] for r in rig.bus.since(mark, topics.MONITORS)] == [poller.envoy_id]
    assert [b["resourceId"] for b in rig.domain.bound_monitors_for_envoy(poller.envoy_id)] == ["db-1"]
    mark = rig.bus.mark()
    rig.domain.envoy_detached(poller.envoy_id)
    assert rig.domain.bound_monitors_for_envoy(poller.envoy_id) == []
    assert rig.bus.since(mark, topics.MONITORS) == []   # a gone envoy is not told anything


def test_admin_trailing_slashes(rig: ApiRig) -> None:
    assert rig.adm("GET", "api/zones/public/us_central_1/").json()["name"] == PUBLIC_ZONE
    assert rig.adm("GET", f"api/tenant-metadata/{TENANT}/").status_code == 200


def test_resource_label_extras(rig: ApiRig) -> None:
    t = fresh_tenant()
    for rid, labels in (("a", {"env": "prod", "os": "linux"}), ("b", {"env": "dev", "os": "linux"})):
        rig.domain.resources.create(t, {"resourceId": rid, "presenceMonitoringEnabled": False, "labels": labels})
    assert rig.pub("GET", t, "resource-labels", "admin").json() == {"env": ["dev", "prod"], "os": ["linux"]}
    got = rig.pub("GET", t, "resources-by-label/AND", "admin", params={"env": "prod", "os": "linux"}).json()
    assert [r["resourceId"] for r in got["content"]] == ["a"]
    got = rig.pub("GET", t, "resources-by-label/OR", "admin", params={"env": "dev", "os": "mac"}).json()
    assert [r["resourceId"] for r in got["content"]] == ["b"]
    assert rig.pub("GET", t, "resources-by-label/XOR", "admin").status_code == 400
    bad = rig.pub("POST", t, "monitors", "admin", json=local_monitor("a", labelSelectorMethod="NAND"))
    assert bad.json()["message"] == "One or more field validations failed: labelSelectorMethod"
