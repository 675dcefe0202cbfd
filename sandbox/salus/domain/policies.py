"""Monitor templates and policies (MM templates, PM ``MonitorPolicyManagement``): a policy in force
for a tenant clones its template into the tenant as a policy monitor; one no longer in force is removed."""
from __future__ import annotations

import logging
import uuid
from typing import Any

from pydantic import ValidationInfo, field_validator

from .. import topics
from .core import Core
from .errors import AlreadyExists, BadRequest, DeletionNotAllowed, DomainError
from .monitors import Monitors, summary
from .monitors import dto as monitor_dto
from .requests import Request, checked
from .tenants import TenantMetadata
from .values import duration_seconds, iso_duration, now_iso

log = logging.getLogger("sandbox.domain")

SCOPES = ("GLOBAL", "ACCOUNT_TYPE", "SLA", "TENANT")
#: The more specific scope wins when two policies in force share a name.
RANK = {"GLOBAL": 0, "ACCOUNT_TYPE": 1, "SLA": 2, "TENANT": 3}
TEMPLATE_FIELDS = ("name", "labelSelector", "labelSelectorMethod", "resourceId", "excludedResourceIds",
                   "metadata", "interval", "details")


class PolicyCreate(Request):
    """``MonitorPolicyCreate`` (``PolicyValidator``); an opt-out (context ``opt_out``) is a TENANT
    policy without a template."""

    scope: Any = None
    subscope: Any = None
    name: Any = None
    monitorTemplateId: Any = None

    @field_validator("scope")
    @classmethod
    def _scope(cls, v: Any) -> Any:
        if v not in SCOPES:
            raise ValueError("scope")
        return v

    @field_validator("subscope")
    @classmethod
    def _subscope(cls, v: Any, info: ValidationInfo) -> Any:
        if (info.data.get("scope") != "GLOBAL") != bool(v):   # GLOBAL has none, every other scope one
            raise ValueError("subscope")
        return v

    @field_validator("name")
    @classmethod
    def _name(cls, v: Any) -> Any:
        if not v:
            raise ValueError("required")
        return v

    @field_validator("monitorTemplateId")
    @classmethod
    def _template(cls, v: Any, info: ValidationInfo) -> Any:
        scope = info.data.get("scope")
        if (info.context or {}).get("opt_out"):
            if v is not None or scope != "TENANT":
                raise ValueError("an opt-out is a TENANT policy without a template")
        elif scope != "TENANT" and not v:
            raise ValueError("required")
        return v


def _selects_by_labels(body: dict[str, Any]) -> None:
    """MM ``createPolicyMonitor``/``updatePolicyMonitor``: a template is cloned into many tenants,
    so it may not name one resource (IllegalArgumentException → 400)."""
    if str(body.get("resourceId") or "").strip():
        raise BadRequest("Policy Monitors must use label selectors and not a resourceId")


