"""Resources (RM ``ResourceManagement``): CRUD, label queries, and the ``ResourceEvent`` on every change."""
from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from .. import topics
from ..labels import label_errors, selector_matches
from .core import Core
from .errors import AlreadyExists, BadRequest, NotFound
from .requests import Request, checked, rule
from .values import now_iso

RESOURCE_ID_RE = re.compile(r"^[A-Za-z0-9.:-]+$")


def _labels_ok(v: Any) -> bool:
    bad: list[str] = []
    label_errors(v, "labels", bad)
    return not bad


class ResourceCreate(Request):
    """``ResourceCreate``: ``resourceId`` ``[A-Za-z0-9.:-]+`` and ``presenceMonitoringEnabled`` required."""

    resourceId: Any = None
    presenceMonitoringEnabled: Any = None
    labels: Any = None
    metadata: Any = None

    _rid = rule("resourceId", ok=lambda v: isinstance(v, str) and bool(RESOURCE_ID_RE.match(v)),
                why="[A-Za-z0-9.:-]+")
    _presence = rule("presenceMonitoringEnabled", ok=lambda v: isinstance(v, bool), why="a boolean")
    _labels = rule("labels", ok=_labels_ok, why="label keys [A-Za-z0-9_]+")


class ResourceUpdate(Request):
    labels: Any = None
    _labels = rule("labels", ok=_labels_ok, why="label keys [A-Za-z0-9_]+")


def resource_key(tenant: str, resource_id: str) -> str:
    return f"{tenant}|{resource_id}"


class Resources:
    def __init__(self, core: Core, rebind: Callable[[str], None]) -> None:
        """``rebind(tenant)`` is MM's answer to every ResourceEvent (monitor bindings recomputed)."""
        self.core = core
        self.store = core.store
        self._rebind = rebind

    @staticmethod
    def dto(r: dict[str, Any], view: str = "public") -> dict[str, Any]:
        """``ResourceDTO`` in the public, internal (+tenantId, associatedWithEnvoy) or admin (+id, envoyId) view."""
        keys = ["resourceId", "labels", "metadata", "presenceMonitoringEnabled", "createdTimestamp",
                "updatedTimestamp"]
        if view in ("internal", "admin"):
            keys += ["tenantId", "associatedWithEnvoy"]
        if view == "admin":
            keys += ["id", "envoyId"]
        return {k: r.get(k) for k in keys}

    def list(self, tenant: str | None, view: str = "public") -> list[dict[str, Any]]:
        return [self.dto(r, view) for r in self.store.list("resource", tenant)]

    def create(self, tenant: str, body: dict[str, Any]) -> dict[str, Any]:
        req = checked(ResourceCreate, body)
        rid = req.resourceId
        key = resource_key(tenant, rid)
        if self.store.get("resource", key):
            raise AlreadyExists(f"Resource already exists with identifier {rid} on tenant {tenant}")
        ts = now_iso()
        r = {"id": str(uuid.uuid4()), "tenantId": tenant, "resourceId": rid, "labels": req.labels or {},
             "metadata": req.metadata or {},
             "presenceMonitoringEnabled": req.presenceMonitoringEnabled, "associatedWithEnvoy": False,
             "envoyId": None, "createdTimestamp": ts, "updatedTimestamp": ts}
        self.store.put("resource", key, tenant, r)
        self.event(tenant, rid, labels_changed=True)
        return self.dto(r)

    def event(self, tenant: str, rid: str, labels_changed: bool = False, deleted: bool = False,
              reattached: str | None = None) -> None:
        """``ResourceEvent`` on Kafka, listeners told, and monitors rebound (MM does on every event)."""
        self.core.publish(topics.RESOURCES, f"{tenant}:{rid}",
                          {"tenantId": tenant, "resourceId": rid, "labelsChanged": labels_changed,
                           "deleted": deleted, "reattachedEnvoyId": reattached}, "ResourceEvent")
        self.core.changed("resources", tenant)
        self._rebind(tenant)

    def get(self, tenant: str, rid: str, view: str = "public") -> dict[str, Any]:
        r = self.store.get("resource", resource_key(tenant, rid))
        if r is None:
            raise NotFound(f"No resource found for {rid} on tenant {tenant}")
        return self.dto(r, view)

    def update(self, tenant: str, rid: str, body: dict[str, Any]) -> dict[str, Any]:
        key = resource_key(tenant, rid)
        r = self.store.get("resource", key)
        if r is None:
            raise NotFound(f"No resource found for {rid} on tenant {tenant}")
        checked(ResourceUpdate, body)
        changed = "labels" in body and body["labels"] != r["labels"]
        for f in ("labels", "metadata", "presenceMonitoringEnabled"):
            if f in body and body[f] is not None:
                r[f] = body[f]
        r["updatedTimestamp"] = now_iso()
        self.store.put("resource", key, tenant, r)
        self.event(tenant, rid, labels_changed=changed)
        return self.dto(r)

    def delete(self, tenant: str, rid: str) -> None:
        if not self.store.delete("resource", resource_key(tenant, rid)):
            raise NotFound(f"No resource found for {rid} on tenant {tenant}")
        self.event(tenant, rid, deleted=True)

    def by_label(self, tenant: str, labels: dict[str, str], method: str) -> list[dict[str, Any]]:
        """RM ``resources-by-label/{AND|OR}``: exact label matches."""
        if method not in ("AND", "OR"):
            raise BadRequest(f"Invalid label selector method: {method}")
        return [self.dto(r) for r in self.store.list("resource", tenant)
                if selector_matches(labels, r["labels"], method)]

    def label_values(self, tenant: str) -> dict[str, list[str]]:
        """RM ``resource-labels``: every label key of the tenant's resources with its distinct values."""
        out: dict[str, set[str]] = {}
        for r in self.store.list("resource", tenant):
            for k, v in r["labels"].items():
                out.setdefault(k, set()).add(v)
        return {k: sorted(v) for k, v in sorted(out.items())}

    def labels_of(self, tenant: str, rid: str) -> dict[str, str]:
        """The resource's labels ({} when it does not exist)."""
        r = self.store.get("resource", resource_key(tenant, rid))
        return dict(r["labels"]) if r else {}

    def presence_resources(self) -> list[dict[str, Any]]:
        """Every tenant's resources with presence monitoring on (admin view)."""
        return [self.dto(r, "admin") for r in self.store.list("resource")
                if r.get("presenceMonitoringEnabled")]
