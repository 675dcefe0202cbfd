"""Bound monitors (MM ``BoundMonitor``): which envoy runs which monitor for which resource, the
telegraf config it gets, and the ``MonitorBoundEvent`` when an envoy's bindings change."""
from __future__ import annotations

import json
import re
import threading
from typing import Any

from .. import faults as F
from .. import topics
from ..interfaces import AttachedEnvoy
from ..labels import selector_matches
from .attachments import EnvoyRegistry
from .core import Core
from .values import duration_seconds


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _seconds(value: Any, default: int) -> str:
    return f"{duration_seconds(value, 'timeout') if value is not None else default}s"


def render(plugin: dict[str, Any], drop_url: bool = False) -> str:
    """The telegraf input config MM's monitor translations produce (contract §9): type renamed
    (``http`` → ``http_response``), host+port → ``address``, ISO durations → ``"<n>s"``, and every
    other field set on the plugin in snake_case."""
    ptype = plugin.get("type")
    rest = {k: v for k, v in plugin.items() if k != "type" and v is not None}
    if ptype == "net_response":
        out: dict[str, Any] = {"type": "net_response", "protocol": rest.pop("protocol", None) or "tcp",
                               "address": f"{rest.pop('host')}:{int(rest.pop('port'))}",
                               "timeout": _seconds(rest.pop("timeout", None), 1)}
        if "readTimeout" in rest:
            out["read_timeout"] = _seconds(rest.pop("readTimeout"), 1)
    elif ptype == "http":
        url = rest.pop("url")
        out = {"type": "http_response", "urls": [] if drop_url else [url], "method": rest.pop("method", None) or "GET",
               "response_timeout": _seconds(rest.pop("timeout", None), 5),
               "follow_redirects": bool(rest.pop("followRedirects", False))}
    else:
        out = {"type": ptype}
    out.update({_snake(k): v for k, v in rest.items()})
    return json.dumps(out)


class Bindings:
    def __init__(self, core: Core, registry: EnvoyRegistry) -> None:
        self.core = core
        self.store = core.store
        self.registry = registry
        self._lock = threading.Lock()
        self._last: dict[str, frozenset] = {}

    def _selected_resources(self, m: dict[str, Any]) -> list[dict[str, Any]]:
        resources = self.store.list("resource", m["tenantId"])
        if m.get("resourceId"):
            return [r for r in resources if r["resourceId"] == m["resourceId"]]
        excluded = set(m.get("excludedResourceIds") or [])
        method = "OR" if self._fault(F.SELECTOR_OVERBINDS) else m.get("labelSelectorMethod")
        return [r for r in resources if r["resourceId"] not in excluded
                and selector_matches(m.get("labelSelector") or {}, r["labels"], method)]

    def _fault(self, name: str) -> bool:
        faults = getattr(self.core.ctx, "faults", None)
        return bool(faults and faults.active(name))

    def _poller_for(self, tenant: str, zone: str) -> AttachedEnvoy | None:
        """The zone's poller: the lowest-id envoy attached to it (public zones: the poller tenant's)."""
        owner = self.core.cfg.public_zone_tenant if zone.startswith("public/") else tenant
        candidates = [e for e in self.registry.all() if e.zone == zone and e.tenant_id == owner]
        if self._fault(F.WRONG_POLLER):      # an envoy of another zone that can run the check
            candidates = [e for e in self.registry.all() if e.zone and e.zone != zone
                          and "TELEGRAF" in e.installed_agents]
        return sorted(candidates, key=lambda e: e.envoy_id)[0] if candidates else None

    def all(self, tenant: str | None = None) -> list[dict[str, Any]]:
        """``BoundMonitorDTO``s in the admin view (with ``tenantId``, ``envoyId``, ``pollerResourceId``)."""
        out = []
        for m in self.store.list("monitor", tenant):
            details = m["details"]
            plugin = details.get("plugin") or {}
            for r in self._selected_resources(m):
                base = {"monitorId": m["id"], "monitorType": plugin.get("type"), "monitorName": m.get("name"),
                        "monitorSummary": m.get("summary"), "resourceId": r["resourceId"],
                        "interval": m["interval"], "agentType": "TELEGRAF",
                        "renderedContent": render(plugin, drop_url=self._fault(F.HTTP_URL_IGNORED)),
                        "tenantId": m["tenantId"],
                        "createdTimestamp": m["createdTimestamp"], "updatedTimestamp": m["updatedTimestamp"]}
                if details["type"] == "local":
                    envoy_id = self.registry.active_envoy_id(m["tenantId"], r["resourceId"])
                    out.append({**base, "selectorScope": "local", "zoneName": None, "envoyId": envoy_id,
                                "pollerResourceId": None})
                    continue
                for zone in details.get("monitoringZones") or []:
                    poller = self._poller_for(m["tenantId"], zone)
                    out.append({**base, "selectorScope": "remote", "zoneName": zone,
                                "envoyId": poller.envoy_id if poller else None,
                                "pollerResourceId": poller.resource_id if poller else None})
        return out

    def listed(self, tenant: str, resource_id: str | None = None,
               monitor_id: str | None = None) -> list[dict[str, Any]]:
        """The public view: no tenant/envoy/poller ids, ``zoneName`` omitted for local monitors."""
        hidden = ("tenantId", "pollerResourceId", "envoyId")
        return [{k: v for k, v in b.items() if k not in hidden and not (k == "zoneName" and not v)}
                for b in self.all(tenant)
                if (resource_id is None or b["resourceId"] == resource_id)
                and (monitor_id is None or b["monitorId"] == monitor_id)]

    def for_envoy(self, envoy_id: str) -> list[dict[str, Any]]:
        return [b for b in self.all() if b.get("envoyId") == envoy_id]

    def rebind(self, tenant: str) -> None:
        """MM emits ``MonitorBoundEvent{envoyId}`` only to envoys whose bindings changed."""
        current: dict[str, set] = {}
        for b in self.all():
            if b.get("envoyId"):
                current.setdefault(b["envoyId"], set()).add(
                    (b["tenantId"], b["monitorId"], b["resourceId"], b.get("zoneName"), b["renderedContent"],
                     b["interval"]))
        now = {k: frozenset(v) for k, v in current.items()}
        attached = {e.envoy_id for e in self.registry.all()}
        with self._lock:
            changed = {e for e in set(now) | set(self._last) if now.get(e) != self._last.get(e)}
            self._last = now
        for envoy_id in sorted(changed & attached):
            self.core.publish(topics.MONITORS, envoy_id, {"envoyId": envoy_id}, "MonitorBoundEvent")
        self.core.changed("monitors", tenant)
