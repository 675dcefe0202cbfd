"""Monitors (MM ``MonitorManagement``): validation of ``DetailedMonitorInput``, CRUD, JSON patch,
and the ``MonitorChangeEvent`` + rebinding after every change."""
from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from pydantic import ValidationInfo, field_validator

from .. import topics
from ..labels import label_errors
from .core import Core
from .errors import BadRequest, DeletionNotAllowed
from .requests import Request, checked, rule, walked
from .values import duration_seconds, iso_duration, now_iso

REMOTE_PLUGINS = {"dns", "http", "mysql", "net_response", "ping", "postgresql", "smtp", "sqlserver", "ssl"}
LOCAL_PLUGINS = {"apache", "cpu", "disk", "diskio", "mem", "mysql", "net", "oracle_dataguard", "oracle_rman",
                 "oracle_tablespace", "packages", "postgresql", "procstat", "redis", "sqlserver", "system"}
#: What a monitor body may set (everything else of the DTO is the service's).
BODY_FIELDS = ("name", "labelSelector", "labelSelectorMethod", "resourceId", "excludedResourceIds", "metadata",
               "interval", "details")


def summary(plugin: dict[str, Any]) -> dict[str, str]:
    """MM's ``@SummaryField`` values of the plugin (what the UI lists)."""
    return {k: str(v) for k, v in plugin.items() if k in ("url", "host", "port", "protocol") and v is not None}


def dto(m: dict[str, Any], admin: bool = False) -> dict[str, Any]:
    """``DetailedMonitorOutput`` (the admin view adds ``policyId`` and ``tenantId``)."""
    keys = ["id", "name", "labelSelector", "labelSelectorMethod", "resourceId", "excludedResourceIds",
            "metadata", "interval", "details", "policy", "summary", "createdTimestamp", "updatedTimestamp"]
    if admin:
        keys += ["policyId", "tenantId"]
    return {k: m.get(k) for k in keys}


def details_errors(details: Any, bad: list[str]) -> None:
    """``details`` polymorphic on ``type`` (local/remote), its plugin on the plugin ``type`` (§9)."""
    if not isinstance(details, dict) or details.get("type") not in ("local", "remote"):
        bad.append("details")
        return
    plugin = details.get("plugin") or {}
    allowed = REMOTE_PLUGINS if details["type"] == "remote" else LOCAL_PLUGINS
    if plugin.get("type") not in allowed:
        bad.append("details.plugin")
    elif plugin["type"] == "net_response":
        try:
            port = int(plugin.get("port"))
        except (TypeError, ValueError):
            port = 0
        if not plugin.get("host"):
            bad.append("details.plugin.host")
        if not 1 <= port <= 65535:
            bad.append("details.plugin.port")
    elif plugin["type"] == "http" and not plugin.get("url"):
        bad.append("details.plugin.url")


def _interval_ok(cls: type, value: Any, info: ValidationInfo) -> Any:
    """An ISO-8601 duration of at least the configured minimum (absent: the default PT1M)."""
    if value is not None:
        try:
            ok = duration_seconds(value, "interval") >= (info.context or {}).get("min_interval", 0)
        except BadRequest:
            ok = False
        if not ok:
            raise ValueError("an ISO-8601 duration of at least the minimum interval")
    return value


class MonitorInput(Request):
    """``DetailedMonitorInput`` (the class-level one-of check is made by the caller: it comes first)."""

    resourceId: Any = None
    excludedResourceIds: Any = None
    labelSelector: Any = None
    labelSelectorMethod: Any = None
    details: Any = None
    interval: Any = None

    @field_validator("excludedResourceIds")
    @classmethod
    def _excluded(cls, value: Any, info: ValidationInfo) -> Any:
        if value and info.data.get("resourceId"):
            raise ValueError("excludedResourceIds and resourceId are mutually exclusive")
        return value

    _labels = walked("labelSelector", walk=lambda v, bad: label_errors(v, "labelSelector", bad))
    _method = rule("labelSelectorMethod", ok=lambda v: v in (None, "AND", "OR"), why="AND or OR")
    _details = walked("details", walk=details_errors)
    _interval = field_validator("interval")(_interval_ok)


