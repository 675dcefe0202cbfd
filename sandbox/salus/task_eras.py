"""Event-task bodies of the two older engine generations (contract §0 table, §6.2).

The sandbox's event topic and format are configurable per era; the task API must then be that
era's too, or a suite aimed at an older deployment would pass here while the real EEM refused its
tasks. Both older generations took ``GenericTaskCU`` (``name``, ``measurement``,
``taskParameters``) with Kapacitor-style parameters — ``stateExpressions`` (not empty) whose
comparisons name the field in ``valueName``, and ``critical/warning/infoStateDuration`` (1–10)
as the consecutive count. The Esper era (Oct 2020 – Feb 2021, ``SalusTaskCU``) adds
``monitoringSystem`` and, for ``salus``, ``monitorType`` + ``monitorScope``. Field names are from
EEM/MODEL history; exact bean-validation messages of those eras are *inferred* (same wording as
today's services).

Their bodies are validated by ``domain.tasks.LegacyTaskCreate``. The sandbox stores such a task
as its era shows it (the DTO) plus, under ``engine``, the current
parameter shape its one event engine evaluates: ``metricGroup`` = ``measurement``,
``defaultConsecutiveCount`` = ``criticalStateDuration``.
"""
from __future__ import annotations

from typing import Any

LEGACY_ERAS = ("kapacitor", "state-change")
LEGACY_STATES = ("CRITICAL", "WARNING", "INFO", "OK")
SCOPES = ("local", "remote")
DURATIONS = ("criticalStateDuration", "warningStateDuration", "infoStateDuration")
#: Both older engines kept one state per resource and monitor: the generated TICKscript grouped
#: by these tags (contract §6.4a), and the Esper era's StateChangeEvent names resource and monitor.
LEGACY_GROUP_BY = ("system_resource_id", "system_monitor_id", "system_monitoring_zone")


def legacy_record(body: dict[str, Any], era: str) -> dict[str, Any]:
    """The stored fields of a valid legacy body: its era's view plus the engine's parameters."""
    tp = dict(body["taskParameters"])
    tp.setdefault("labelSelector", {})
    engine = {"metricGroup": body["measurement"], "labelSelector": tp["labelSelector"] or {},
              "groupBy": list(LEGACY_GROUP_BY), "defaultConsecutiveCount": tp.get("criticalStateDuration") or 1,
              "zoneQuorumCount": 1, "stateExpressions": tp["stateExpressions"]}
    rec: dict[str, Any] = {"name": body["name"], "measurement": body["measurement"], "taskParameters": tp,
                           "engine": engine}
    if era == "state-change":
        rec.update(monitoringSystem=body["monitoringSystem"], monitorType=body.get("monitorType"),
                   monitorScope=body.get("monitorScope"))
    return rec


def dto_keys(era: str) -> list[str]:
    """What the era's ``EventEngineTaskDTO`` shows (without the admin-only fields)."""
    keys = ["id", "name", "measurement", "taskParameters"]
    if era == "state-change":
        keys += ["monitoringSystem", "monitorType", "monitorScope"]
    return [*keys, "createdTimestamp", "updatedTimestamp"]
