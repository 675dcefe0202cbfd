"""Salus's messages on Kafka: the event eras, UMF metrics and attach events, each as one view.

Why here and not in support/kafka.py: the watcher is generic (any pack may watch topics); what a
Salus record looks like — three event-engine generations (contract §6.4), Universal Metric Format
flattened per metric — is this pack's knowledge.
"""
from __future__ import annotations

from typing import Any

from ..kafka import Normaliser, TopicWatcher
from ..matching import expect
from .settings import SalusSettings


def watcher(settings: SalusSettings, kind: str, tenant_id: str | None, connect_timeout: float = 10.0) -> TopicWatcher:
    """A watcher of one Salus topic (``events``, ``metrics`` or ``attaches``) normalised to its view."""
    topics = {"events": (settings.events.topic, normalise_event(settings.events.format)),
              "metrics": (settings.topics.metrics, normalise_umf),
              "attaches": (settings.topics.attaches, None)}
    try:
        topic, norm = topics[kind]
    except KeyError:
        raise ValueError(f"unknown Salus topic kind {kind!r} (events, metrics, attaches)") from None
    return TopicWatcher(settings.kafka, topic, tenant_id, norm, timeout=settings.events.timeout,
                        connect_timeout=connect_timeout)


def wait_for_metric(w: TopicWatcher, resource_id: str, group: str, name: str, value: Any = None,
                    timeout: float | None = None) -> dict[str, Any]:
    fields: dict[str, Any] = {"resourceId": resource_id, "group": group, "name": name}
    if w.tenant_id:
        fields["tenantId"] = w.tenant_id
    if value is not None:
        fields["value"] = str(value)
    return w.wait_for(expect(f"{group}.{name} metric", **fields), timeout)


# ----------------------------------------------------------------------------- normalisers
def normalise_event(fmt: str) -> Normaliser:
    """One view of the three event eras (contract §6.4): tenantId, resourceId, monitorId, taskId,
    metricGroup, state, previousState, id, timestamp (of the metric judged) — plus ``raw``, so steps
    match on one shape."""
    def notification(m: dict[str, Any]) -> list[dict[str, Any]]:
        labels = m.get("labels") or {}
        return [{"tenantId": m.get("tenantId"), "resourceId": labels.get("system_resource_id"),
                 "monitorId": labels.get("system_monitor_id"), "taskId": m.get("taskId"),
                 "metricGroup": m.get("metricGroup"), "state": m.get("state"),
                 "previousState": m.get("previousState"), "id": m.get("id"), "timestamp": m.get("timestamp"),
                 "raw": m}]

    def state_change(m: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"tenantId": m.get("tenantId"), "resourceId": m.get("resourceId"), "monitorId": m.get("monitorId"),
                 "taskId": m.get("taskId"), "metricGroup": m.get("metricGroup"), "state": m.get("state"),
                 "previousState": m.get("previousState"), "id": m.get("id"),
                 "timestamp": m.get("evaluationTimestamp"), "raw": m}]

    def kapacitor(m: dict[str, Any]) -> list[dict[str, Any]]:
        series = ((m.get("data") or {}).get("series") or [{}])[0]
        tags = series.get("tags") or {}
        task = str(m.get("details") or "").removeprefix("task=")
        # kapacitorTaskId = <tenant>-<measurement>-<uuid>; tenant ids never contain "-"
        tenant = tags.get("tenantId") or (task.split("-", 1)[0] if task else None)
        return [{"tenantId": tenant, "resourceId": tags.get("system_resource_id"),
                 "monitorId": tags.get("system_monitor_id"), "taskId": task or None,
                 "metricGroup": series.get("name"), "state": m.get("level"), "previousState": m.get("previousLevel"),
                 "id": m.get("id"), "timestamp": m.get("time"), "raw": m}]

    try:
        return {"notification": notification, "state-change": state_change, "kapacitor": kapacitor}[fmt]
    except KeyError:
        raise ValueError(f"unknown event format {fmt!r} (notification, state-change, kapacitor)") from None


def normalise_umf(m: dict[str, Any]) -> list[dict[str, Any]]:
    """One record per UMF metric: tenantId, resourceId, monitorId, envoyId, group, name, int/float/
    string, value (as string, whichever was set), labels (deviceMetadata), metadata (metric tags)."""
    system = m.get("systemMetadata") or {}
    device = str(m.get("device") or "")
    tenant = str(m.get("tenantId") or "")
    # device is "tenant:resource" and tenant ids may hold a colon themselves ("hybrid:123")
    resource = system.get("resource_id") or (device[len(tenant) + 1:] if tenant and device.startswith(tenant + ":")
                                             else device.split(":", 1)[1] if ":" in device else None)
    out = []
    for metric in m.get("metrics") or []:
        value = next((metric[k] for k in ("int", "float", "string", "bool") if k in metric), None)
        out.append({"tenantId": m.get("tenantId"), "resourceId": resource, "envoyId": system.get("envoy_id"),
                    "monitorId": system.get("monitor_id"), "zone": system.get("monitoring_zone_id"),
                    "group": metric.get("group"), "name": metric.get("name"), "timestamp": metric.get("timestamp"),
                    "int": metric.get("int"),
                    "float": metric.get("float"), "string": metric.get("string"), "value": str(value),
                    "labels": m.get("deviceMetadata") or {}, "metadata": metric.get("metadata") or {}})
    return out