class Monitors:
    def __init__(self, core: Core, zone_exists: Callable[[str, str], bool], rebind: Callable[[str], None]) -> None:
        self.core = core
        self.store = core.store
        self._zone_exists = zone_exists
        self._rebind = rebind

    def public_zone_names(self) -> list[str]:
        return [z.name for z in self.core.cfg.public_zones]

    def validate(self, tenant: str | None, body: dict[str, Any]) -> dict[str, Any]:
        """Bean validation of ``DetailedMonitorInput`` (400 naming every failure), then the zones a
        remote monitor names must exist for the tenant; returns the plugin."""
        has_sel, has_rid = body.get("labelSelector") is not None, bool(body.get("resourceId"))
        # class-level @ValidCreateMonitor: reported on the object, not on a field, and first
        first = ["detailedMonitorInput (exactly one of labelSelector or resourceId)"] if has_sel == has_rid else []
        checked(MonitorInput, body, first, context={"min_interval": self.core.cfg.min_monitor_interval})
        details = body["details"]
        if details["type"] == "remote" and tenant is not None:
            zones = details.get("monitoringZones") or self.public_zone_names()
            if any(not self._zone_exists(tenant, z) for z in zones):
                raise BadRequest("Invalid zone(s) provided")
        return details.get("plugin") or {}

    def _changed(self, tenant: str, mid: str) -> None:
        self.core.publish(topics.MONITOR_CHANGES, f"{tenant}:{mid}", {"tenantId": tenant, "monitorId": mid},
                          "MonitorChangeEvent")
        self._rebind(tenant)

    def new(self, tenant: str, body: dict[str, Any], policy_id: str | None = None) -> dict[str, Any]:
        """Create a monitor (a policy's clone when ``policy_id``); remote without zones → all public zones."""
        plugin = self.validate(tenant, body)
        ts = now_iso()
        details = json.loads(json.dumps(body["details"]))
        if details["type"] == "remote" and not details.get("monitoringZones"):
            details["monitoringZones"] = self.public_zone_names()
        m = {"id": str(uuid.uuid4()), "tenantId": tenant, "name": body.get("name"),
             "labelSelector": body.get("labelSelector"),
             "labelSelectorMethod": body.get("labelSelectorMethod") or "AND",
             "resourceId": body.get("resourceId"), "excludedResourceIds": body.get("excludedResourceIds"),
             "metadata": body.get("metadata") or {},
             "interval": iso_duration(duration_seconds(body.get("interval") or "PT1M", "interval")),
             "details": details, "policy": policy_id is not None, "policyId": policy_id,
             "summary": summary(plugin),
             "createdTimestamp": ts, "updatedTimestamp": ts}
        self.store.put("monitor", m["id"], tenant, m)
        self._changed(tenant, m["id"])
        return m

    def list(self, tenant: str | None, admin: bool = False) -> list[dict[str, Any]]:
        return [dto(m, admin) for m in self.store.list("monitor", tenant)]

    def create(self, tenant: str, body: dict[str, Any]) -> dict[str, Any]:
        return dto(self.new(tenant, body))

    def get(self, tenant: str, mid: str) -> dict[str, Any]:
        return dto(self.core.must("monitor", mid, tenant, "Monitor"))

    def update(self, tenant: str, mid: str, body: dict[str, Any]) -> dict[str, Any]:
        """PUT: non-null fields replace the stored ones (MM ignores nulls); switching between
        ``resourceId`` and ``labelSelector`` clears the other."""
        m = self.core.must("monitor", mid, tenant, "Monitor")
        changes = {k: v for k, v in body.items() if v is not None}
        if changes.get("resourceId"):
            changes.setdefault("labelSelector", None)
            m["labelSelector"] = None
        elif "labelSelector" in changes:
            m["resourceId"] = None
        return self._save(tenant, m, changes)

    def patch(self, tenant: str, mid: str, ops: Any) -> dict[str, Any]:
        """JSON-patch (RFC 6902 add/replace/remove on top-level and nested keys), as MM's PATCH."""
        m = self.core.must("monitor", mid, tenant, "Monitor")
        doc = json.loads(json.dumps(dto(m)))
        if not isinstance(ops, list):
            raise BadRequest("JSON parse error: a JSON patch must be an array of operations")
        for op in ops:
            parts = [x.replace("~1", "/").replace("~0", "~") for x in str(op.get("path", "")).split("/")[1:]]
            if not parts or op.get("op") not in ("add", "replace", "remove"):
                raise BadRequest(f"Unsupported JSON patch operation: {op}")
            target = doc
            for key in parts[:-1]:
                target = target.setdefault(key, {}) if isinstance(target, dict) else target[int(key)]
            if op["op"] == "remove":
                target.pop(parts[-1], None) if isinstance(target, dict) else target.pop(int(parts[-1]))
            elif isinstance(target, dict):
                target[parts[-1]] = op.get("value")
            else:
                target.insert(len(target) if parts[-1] == "-" else int(parts[-1]), op.get("value"))
        if m.get("policy"):
            raise BadRequest("Policy monitors cannot be updated by tenants")
        return self._save(tenant, m, {k: doc.get(k) for k in BODY_FIELDS})

    def _save(self, tenant: str, m: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        if m.get("policy"):
            raise BadRequest("Policy monitors cannot be updated by tenants")
        merged = {**m, **changes}
        plugin = self.validate(tenant, merged)
        merged["interval"] = iso_duration(duration_seconds(merged.get("interval") or "PT1M", "interval"))
        merged["summary"] = summary(plugin)
        merged["updatedTimestamp"] = now_iso()
        self.store.put("monitor", m["id"], tenant, merged)
        self._changed(tenant, m["id"])
        return dto(merged)

    def delete(self, tenant: str, mid: str, allow_policy: bool = False) -> None:
        """Tenants may not delete policy clones (``allow_policy`` is for the policy engine itself)."""
        m = self.core.must("monitor", mid, tenant, "Monitor")
        if m.get("policy") and not allow_policy:
            raise DeletionNotAllowed("Policy monitors cannot be deleted by tenants")
        self.store.delete("monitor", mid)
        self._changed(tenant, mid)

    def drop_tenant(self, tenant: str) -> None:
        for m in self.store.list("monitor", tenant):
            self.delete(tenant, m["id"], allow_policy=True)
