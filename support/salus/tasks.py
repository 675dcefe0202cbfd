"""Event tasks (EEM, contract §6.1): the gateway's ``event-tasks`` (EEM ``tasks``), current TaskCU.

Why not Go-e2et's body: it has no ``taskParameters.metricGroup`` and fails validation (400) on the
2021 engine (contract §6.2).
"""
from __future__ import annotations

from typing import Any

from .base import TenantFamily


def comparison(input_: str | dict[str, Any], comparator: str, value: Any) -> dict[str, Any]:
    return {"type": "comparison", "comparator": comparator, "input": input_, "comparisonValue": value}


def task_body(name: str, metric_group: str, label_selector: dict[str, str],
              critical_expression: dict[str, Any] | None = None, consecutive: int = 1,
              group_by: list[str] | None = None) -> dict[str, Any]:
    """TaskCU: CRITICAL when ``critical_expression`` holds (default ``result_code != 0``, a failed
    telegraf check), else OK."""
    critical = critical_expression or comparison("result_code", "!=", 0)
    return {"name": name, "monitoringSystem": "salus",
            "taskParameters": {
                "metricGroup": metric_group, "labelSelector": label_selector, "groupBy": group_by or [],
                "defaultConsecutiveCount": consecutive, "zoneQuorumCount": 1,
                "stateExpressions": [
                    {"state": "CRITICAL", "message": f"{metric_group} check failed", "expression": critical},
                    {"state": "OK", "message": f"{metric_group} check passed",
                     "expression": comparison("result_code", "==", 0)}]}}


def failure_task(name: str, metric_group: str, selector: dict[str, str], group_by: list[str]) -> dict[str, Any]:
    """The suite's standard task: CRITICAL for a failed check of the selected resource."""
    return task_body(name, metric_group, selector, group_by=group_by)


class Tasks(TenantFamily):
    def list(self) -> list[dict[str, Any]]:
        return list(self._pages("event-tasks"))

    def get(self, task_id: str) -> dict[str, Any] | None:
        return self.api.get(self._t(f"event-tasks/{task_id}"), expect=(200, 404))

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.api.post(self._t("event-tasks"), body, expect=(201,), what="creating an event task")

    def delete(self, task_id: str) -> None:
        self.api.delete(self._t(f"event-tasks/{task_id}"), expect=(204, 404))
