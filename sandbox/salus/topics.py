"""Kafka topic names and message-key rules of the real Salus (contract §4.1).

Kept in one place so the sandbox's producers, its consumers and its tests agree.
"""
from __future__ import annotations

METRICS = "telemetry.metrics.json"
LOGS = "telemetry.logs.json"
ATTACHES = "telemetry.attaches.json"
RESOURCES = "telemetry.resources.json"
INSTALLS = "telemetry.installs.json"
MONITORS = "telemetry.monitors.json"
MONITOR_CHANGES = "telemetry.monitor-changes.json"
TASK_CHANGES = "telemetry.task-changes.json"
ZONES = "telemetry.zones.json"
POLICIES = "telemetry.policies.json"

#: Event-output topics by generation (contract §0 / §6.4).
EVENTS_KAPACITOR = "salus.events.json"
EVENTS_STATE_CHANGE = "salus.state-change-events.json"
EVENTS_NOTIFICATIONS = "salus.event-notifications.json"

ALL_TOPICS = [
    METRICS, LOGS, ATTACHES, RESOURCES, INSTALLS, MONITORS, MONITOR_CHANGES,
    TASK_CHANGES, ZONES, POLICIES, EVENTS_KAPACITOR, EVENTS_STATE_CHANGE, EVENTS_NOTIFICATIONS,
]

#: Production-like partition count: at least 3 so nothing passes by landing on partition 0.
DEFAULT_PARTITIONS = 6

#: Spring JsonSerializer type-id header values (contract §4.1: consumers rely on __TypeId__).
TYPE_IDS = {
    "AttachEvent": "com.rackspace.salus.telemetry.messaging.AttachEvent",
    "ResourceEvent": "com.rackspace.salus.telemetry.messaging.ResourceEvent",
    "AgentInstallChangeEvent": "com.rackspace.salus.telemetry.messaging.AgentInstallChangeEvent",
    "MonitorBoundEvent": "com.rackspace.salus.telemetry.messaging.MonitorBoundEvent",
    "MonitorChangeEvent": "com.rackspace.salus.telemetry.messaging.MonitorChangeEvent",
    "TaskChangeEvent": "com.rackspace.salus.telemetry.messaging.TaskChangeEvent",
    "EventNotification": "com.rackspace.salus.telemetry.messaging.EventNotification",
    "StateChangeEvent": "com.rackspace.salus.telemetry.messaging.StateChangeEvent",
}


def metric_key(tenant_id: str, resource_id: str, measurement: str) -> str:
    """Ambassador metric key: the one comma-joined exception (contract §4.1)."""
    return f"{tenant_id},{resource_id},{measurement}"