class Policies:
    def __init__(self, core: Core, monitors: Monitors, tenants: TenantMetadata) -> None:
        self.core = core
        self.store = core.store
        self.monitors = monitors
        self.tenants = tenants

    # ------------------------------------------------------------------ templates
    def list_templates(self) -> list[dict[str, Any]]:
        return [monitor_dto(m) for m in self.store.list("template")]

    def create_template(self, body: dict[str, Any]) -> dict[str, Any]:
        plugin = self.monitors.validate(None, body)
        _selects_by_labels(body)
        ts = now_iso()
        m = {"id": str(uuid.uuid4()), "name": body.get("name"), "labelSelector": body.get("labelSelector"),
             "labelSelectorMethod": body.get("labelSelectorMethod") or "AND", "resourceId": body.get("resourceId"),
             "excludedResourceIds": body.get("excludedResourceIds"), "metadata": body.get("metadata") or {},
             "interval": iso_duration(duration_seconds(body.get("interval") or "PT1M", "interval")),
             "details": body["details"], "policy": False,
             "summary": summary(plugin),
             "createdTimestamp": ts, "updatedTimestamp": ts}
        self.store.put("template", m["id"], None, m)
        return monitor_dto(m)

    def get_template(self, tid: str) -> dict[str, Any]:
        return monitor_dto(self.core.must("template", tid, None, "Monitor template"))

    def update_template(self, tid: str, body: dict[str, Any]) -> dict[str, Any]:
        m = self.core.must("template", tid, None, "Monitor template")
        merged = {**m, **{k: v for k, v in body.items() if v is not None}}
        self.monitors.validate(None, merged)
        _selects_by_labels(merged)
        merged["updatedTimestamp"] = now_iso()
        self.store.put("template", tid, None, merged)
        return monitor_dto(merged)

    def delete_template(self, tid: str) -> None:
        self.core.must("template", tid, None, "Monitor template")
        if any(p.get("monitorId") == tid for p in self.store.list("policy")):
            raise DeletionNotAllowed(f"Monitor template {tid} is used by a policy")
        self.store.delete("template", tid)

    # ------------------------------------------------------------------ policies
    @staticmethod
    def dto(p: dict[str, Any]) -> dict[str, Any]:
        return {k: p.get(k) for k in ("id", "scope", "subscope", "name", "monitorId", "createdTimestamp",
                                      "updatedTimestamp")}

    def list(self) -> list[dict[str, Any]]:
        return [self.dto(p) for p in self.store.list("policy")]

    def get(self, pid: str) -> dict[str, Any]:
        return self.dto(self.core.must("policy", pid, None, "Monitor policy"))

    def create(self, body: dict[str, Any], opt_out: bool = False) -> dict[str, Any]:
        req = checked(PolicyCreate, body, context={"opt_out": opt_out})
        scope, sub, tmpl = req.scope, req.subscope, req.monitorTemplateId
        for p in self.store.list("policy"):
            if (p["scope"], p.get("subscope"), p["name"]) == (scope, sub, req.name):
                raise AlreadyExists(f"Policy already exists with scope:subscope:name of {scope}:{sub}:{req.name}")
        if tmpl and self.store.get("template", tmpl) is None:
            raise BadRequest(f"Invalid monitor id provided: {tmpl}")
        ts = now_iso()
        p = {"id": str(uuid.uuid4()), "scope": scope, "subscope": sub, "name": req.name, "monitorId": tmpl,
             "createdTimestamp": ts, "updatedTimestamp": ts}
        self.store.put("policy", p["id"], None, p)
        self.core.publish(topics.POLICIES, p["id"], {"policyId": p["id"]}, "MonitorPolicyEvent")
        self.apply_everywhere()
        return self.dto(p)

    def delete(self, pid: str) -> None:
        self.core.must("policy", pid, None, "Monitor policy")
        self.store.delete("policy", pid)
        self.apply_everywhere()

    def apply_everywhere(self) -> None:
        tenants = {m["tenantId"] for m in self.store.list("tenant_meta")}
        tenants |= {m["tenantId"] for m in self.store.list("monitor")}
        for t in tenants:
            self.apply(t)

    def effective(self, tenant: str) -> list[dict[str, Any]]:
        """Policies in force for the tenant (PM's effective set; TENANT opt-outs remove by name)."""
        account = self.tenants.account_type(tenant)
        chosen: dict[str, dict[str, Any]] = {}
        for p in self.store.list("policy"):
            applies = (p["scope"] == "GLOBAL" or (p["scope"] == "ACCOUNT_TYPE" and p["subscope"] == account)
                       or (p["scope"] == "TENANT" and p["subscope"] == tenant))
            if not applies:
                continue
            prev = chosen.get(p["name"])
            if prev is None or RANK[p["scope"]] >= RANK[prev["scope"]]:
                chosen[p["name"]] = p
        return [p for p in chosen.values() if p.get("monitorId")]

    def apply(self, tenant: str) -> None:
        """Clone every effective policy's template into the tenant; remove clones no longer in force."""
        wanted = {p["id"]: p for p in self.effective(tenant)}
        have = {m["policyId"]: m for m in self.store.list("monitor", tenant) if m.get("policy")}
        for pid, m in have.items():
            if pid not in wanted:
                self.monitors.delete(tenant, m["id"], allow_policy=True)
        for pid, p in wanted.items():
            if pid in have:
                continue
            tmpl = self.store.get("template", p["monitorId"])
            if tmpl is None:
                continue
            try:
                self.monitors.new(tenant, {k: tmpl.get(k) for k in TEMPLATE_FIELDS}, policy_id=pid)
            except DomainError as e:
                log.warning("policy %s not applied to tenant %s: %s", pid, tenant, e.message)

    def drop_tenant(self, tenant: str) -> None:
        """The tenant's own (TENANT-scoped) policies."""
        for p in self.store.list("policy"):
            if p["scope"] == "TENANT" and p.get("subscope") == tenant:
                self.store.delete("policy", p["id"])
