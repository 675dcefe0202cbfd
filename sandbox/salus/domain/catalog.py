"""Agent catalog (ACM): releases, tenants' installs, and which release each resource should run."""
from __future__ import annotations

import uuid
from typing import Any

from support.versions import version_key

from .. import faults as F
from .. import topics
from ..labels import selector_matches
from .core import Core
from .errors import AlreadyExists, DeletionNotAllowed, NotFound
from .requests import Request, checked, rule
from .resources import Resources
from .values import now_iso

AGENT_TYPES = {"TELEGRAF", "FILEBEAT", "ORACLE", "PACKAGES"}


class ReleaseCreate(Request):
    """``AgentReleaseCreate``: known type, non-empty version/url/exe and labels."""

    type: Any = None
    version: Any = None
    url: Any = None
    exe: Any = None
    labels: Any = None

    _type = rule("type", ok=lambda v: v in AGENT_TYPES, why=" or ".join(sorted(AGENT_TYPES)))
    _text = rule("version", "url", "exe", ok=lambda v: isinstance(v, str) and bool(v), why="required")
    _labels = rule("labels", ok=lambda v: isinstance(v, dict) and bool(v), why="a non-empty map")


class InstallCreate(Request):
    """``AgentInstallCreate``: release id, a selector map (may be empty), ``AND`` (default) or ``OR``."""

    agentReleaseId: Any = None
    labelSelector: Any = None
    labelSelectorMethod: Any = None

    _release = rule("agentReleaseId", ok=bool, why="required")
    _selector = rule("labelSelector", ok=lambda v: isinstance(v, dict), why="a map")
    _method = rule("labelSelectorMethod", ok=lambda v: (v or "AND") in ("AND", "OR"), why="AND or OR")

    @property
    def method(self) -> str:
        return self.labelSelectorMethod or "AND"


class Releases:
    def __init__(self, core: Core) -> None:
        self.core = core
        self.store = core.store

    def list(self, agent_type: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.store.list("release") if agent_type is None or r["type"] == agent_type]

    def get(self, rid: str) -> dict[str, Any]:
        return self.core.must("release", rid, None, "Agent release")

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        req = checked(ReleaseCreate, body)
        for r in self.store.list("release"):
            if (r["type"], r["version"], r["labels"]) == (req.type, req.version, req.labels):
                raise AlreadyExists(f"An agent release with the type {req.type}, version "
                                    f"{req.version}, and labels {req.labels} already exists")
        ts = now_iso()
        r = {"id": str(uuid.uuid4()), "type": req.type, "version": req.version, "labels": req.labels,
             "url": req.url, "exe": req.exe, "createdTimestamp": ts, "updatedTimestamp": ts}
        self.store.put("release", r["id"], None, r)
        return r

    def delete(self, rid: str) -> None:
        self.get(rid)
        if any(i["agentReleaseId"] == rid for i in self.store.list("install")):
            raise DeletionNotAllowed(f"Agent release {rid} is still referenced by agent installs")
        self.store.delete("release", rid)


class Installs:
    def __init__(self, core: Core, resources: Resources) -> None:
        self.core = core
        self.store = core.store
        self.resources = resources

    def dto(self, i: dict[str, Any], admin: bool = False) -> dict[str, Any]:
        """``AgentInstallDTO`` with the full release (None when it is gone)."""
        release = self.store.get("release", i["agentReleaseId"])
        dto = {"id": i["id"], "agentRelease": release, "labelSelector": i["labelSelector"],
               "labelSelectorMethod": i["labelSelectorMethod"], "createdTimestamp": i["createdTimestamp"],
               "updatedTimestamp": i["updatedTimestamp"]}
        if admin:
            dto["tenantId"] = i["tenantId"]
        return dto

    def list(self, tenant: str) -> list[dict[str, Any]]:
        return [self.dto(i) for i in self.store.list("install", tenant)]

    def create(self, tenant: str, body: dict[str, Any]) -> dict[str, Any]:
        """422 for the same release with an identical selector; 404 for an unknown release."""
        req = checked(InstallCreate, body)
        release = self.store.get("release", req.agentReleaseId)
        if release is None:
            raise NotFound(f"No agent release found with ID {req.agentReleaseId}")
        for i in self.store.list("install", tenant):
            if i["agentReleaseId"] == release["id"] and i["labelSelector"] == req.labelSelector:
                raise AlreadyExists("An agent install with the same release and label selector already exists")
        ts = now_iso()
        inst = {"id": str(uuid.uuid4()), "tenantId": tenant, "agentReleaseId": release["id"],
                "labelSelector": req.labelSelector, "labelSelectorMethod": req.method,
                "createdTimestamp": ts, "updatedTimestamp": ts}
        self.store.put("install", inst["id"], tenant, inst)
        self._events(tenant, inst, "UPSERT", release["type"])
        return self.dto(inst)

    def _events(self, tenant: str, inst: dict[str, Any], op: str, agent_type: str | None) -> None:
        """One ``AgentInstallChangeEvent`` per resource the install's selector matches."""
        for r in self.store.list("resource", tenant):
            if selector_matches(inst["labelSelector"], r["labels"], inst["labelSelectorMethod"]):
                self._change_event(tenant, r["resourceId"], op, agent_type)
        self.core.changed("installs", tenant)

    def _change_event(self, tenant: str, resource_id: str, op: str, agent_type: str | None) -> None:
        self.core.publish(topics.INSTALLS, f"{tenant}:{resource_id}",
                          {"tenantId": tenant, "resourceId": resource_id, "op": op, "agentType": agent_type},
                          "AgentInstallChangeEvent")

    def delete(self, tenant: str, iid: str) -> None:
        inst = self.core.must("install", iid, tenant, "Agent install")
        self.store.delete("install", iid)
        release = self.store.get("release", inst["agentReleaseId"]) or {"type": None}
        self._events(tenant, inst, "DELETE", release["type"])

    def bound_to(self, tenant: str, resource: dict[str, Any]) -> None:
        """ACM's answer to a ResourceEvent with new labels: one UPSERT per agent type now bound."""
        types = sorted({(self.store.get("release", i["agentReleaseId"]) or {}).get("type")
                        for i in self.store.list("install", tenant)
                        if selector_matches(i["labelSelector"], resource["labels"], i["labelSelectorMethod"])}
                       - {None})
        for agent_type in types:
            self._change_event(tenant, resource["resourceId"], "UPSERT", agent_type)

    def for_resource(self, tenant_id: str, resource_id: str) -> list[dict[str, Any]]:
        """Installs whose selector matches the resource; per agent type only the highest release
        version (ACM ``reconcileBinding``; semver order, so ``rc.10`` is above ``rc.2``)."""
        labels = self.resources.labels_of(tenant_id, resource_id)
        best: dict[str, dict[str, Any]] = {}
        faults = getattr(self.core.ctx, "faults", None)
        unselected = bool(faults and faults.active(F.INSTALLS_UNSELECTED))
        for i in self.store.list("install", tenant_id):
            if not unselected and not selector_matches(i["labelSelector"], labels, i["labelSelectorMethod"]):
                continue
            dto = self.dto(i)
            rel = dto["agentRelease"]
            if rel is None:
                continue
            cur = best.get(rel["type"])
            if cur is None or version_key(rel["version"]) > version_key(cur["agentRelease"]["version"]):
                best[rel["type"]] = dto
        return list(best.values())

    def drop_tenant(self, tenant: str) -> None:
        for i in self.store.list("install", tenant):
            self.delete(tenant, i["id"])
