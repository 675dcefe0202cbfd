"""Release selection by semver, and the task body shape."""
from __future__ import annotations

from support.salus.catalog import best_release
from support.salus.tasks import task_body
from support.versions import version_key


def rel(version: str, os_: str = "linux", arch: str = "amd64", type_: str = "TELEGRAF", url: str = "http://x",
        exe: str = "./telegraf/telegraf") -> dict:
    return {"id": version + os_ + arch + type_, "type": type_, "version": version, "url": url, "exe": exe,
            "labels": {"agent_discovered_os": os_, "agent_discovered_arch": arch}}


def test_semver_order() -> None:
    ordered = ["garbage", "1.2.0-alpha", "1.2.0-alpha.1", "1.2.0-alpha.beta", "1.2.0-beta.2", "1.2.0-beta.11",
               "1.2.0-rc.1", "1.2.0", "v1.2.1", "1.10.0", "1.13.2+build.5", "2.0"]
    assert sorted(reversed(ordered), key=version_key) == ordered


def test_best_release_filters_type_os_arch_validity_and_picks_highest() -> None:
    releases = [rel("1.9.0"), rel("1.13.2"), rel("1.10.0"), rel("1.20.0", os_="darwin"), rel("1.21.0", arch="arm64"),
                rel("1.30.0", type_="FILEBEAT"), rel("1.40.0", url=""), rel("1.41.0", exe=""),
                rel("1.14.0-rc.1"), rel("not-a-version")]
    assert best_release(releases, "TELEGRAF", "linux", "amd64")["version"] == "1.14.0-rc.1"
    assert best_release(releases[:3], "TELEGRAF", "linux", "amd64")["version"] == "1.13.2"
    assert best_release(releases, "TELEGRAF", "darwin", "amd64")["version"] == "1.20.0"
    assert best_release(releases, "FILEBEAT", "linux", "amd64")["version"] == "1.30.0"
    assert best_release(releases, "TELEGRAF", "windows", "amd64") is None


def test_task_body_is_current_taskcu() -> None:
    body = task_body("e2et-x-task-1", "net_response", {"system_resource_id": "r1"}, consecutive=2)
    tp = body["taskParameters"]
    assert body["monitoringSystem"] == "salus" and "measurement" not in body
    assert tp["metricGroup"] == "net_response" and tp["defaultConsecutiveCount"] == 2
    crit = tp["stateExpressions"][0]
    assert crit["state"] == "CRITICAL" and crit["expression"] == {
        "type": "comparison", "comparator": "!=", "input": "result_code", "comparisonValue": 0}
    assert tp["stateExpressions"][1]["state"] == "OK"


def test_task_body_of_the_older_eras() -> None:
    kap = task_body("t", "http_response", {"system_resource_id": "r1"}, consecutive=2, era="kapacitor")
    assert set(kap) == {"name", "measurement", "taskParameters"} and kap["measurement"] == "http_response"
    tp = kap["taskParameters"]
    assert tp["criticalStateDuration"] == 2 and tp["labelSelector"] == {"system_resource_id": "r1"}
    assert [se["state"] for se in tp["stateExpressions"]] == ["CRITICAL"]
    assert tp["stateExpressions"][0]["expression"] == {
        "type": "comparison", "comparator": "!=", "valueName": "result_code", "comparisonValue": 0}
    esper = task_body("t", "http_response", {}, era="state-change")
    assert (esper["monitoringSystem"], esper["monitorType"], esper["monitorScope"]) == ("salus", "http", "remote")
