"""Event-task API of the older engine generations (the sandbox's event format picks the era).

The harness's own body builder is used on purpose: a suite aimed at a Kapacitor- or Esper-era
deployment must send what that era's EEM accepts, and the sandbox must refuse the other eras'.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_rig import ApiRig, fresh_tenant, module_rig

from support.salus.tasks import task_body

rig = module_rig("eras")
SELECTOR = {"system_resource_id": "r1"}


@pytest.fixture(params=["kapacitor", "state-change"])
def era(request: pytest.FixtureRequest, rig: ApiRig) -> Iterator[str]:
    before = rig.ctx.config.event_format
    rig.ctx.config.event_format = request.param
    try:
        yield request.param
    finally:
        rig.ctx.config.event_format = before


def test_older_era_task_is_accepted_shown_in_its_shape_and_evaluated(rig: ApiRig, era: str) -> None:
    t = fresh_tenant()
    r = rig.pub("POST", t, "event-tasks", "admin", json=task_body("down", "http_response", SELECTOR,
                                                                  consecutive=2, era=era))
    assert r.status_code == 201, r.text
    task = r.json()
    assert task["measurement"] == "http_response" and "metricGroup" not in task["taskParameters"]
    assert ("monitorType" in task) == (era == "state-change")
    assert rig.pub("GET", t, f"event-tasks/{task['id']}", "admin").json() == task
    [engine] = rig.domain.tasks_for(t, "http_response")
    assert engine["taskParameters"]["metricGroup"] == "http_response"
    assert engine["taskParameters"]["defaultConsecutiveCount"] == 2
    assert engine["taskParameters"]["labelSelector"] == SELECTOR


def test_current_body_is_refused_by_an_older_era(rig: ApiRig, era: str) -> None:
    r = rig.pub("POST", fresh_tenant(), "event-tasks", "admin", json=task_body("down", "net_response", SELECTOR))
    assert r.status_code == 400
    msg = r.json()["message"]
    assert "measurement" in msg and "taskParameters.stateExpressions[0].expression.valueName" in msg


def test_older_era_body_is_refused_by_the_current_era(rig: ApiRig) -> None:
    r = rig.pub("POST", fresh_tenant(), "event-tasks", "admin",
                json=task_body("down", "net_response", SELECTOR, era="kapacitor"))
    assert r.status_code == 400 and "taskParameters.metricGroup" in r.json()["message"]


def test_esper_era_needs_monitor_type_and_scope(rig: ApiRig) -> None:
    rig.ctx.config.event_format = "state-change"
    try:
        body = task_body("down", "net_response", SELECTOR, era="state-change")
        del body["monitorType"]
        body["monitorScope"] = "nowhere"
        r = rig.pub("POST", fresh_tenant(), "event-tasks", "admin", json=body)
        assert r.status_code == 400
        assert r.json()["message"] == "One or more field validations failed: monitorType, monitorScope"
    finally:
        rig.ctx.config.event_format = "notification"
