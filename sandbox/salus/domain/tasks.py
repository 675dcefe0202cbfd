"""Event tasks (EEM ``TasksService``): validation per engine era, CRUD, ``TaskChangeEvent``, and the
per-metric lookup the event engine evaluates."""
from __future__ import annotations

import uuid
from typing import Any

from .. import task_eras, topics
from ..expressions import state_expression_errors
from ..labels import label_errors
from .core import Core
from .errors import validation_failed
from .requests import Request, checked, rule, walked
from .values import now_iso

MONITORING_SYSTEMS = {"salus", "maas", "uim", "scom", "zenoss", "unrecognized"}
STATES = ("CRITICAL", "WARNING", "OK")
#: ``EventEngineTaskParameters`` properties, and EEM's defaults for the ones left out.
PARAMS = ("metricGroup", "labelSelector", "groupBy", "messageTemplate", "defaultConsecutiveCount",
          "zoneQuorumCount", "zoneLabel", "stateExpressions")
DEFAULTS = (("labelSelector", {}), ("groupBy", []), ("defaultConsecutiveCount", 1), ("zoneQuorumCount", 1),
            ("stateExpressions", []))


def parameter_errors(tp: Any, bad: list[str]) -> None:
    """``EventEngineTaskParameters``: ``metricGroup`` required (validation groups extend ``Default``,
    so the nested ``@NotBlank`` is enforced), counts ≥ 1, the state-expression trees (§6.1)."""
    if not isinstance(tp, dict):
        bad.append("taskParameters")
        return
    if not isinstance(tp.get("metricGroup"), str) or not tp["metricGroup"].strip():
        bad.append("taskParameters.metricGroup")
    label_errors(tp.get("labelSelector"), "taskParameters.labelSelector", bad)
    for f in ("defaultConsecutiveCount", "zoneQuorumCount"):
        if tp.get(f) is not None and (not isinstance(tp[f], int) or isinstance(tp[f], bool) or tp[f] < 1):
            bad.append(f"taskParameters.{f}")
    exprs = tp.get("stateExpressions") or []
    if not isinstance(exprs, list):
        bad.append("taskParameters.stateExpressions")
        exprs = []
    state_expression_errors(exprs, STATES, bad)


class TaskCreate(Request):
    """EEM ``TaskCU``; unknown properties (the stale Go-e2et ``measurement``, ``monitorType``,
    ``metricName``) are ignored by Jackson, so they fail as missing fields."""

    name: Any = None
    monitoringSystem: Any = None
    taskParameters: Any = None

    _name = rule("name", ok=bool, why="required")
    _system = rule("monitoringSystem", ok=lambda v: v in MONITORING_SYSTEMS, why="a known monitoring system")
    _params = walked("taskParameters", walk=parameter_errors)


def task_params(tp: dict[str, Any]) -> dict[str, Any]:
    """Only the ``EventEngineTaskParameters`` properties, with EEM's defaults."""
    out = {k: tp.get(k) for k in PARAMS}
    for k, default in DEFAULTS:
        if out[k] is None:
            out[k] = default
    return out


class Tasks:
    def __init__(self, core: Core) -> None:
        self.core = core
        self.store = core.store

    @property
    def era(self) -> str:
        """The event-engine generation the sandbox plays (its event format): tasks follow it too."""
        return self.core.cfg.event_format

    def _legacy(self) -> bool:
        return self.era in task_eras.LEGACY_ERAS

    def _validate(self, body: dict[str, Any]) -> None:
        """An older era validates its own body (``sandbox/salus/task_eras.py``)."""
        if not self._legacy():
            checked(TaskCreate, body)
            return
        bad = task_eras.legacy_errors(body, self.era, MONITORING_SYSTEMS)
        if bad:
            raise validation_failed(bad)

    def _fields(self, body: dict[str, Any]) -> dict[str, Any]:
        """The stored fields of a validated body, in the sandbox's era."""
        if self._legacy():
            return task_eras.legacy_record(body, self.era)
        return {"name": body["name"], "taskParameters": task_params(body["taskParameters"]),
                "monitoringSystem": body["monitoringSystem"]}

    def dto(self, t: dict[str, Any], admin: bool = False) -> dict[str, Any]:
        """``EventEngineTaskDTO`` of the era (the admin view adds ``tenantId`` and ``partitionId``)."""
        keys = (task_eras.dto_keys(self.era) if self._legacy() else
                ["id", "name", "taskParameters", "monitoringSystem", "createdTimestamp", "updatedTimestamp"])
        if admin:
            keys += ["tenantId", "partitionId"]
        return {k: t.get(k) for k in keys}

    def list(self, tenant: str) -> list[dict[str, Any]]:
        return [self.dto(t) for t in self.store.list("task", tenant)]

    def create(self, tenant: str, body: dict[str, Any]) -> dict[str, Any]:
        self._validate(body)
        ts = now_iso()
        t = {"id": str(uuid.uuid4()), "tenantId": tenant, **self._fields(body), "partitionId": 0,
             "createdTimestamp": ts, "updatedTimestamp": ts}
        self.store.put("task", t["id"], tenant, t)
        self._changed(tenant, t["id"])
        return self.dto(t)

    def _changed(self, tenant: str, tid: str) -> None:
        self.core.publish(topics.TASK_CHANGES, f"{tenant}:{tid}", {"tenantId": tenant, "taskId": tid},
                          "TaskChangeEvent")
        self.core.changed("tasks", tenant)

    def get(self, tenant: str, tid: str) -> dict[str, Any]:
        return self.dto(self.core.must("task", tid, tenant, "Event task"))

    def update(self, tenant: str, tid: str, body: dict[str, Any]) -> dict[str, Any]:
        t = self.core.must("task", tid, tenant, "Event task")
        self._validate(body)
        t.update(self._fields(body), updatedTimestamp=now_iso())
        self.store.put("task", tid, tenant, t)
        self._changed(tenant, tid)
        return self.dto(t)

    def delete(self, tenant: str, tid: str) -> None:
        self.core.must("task", tid, tenant, "Event task")
        self.store.delete("task", tid)
        self._changed(tenant, tid)

    def for_metric_group(self, tenant_id: str, metric_group: str) -> list[dict[str, Any]]:
        """The tenant's tasks for one metric group, with the parameters the engine evaluates
        (an older era's task carries them converted under ``engine``)."""
        out = []
        for t in self.store.list("task", tenant_id):
            params = t.get("engine") or t["taskParameters"]
            if params.get("metricGroup") == metric_group:
                out.append({**self.dto(t, admin=True), "taskParameters": params})
        return out

    def drop_tenant(self, tenant: str) -> None:
        for t in self.store.list("task", tenant):
            self.delete(tenant, t["id"])
