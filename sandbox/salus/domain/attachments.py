"""Envoy attachments (AMB → RM): the registry of attached envoys, agent history, and what an
attach or detach does to the resource (RM ``handleEnvoyAttach``)."""
from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

from ..interfaces import AttachedEnvoy
from .catalog import Installs
from .core import Core
from .errors import NotFound
from .resources import Resources, resource_key
from .values import now_iso


class EnvoyRegistry:
    """Envoys attached right now (what etcd holds in the real system); thread-safe, in memory."""

    def __init__(self) -> None:
        self._envoys: dict[str, AttachedEnvoy] = {}
        self._lock = threading.RLock()

    def add(self, envoy: AttachedEnvoy) -> None:
        with self._lock:
            self._envoys[envoy.envoy_id] = envoy

    def pop(self, envoy_id: str) -> AttachedEnvoy | None:
        with self._lock:
            return self._envoys.pop(envoy_id, None)

    def all(self) -> list[AttachedEnvoy]:
        with self._lock:
            return list(self._envoys.values())

    def active_envoy_id(self, tenant_id: str, resource_id: str) -> str | None:
        """Envoy id currently attached for the resource, else None."""
        with self._lock:
            for e in self._envoys.values():
                if e.tenant_id == tenant_id and e.resource_id == resource_id:
                    return e.envoy_id
        return None


class Attachments:
    def __init__(self, core: Core, registry: EnvoyRegistry, resources: Resources, installs: Installs,
                 rebind: Callable[[str], None]) -> None:
        self.core = core
        self.store = core.store
        self.registry = registry
        self.resources = resources
        self.installs = installs
        self._rebind = rebind

    def attached(self, envoy: AttachedEnvoy) -> dict[str, Any]:
        """Record the attach (agent history, active envoy), create or update the resource with the
        envoy's ``agent_`` labels; returns the ResourceDTO."""
        self.registry.add(envoy)
        key = resource_key(envoy.tenant_id, envoy.resource_id)
        ts = now_iso()
        with self.store.lock:
            r = self.store.get("resource", key)
            reattached = None
            if r is None:
                r = {"id": str(uuid.uuid4()), "tenantId": envoy.tenant_id, "resourceId": envoy.resource_id,
                     "labels": {}, "metadata": {}, "presenceMonitoringEnabled": True,
                     "createdTimestamp": ts}
                changed = True
            else:
                kept = {k: v for k, v in r["labels"].items() if not k.startswith("agent_")}
                changed = {**kept, **envoy.labels} != r["labels"]
                reattached = envoy.envoy_id
                r["labels"] = kept
            r["labels"].update(envoy.labels)
            r.update(associatedWithEnvoy=True, envoyId=envoy.envoy_id, updatedTimestamp=ts)
            self.store.put("resource", key, envoy.tenant_id, r)
        self.store.put("history", envoy.envoy_id, envoy.tenant_id, {
            "id": str(uuid.uuid4()), "tenantId": envoy.tenant_id, "envoyId": envoy.envoy_id,
            "resourceId": envoy.resource_id, "zoneId": envoy.zone, "remoteIp": envoy.address.rsplit(":", 1)[0],
            "connectedAt": ts, "disconnectedAt": None})
        self.resources.event(envoy.tenant_id, envoy.resource_id, labels_changed=changed, reattached=reattached)
        if changed:
            self.installs.bound_to(envoy.tenant_id, r)
        return self.resources.dto(r)

    def detached(self, envoy_id: str) -> None:
        """Close the agent-history entry, forget the envoy, and unbind its resource."""
        envoy = self.registry.pop(envoy_id)
        h = self.store.get("history", envoy_id)
        if h is not None:
            h["disconnectedAt"] = now_iso()
            self.store.put("history", envoy_id, h["tenantId"], h)
        if envoy is not None:
            key = resource_key(envoy.tenant_id, envoy.resource_id)
            with self.store.lock:
                r = self.store.get("resource", key)
                if r is not None and r.get("envoyId") == envoy_id:
                    r["associatedWithEnvoy"] = False
                    self.store.put("resource", key, envoy.tenant_id, r)
            self._rebind(envoy.tenant_id)

    def history(self, tenant: str, envoy_id: str | None = None,
                resource_id: str | None = None) -> list[dict[str, Any]]:
        return [h for h in self.store.list("history", tenant)
                if (envoy_id is None or h["envoyId"] == envoy_id)
                and (resource_id is None or h["resourceId"] == resource_id)]

    def history_entry(self, tenant: str, hid: str) -> dict[str, Any]:
        for h in self.store.list("history", tenant):
            if h["id"] == hid:
                return h
        raise NotFound(f"No agent history found for {hid}")

    def drop_tenant(self, tenant: str) -> None:
        for h in self.store.list("history", tenant):
            self.store.delete("history", h["envoyId"])
