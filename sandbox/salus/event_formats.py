"""The three event formats the engine can publish, one per engine generation (contract §6.4)."""
from __future__ import annotations

import json
import uuid
from typing import Any

from . import topics
from .task_eras import LEGACY_GROUP_BY
from .umf import MetricGroup, parse_ts

_FIVE_MINUTES = 300


def epoch_of(ts: str) -> int:
    return int(parse_ts(ts).timestamp())


def build_notification(tenant: str, task: dict[str, Any], g: MetricGroup, state: str, previous: str | None,
                       message: str | None, observations: list[dict[str, Any]],
                       group_by: list[str]) -> dict[str, Any]:
    """EventNotification (contract §6.4c): the id is deterministic per 5-minute window and state."""
    epoch = epoch_of(g.timestamp)
    grouping = [{k: g.labels.get(k)} for k in group_by]
    id_parts = [tenant, *(str(g.labels.get(k)) for k in group_by), str(task["id"]),
                str(epoch - epoch % _FIVE_MINUTES), state]
    return {"id": ":".join(id_parts), "tenantId": tenant, "timestamp": g.timestamp, "taskId": str(task["id"]),
            "state": state, "previousState": previous, "observations": observations, "message": message,
            "metricGroup": g.group, "metrics": dict(g.values), "groupingLabels": grouping,
            "labels": dict(g.labels)}


def build_state_change(tenant: str, task: dict[str, Any], g: MetricGroup, state: str, previous: str | None,
                       message: str | None) -> dict[str, Any]:
    """StateChangeEvent of the Esper era (contract §6.4b)."""
    contributing = [{"timestamp": g.timestamp, "metricGroup": g.group, "metrics": g.values, "labels": g.labels}]
    return {"id": str(uuid.uuid4()), "tenantId": tenant, "resourceId": g.labels.get("system_resource_id"),
            "monitorId": g.labels.get("system_monitor_id"), "taskId": str(task["id"]), "state": state,
            "previousState": previous, "message": message,
            "contributingEvents": json.dumps(contributing, separators=(",", ":")),
            "evaluationTimestamp": g.timestamp}


def build_kapacitor(tenant: str, task: dict[str, Any], g: MetricGroup, state: str, previous: str | None,
                    message: str | None, group_by: list[str], duration_ns: int) -> dict[str, Any]:
    """Kapacitor Kafka-handler alert (contract §6.4a); ``.Group`` is Kapacitor's ``k=v,...`` string."""
    kap_task = f"{tenant}-{g.group}-{task['id']}"
    dims = sorted(k for k in (group_by or LEGACY_GROUP_BY) if k in g.labels)
    group = ",".join(f"{k}={g.labels.get(k, '')}" for k in dims) or "nil"
    columns = ["time", *sorted(g.values)]
    return {"id": f"{kap_task}:{group}", "message": message or f"{kap_task}:{group} is {state}",
            "details": f"task={kap_task}", "time": g.timestamp, "duration": duration_ns, "level": state,
            "previousLevel": previous or "OK",
            "data": {"series": [{"name": g.group, "tags": dict(g.labels), "columns": columns,
                                 "values": [[g.timestamp, *(g.values[c] for c in columns[1:])]]}]},
            "recoverable": True}


def build_event(fmt: str, task: dict[str, Any], g: MetricGroup, state: str, previous: str | None,
                message: str | None, observations: list[dict[str, Any]], group_by: list[str],
                duration_ns: int) -> tuple[dict[str, Any], str | None]:
    """``(event, Spring type id)`` in the era's format (Kapacitor's alerts carry no type id)."""
    if fmt == "state-change":
        return (build_state_change(g.tenant, task, g, state, previous, message),
                topics.TYPE_IDS["StateChangeEvent"])
    if fmt == "kapacitor":
        return build_kapacitor(g.tenant, task, g, state, previous, message, group_by, duration_ns), None
    return (build_notification(g.tenant, task, g, state, previous, message, observations, group_by),
            topics.TYPE_IDS["EventNotification"])
