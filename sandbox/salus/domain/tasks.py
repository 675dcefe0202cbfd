"""Event tasks (EEM ``TasksService``): validation per engine era, CRUD, ``TaskChangeEvent``, and the
per-metric lookup the event engine evaluates."""
from __future__ import annotations

import uuid
from typing import Any

from pydantic import ValidationInfo, field_validator

from .. import task_eras, topics
from ..expressions import state_expression_errors
from ..labels import label_errors
from .core import Core
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


def _text(v: Any) -> bool:
    return isinstance(v, str) and bool(v.strip())


def legacy_parameter_errors(tp: Any, bad: list[str]) -> None:
    """Kapacitor-style parameters: ``*StateDuration`` 1..10, ``stateExpressions`` not empty, and
    comparisons naming their field in ``valueName``."""
    if not isinstance(tp, dict):
        bad.append("taskParameters")
        return
    label_errors(tp.get("labelSelector"), "taskParameters.labelSelector", bad)
    for f in task_eras.DURATIONS:
        v = tp.get(f)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= 10):
            bad.append(f"taskParameters.{f}")
    exprs = tp.get("stateExpressions")
    if not isinstance(exprs, list) or not exprs:
        bad.append("taskParameters.stateExpressions")
        return
    state_expression_errors(exprs, task_eras.LEGACY_STATES, bad, legacy=True)


def _esper_salus(info: ValidationInfo) -> bool:
    """The Esper era's ``SalusTaskCU``: a ``salus`` task also names its monitor type and scope."""
    return (info.context or {}).get("era") == "state-change" and info.data.get("monitoringSystem") == "salus"


class LegacyTaskCreate(Request):
    """``GenericTaskCU`` of both older eras (context ``era``); the Esper era (``state-change``)
    adds ``monitoringSystem`` and, for ``salus``, ``monitorType`` + ``monitorScope``."""

    name: Any = None
    measurement: Any = None
    monitoringSystem: Any = None
    monitorType: Any = None
    monitorScope: Any = None
    taskParameters: Any = None

    _text = rule("name", "measurement", ok=_text, why="required")

    @field_validator("monitoringSystem")
    @classmethod
    def _system(cls, v: Any, info: ValidationInfo) -> Any:
        if (info.context or {}).get("era") == "state-change" and v not in MONITORING_SYSTEMS:
            raise ValueError("a known monitoring system")
        return v

    @field_validator("monitorType")
    @classmethod
    def _monitor_type(cls, v: Any, info: ValidationInfo) -> Any:
        if _esper_salus(info) and not _text(v):
            raise ValueError("required")
        return v

    @field_validator("monitorScope")
    @classmethod
    def _scope(cls, v: Any, info: ValidationInfo) -> Any:
        if _esper_salus(info) and str(v or "").lower() not in task_eras.SCOPES:
            raise ValueError("local or remote")
        return v

    _params = walked("taskParameters", walk=legacy_parameter_errors)


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
        """Each era validates its own body (``sandbox/salus/task_eras.py`` tells them apart)."""
        if self._legacy():
            checked(LegacyTaskCreate, body, context={"era": self.era})
        else:
            checked(TaskCreate, body)

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
