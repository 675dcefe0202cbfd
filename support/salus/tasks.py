"""Event tasks (EEM, contract §6.1): the gateway's ``event-tasks`` (EEM ``tasks``).

The body follows the deployed engine generation (``events.format``, contract §0): the current
TaskCU (``taskParameters.metricGroup``, comparisons on ``input``) by default; for the Kapacitor
and Esper eras the older ``GenericTaskCU`` (``measurement``, comparisons on ``valueName``,
``criticalStateDuration``), the Esper one with ``monitoringSystem``/``monitorType``/``monitorScope``.
Why not Go-e2et's body: it has no ``taskParameters.metricGroup`` and fails validation (400) on the
2021 engine, and its ``metricName`` predates even the older eras' ``valueName`` (contract §6.2).
"""
from __future__ import annotations

import builtins
from typing import Any

from .base import TenantFamily

CURRENT_ERA = "notification"
#: Telegraf measurement → the older eras' ``monitorType`` (MODEL MonitorType: ``http``, not ``http_response``).
MONITOR_TYPES = {"http_response": "http"}


def comparison(input_: str | dict[str, Any], comparator: str, value: Any, era: str = CURRENT_ERA) -> dict[str, Any]:
    """A comparison on a metric field: ``input`` today, ``valueName`` in the older eras."""
    field = "input" if era == CURRENT_ERA else "valueName"
    return {"type": "comparison", "comparator": comparator, field: input_, "comparisonValue": value}


def task_body(name: str, metric_group: str, label_selector: dict[str, str],
              critical_expression: dict[str, Any] | None = None, consecutive: int = 1,
              group_by: list[str] | None = None, era: str = CURRENT_ERA) -> dict[str, Any]:
    """CRITICAL when ``critical_expression`` holds (default ``result_code != 0``, a failed
    telegraf check), else OK — in the body the ``era``'s engine accepts."""
    critical = critical_expression or comparison("result_code", "!=", 0, era)
    if era != CURRENT_ERA:
        return legacy_task_body(name, metric_group, label_selector, critical, consecutive, era)
    return {"name": name, "monitoringSystem": "salus",
            "taskParameters": {
                "metricGroup": metric_group, "labelSelector": label_selector, "groupBy": group_by or [],
                "defaultConsecutiveCount": consecutive, "zoneQuorumCount": 1,
                "stateExpressions": [
                    {"state": "CRITICAL", "message": f"{metric_group} check failed", "expression": critical},
                    {"state": "OK", "message": f"{metric_group} check passed",
                     "expression": comparison("result_code", "==", 0)}]}}


def legacy_task_body(name: str, metric_group: str, label_selector: dict[str, str], critical: dict[str, Any],
                     consecutive: int, era: str) -> dict[str, Any]:
    """``GenericTaskCU`` of the Kapacitor era; the Esper era's ``SalusTaskCU`` adds the monitor
    type and scope. No OK expression: both engines report OK when no expression holds."""
    body: dict[str, Any] = {
        "name": name, "measurement": metric_group,
        "taskParameters": {"labelSelector": label_selector, "criticalStateDuration": consecutive,
                           "stateExpressions": [{"state": "CRITICAL", "message": f"{metric_group} check failed",
                                                 "expression": critical}]}}
    if era == "state-change":
        body.update(monitoringSystem="salus", monitorType=MONITOR_TYPES.get(metric_group, metric_group),
                    monitorScope="remote")
    return body


def failure_task(name: str, metric_group: str, selector: dict[str, str], group_by: list[str],
                 era: str = CURRENT_ERA) -> dict[str, Any]:
    """The suite's standard task: CRITICAL for a failed check of the selected resource."""
    return task_body(name, metric_group, selector, group_by=group_by, era=era)


class Tasks(TenantFamily):
    def list(self) -> builtins.list[dict[str, Any]]:
        return list(self._pages("event-tasks"))

    def get(self, task_id: str) -> dict[str, Any] | None:
        return self.api.get(self._t(f"event-tasks/{task_id}"), expect=(200, 404))

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.api.post(self._t("event-tasks"), body, expect=(201,), what="creating an event task")

    def delete(self, task_id: str) -> None:
        self.api.delete(self._t(f"event-tasks/{task_id}"), expect=(204, 404))
