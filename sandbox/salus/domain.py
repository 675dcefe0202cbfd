"""Business state and rules of the Salus sandbox (the services behind the gateways).

Entities are dicts shaped like the contract's DTOs. Every rule here cites the real service it
stands in for; HTTP handlers, the ambassador, the presence monitor and the event engine all go
through this one object, so they can never disagree about state.
"""
from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import logging
import re
import secrets
import threading
import uuid
from typing import Any, Callable

from . import task_eras, topics
from .context import SandboxContext
from .interfaces import AttachedEnvoy
from .store import Store

log = logging.getLogger("sandbox.domain")

RESOURCE_ID_RE = re.compile(r"^[A-Za-z0-9.:-]+$")
PRIVATE_ZONE_RE = re.compile(r"^[a-z0-9_]+$")
PUBLIC_ZONE_RE = re.compile(r"^[a-z0-9_/]+$")
LABEL_KEY_RE = re.compile(r"^[A-Za-z0-9_]+$")
ISO_DURATION_RE = re.compile(r"^P(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)$")
AGENT_TYPES = {"TELEGRAF", "FILEBEAT", "ORACLE", "PACKAGES"}
MONITORING_SYSTEMS = {"salus", "maas", "uim", "scom", "zenoss", "unrecognized"}
REMOTE_PLUGINS = {"dns", "http", "mysql", "net_response", "ping", "postgresql", "smtp", "sqlserver", "ssl"}
LOCAL_PLUGINS = {"apache", "cpu", "disk", "diskio", "mem", "mysql", "net", "oracle_dataguard", "oracle_rman",
                 "oracle_tablespace", "packages", "postgresql", "procstat", "redis", "sqlserver", "system"}
COMPARATORS = {"==", "!=", ">", ">=", "<", "<=", "=~", "!~"}
ADMIN_ROLE = "monitoring:service-admin"


class DomainError(Exception):
    status = 400
    error = "Bad Request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(DomainError):
    pass


class NotFound(DomainError):
    status, error = 404, "Not Found"


class AlreadyExists(DomainError):
    status, error = 422, "Unprocessable Entity"


class DeletionNotAllowed(DomainError):
    status, error = 409, "Conflict"


def validation_failed(fields: list[str]) -> BadRequest:
    """Bean-validation failure exactly as the real services word it (contract §1.3)."""
    return BadRequest("One or more field validations failed: " + ", ".join(fields))


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def duration_seconds(value: Any, field: str) -> int:
    """ISO-8601 duration (``PT1M30S``) → seconds; 400 naming the field when malformed."""
    if isinstance(value, (int, float)):
        return int(value)
    m = ISO_DURATION_RE.match(str(value or ""))
    if not m or not any(m.groups()):
        raise validation_failed([field])
    h, mi, s = m.groups()
    return int(h or 0) * 3600 + int(mi or 0) * 60 + int(float(s or 0))


def iso_duration(seconds: int) -> str:
    """Java ``Duration.toString()``: ``PT1M30S``, ``PT1H``, ``PT1H1M`` (what the DTOs carry)."""
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    m, sec = divmod(rest, 60)
    out = "PT" + (f"{h}H" if h else "") + (f"{m}M" if m else "") + (f"{sec}S" if sec else "")
    return out if out != "PT" else "PT0S"


def _cidrs_invalid(value: Any) -> bool:
    """``@ValidCidrList``: a list of IPv4/IPv6 networks in CIDR notation."""
    if not isinstance(value, list):
        return True
    for v in value:
        try:
            if "/" not in str(v):
                return True
            ipaddress.ip_network(str(v), strict=False)
        except ValueError:
            return True
    return False


def _seconds(value: Any, default: int) -> str:
    return f"{duration_seconds(value, 'timeout') if value is not None else default}s"


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _summary(plugin: dict[str, Any]) -> dict[str, str]:
    """MM's ``@SummaryField`` values of the plugin (what the UI lists)."""
    return {k: str(v) for k, v in plugin.items() if k in ("url", "host", "port", "protocol") and v is not None}


def selector_matches(selector: dict[str, str], method: str, labels: dict[str, str]) -> bool:
    if not selector:
        return True
    hits = [labels.get(k) == v for k, v in selector.items()]
    return any(hits) if (method or "AND").upper() == "OR" else all(hits)


def semver_key(version: str) -> tuple:
    core, _, pre = version.partition("-")
    nums = tuple(int(x) if x.isdigit() else 0 for x in core.split("."))
    return nums + ((1,) if not pre else (0, pre))


class SalusDomain:
    def __init__(self, ctx: SandboxContext) -> None:
        self.ctx = ctx
        self.cfg = ctx.config
        self.store = Store(ctx.data_dir / "salus.sqlite")
        self._listeners: list[Callable[[str, str], None]] = []
        self._envoys: dict[str, AttachedEnvoy] = {}
        self._envoy_lock = threading.RLock()
        self._bound_lock = threading.Lock()
        self._last_bound: dict[str, frozenset] = {}

    def close(self) -> None:
        self.store.close()

    # ------------------------------------------------------------------ plumbing
    def subscribe(self, listener: Callable[[str, str], None]) -> None:
        self._listeners.append(listener)

    def _changed(self, kind: str, tenant: str) -> None:
        for listener in list(self._listeners):
            try:
                listener(kind, tenant)
            except Exception:
                log.exception("listener failed on %s change", kind)

    def _publish(self, topic: str, key: str, value: dict[str, Any], type_name: str) -> None:
        if self.ctx.bus is not None:
            self.ctx.bus.publish(topic, key, value, topics.TYPE_IDS.get(type_name))

    def _must(self, kind: str, id_: str, tenant: str | None, what: str) -> dict[str, Any]:
        item = self.store.get(kind, id_)
        if item is None or (tenant is not None and item.get("tenantId") != tenant):
            raise NotFound(f"{what} not found: {id_}")
        return item

    # ------------------------------------------------------------------ identity
    def authenticate(self, username: str, *, api_key: str | None = None,
                     password: str | None = None) -> dict[str, Any] | None:
        for user in self.cfg.users:
            if user.username != username:
                continue
            if api_key is not None and user.api_key and secrets.compare_digest(
                    api_key, user.api_key.get_secret_value()):
                break
            if password is not None and user.password and secrets.compare_digest(
                    password, user.password.get_secret_value()):
                break
            return None
        else:
            return None
        token = {"id": secrets.token_hex(16), "username": user.username,
                 "expires": (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=24))
                 .strftime("%Y-%m-%dT%H:%M:%S.000Z")}
        self.store.put("idtoken", token["id"], None, token)
        return {"token": token, "user": user}

    def token_user(self, token_id: str | None):
        if not token_id:
            return None
        tok = self.store.get("idtoken", token_id)
        if tok is None or tok["expires"] < now_iso():
            return None
        try:
            return self.cfg.user(tok["username"])
        except KeyError:
            return None

    # ------------------------------------------------------------------ zones
    def _zone_dto(self, z: dict[str, Any], internal: bool = False) -> dict[str, Any]:
        keys = ["name", "pollerTimeout", "provider", "providerRegion", "public", "sourceIpAddresses",
                "createdTimestamp", "updatedTimestamp"] + (["state"] if internal else [])
        return {k: z.get(k) for k in keys}

    def _zone_key(self, tenant: str | None, name: str) -> str:
        return f"{tenant or '_PUBLIC_'}|{name}"

    def list_zones(self, tenant: str) -> list[dict[str, Any]]:
        """Public zones and the tenant's private ones (MM ``findAllAvailableForTenant``)."""
        zones = self.store.list("zone", "_PUBLIC_") + self.store.list("zone", tenant)
        return [self._zone_dto(z) for z in zones]

    def list_public_zones(self) -> list[dict[str, Any]]:
        return [self._zone_dto(z, internal=True) for z in self.store.list("zone", "_PUBLIC_")]

    def create_private_zone(self, tenant: str, body: dict[str, Any]) -> dict[str, Any]:
        name = body.get("name")
        bad = []
        if not isinstance(name, str) or not name or not PRIVATE_ZONE_RE.match(name) or name.startswith("public/"):
            bad.append("name")
        timeout = body.get("pollerTimeout", 120)
        if not isinstance(timeout, int) or not 30 <= timeout <= 1800:
            bad.append("pollerTimeout")
        if body.get("state", "ACTIVE") not in ("ACTIVE", "INACTIVE", "MAINTENANCE"):
            bad.append("state")
        if body.get("sourceIpAddresses") is not None and _cidrs_invalid(body["sourceIpAddresses"]):
            bad.append("sourceIpAddresses")
        if bad:
            raise validation_failed(bad)
        if self.store.get("zone", self._zone_key(tenant, name)):
            raise AlreadyExists(f"Zone already exists with name {name} on tenant {tenant}")
        ts = now_iso()
        z = {"name": name, "tenantId": tenant, "pollerTimeout": timeout, "provider": body.get("provider"),
             "providerRegion": body.get("providerRegion"), "public": False,
             "sourceIpAddresses": body.get("sourceIpAddresses") or [], "state": body.get("state", "ACTIVE"),
             "createdTimestamp": ts, "updatedTimestamp": ts}
        self.store.put("zone", self._zone_key(tenant, name), tenant, z)
        self._changed("zones", tenant)
        return self._zone_dto(z)

    def create_public_zone(self, body: dict[str, Any]) -> dict[str, Any]:
        name = body.get("name")
        bad = []
        if not isinstance(name, str) or not PUBLIC_ZONE_RE.match(name) or not name.startswith("public/"):
            bad.append("name")
        for f in ("provider", "providerRegion"):
            if not body.get(f):
                bad.append(f)
        if not body.get("sourceIpAddresses") or _cidrs_invalid(body["sourceIpAddresses"]):
            bad.append("sourceIpAddresses")
        if body.get("state", "INACTIVE") not in ("ACTIVE", "INACTIVE", "MAINTENANCE"):
            bad.append("state")
        timeout = body.get("pollerTimeout", 300)
        if not isinstance(timeout, int) or not 30 <= timeout <= 1800:
            bad.append("pollerTimeout")
        if bad:
            raise validation_failed(bad)
        if self.store.get("zone", self._zone_key(None, name)):
            raise AlreadyExists(f"Zone already exists with name {name}")
        ts = now_iso()
        z = {"name": name, "tenantId": "_PUBLIC_", "pollerTimeout": timeout, "provider": body["provider"],
             "providerRegion": body["providerRegion"], "public": True,
             "sourceIpAddresses": body["sourceIpAddresses"], "state": body.get("state", "INACTIVE"),
             "createdTimestamp": ts, "updatedTimestamp": ts}
        self.store.put("zone", self._zone_key(None, name), "_PUBLIC_", z)
        self._changed("zones", "_PUBLIC_")
        return self._zone_dto(z, internal=True)

    def get_zone(self, tenant: str | None, name: str, internal: bool = False) -> dict[str, Any]:
        z = self.store.get("zone", self._zone_key(None if name.startswith("public/") else tenant, name))
        if z is None:
            raise NotFound(f"No zone found named {name} on tenant {tenant}")
        return self._zone_dto(z, internal)

    def update_zone(self, tenant: str | None, name: str, body: dict[str, Any]) -> dict[str, Any]:
        key = self._zone_key(None if name.startswith("public/") else tenant, name)
        z = self.store.get("zone", key)
        if z is None:
            raise NotFound(f"No zone found named {name} on tenant {tenant}")
        bad = []
        if "pollerTimeout" in body and (not isinstance(body["pollerTimeout"], int)
                                        or not 30 <= body["pollerTimeout"] <= 1800):
            bad.append("pollerTimeout")
        if body.get("state") is not None and body["state"] not in ("ACTIVE", "INACTIVE", "MAINTENANCE"):
            bad.append("state")
        if body.get("sourceIpAddresses") is not None and _cidrs_invalid(body["sourceIpAddresses"]):
            bad.append("sourceIpAddresses")
        if bad:
            raise validation_failed(bad)
        for f in ("provider", "providerRegion", "sourceIpAddresses", "pollerTimeout", "state"):
            if body.get(f) is not None:
                z[f] = body[f]
        z["updatedTimestamp"] = now_iso()
        self.store.put("zone", key, z["tenantId"], z)
        self._changed("zones", z["tenantId"])
        return self._zone_dto(z, internal=z["public"])

    def delete_zone(self, tenant: str | None, name: str) -> None:
        public = name.startswith("public/")
        key = self._zone_key(None if public else tenant, name)
        if self.store.get("zone", key) is None:
            raise NotFound(f"No zone found named {name} on tenant {tenant}")
        using = [m for m in self.store.list("monitor", None if public else tenant)
                 if name in (m.get("details") or {}).get("monitoringZones", [])]
        if using:
            raise DeletionNotAllowed(f"Cannot remove zone with configured monitors. Found {len(using)}.")
        self.store.delete("zone", key)
        self._changed("zones", tenant or "_PUBLIC_")

    def zone_exists_for(self, tenant_id: str, zone: str) -> bool:
        if zone.startswith("public/"):
            return self.store.get("zone", self._zone_key(None, zone)) is not None
        return self.store.get("zone", self._zone_key(tenant_id, zone)) is not None

    # ------------------------------------------------------------------ resources
    def _resource_dto(self, r: dict[str, Any], view: str = "public") -> dict[str, Any]:
        keys = ["resourceId", "labels", "metadata", "presenceMonitoringEnabled", "createdTimestamp",
                "updatedTimestamp"]
        if view in ("internal", "admin"):
            keys += ["tenantId", "associatedWithEnvoy"]
        if view == "admin":
            keys += ["id", "envoyId"]
        return {k: r.get(k) for k in keys}

    def list_resources(self, tenant: str | None, view: str = "public") -> list[dict[str, Any]]:
        return [self._resource_dto(r, view) for r in self.store.list("resource", tenant)]

    def _validate_labels(self, labels: Any, field: str, bad: list[str]) -> None:
        if labels is None:
            return
        if not isinstance(labels, dict) or any(not LABEL_KEY_RE.match(str(k)) for k in labels):
            bad.append(field)

    def create_resource(self, tenant: str, body: dict[str, Any]) -> dict[str, Any]:
        rid = body.get("resourceId")
        bad = []
        if not isinstance(rid, str) or not RESOURCE_ID_RE.match(rid):
            bad.append("resourceId")
        if not isinstance(body.get("presenceMonitoringEnabled"), bool):
            bad.append("presenceMonitoringEnabled")
        self._validate_labels(body.get("labels"), "labels", bad)
        if bad:
            raise validation_failed(bad)
        key = f"{tenant}|{rid}"
        if self.store.get("resource", key):
            raise AlreadyExists(f"Resource already exists with identifier {rid} on tenant {tenant}")
        ts = now_iso()
        r = {"id": str(uuid.uuid4()), "tenantId": tenant, "resourceId": rid, "labels": body.get("labels") or {},
             "metadata": body.get("metadata") or {},
             "presenceMonitoringEnabled": body["presenceMonitoringEnabled"], "associatedWithEnvoy": False,
             "envoyId": None, "createdTimestamp": ts, "updatedTimestamp": ts}
        self.store.put("resource", key, tenant, r)
        self._resource_event(tenant, rid, labels_changed=True)
        return self._resource_dto(r)

    def _resource_event(self, tenant: str, rid: str, labels_changed: bool = False, deleted: bool = False,
                        reattached: str | None = None) -> None:
        self._publish(topics.RESOURCES, f"{tenant}:{rid}",
                      {"tenantId": tenant, "resourceId": rid, "labelsChanged": labels_changed,
                       "deleted": deleted, "reattachedEnvoyId": reattached}, "ResourceEvent")
        self._changed("resources", tenant)
        self._bound_changed(tenant)   # MM rebinds monitors on every ResourceEvent

    def get_resource(self, tenant: str, rid: str, view: str = "public") -> dict[str, Any]:
        r = self.store.get("resource", f"{tenant}|{rid}")
        if r is None:
            raise NotFound(f"No resource found for {rid} on tenant {tenant}")
        return self._resource_dto(r, view)

    def update_resource(self, tenant: str, rid: str, body: dict[str, Any]) -> dict[str, Any]:
        key = f"{tenant}|{rid}"
        r = self.store.get("resource", key)
        if r is None:
            raise NotFound(f"No resource found for {rid} on tenant {tenant}")
        bad: list[str] = []
        self._validate_labels(body.get("labels"), "labels", bad)
        if bad:
            raise validation_failed(bad)
        changed = "labels" in body and body["labels"] != r["labels"]
        for f in ("labels", "metadata", "presenceMonitoringEnabled"):
            if f in body and body[f] is not None:
                r[f] = body[f]
        r["updatedTimestamp"] = now_iso()
        self.store.put("resource", key, tenant, r)
        self._resource_event(tenant, rid, labels_changed=changed)
        return self._resource_dto(r)

    def delete_resource(self, tenant: str, rid: str) -> None:
        if not self.store.delete("resource", f"{tenant}|{rid}"):
            raise NotFound(f"No resource found for {rid} on tenant {tenant}")
        self._resource_event(tenant, rid, deleted=True)

    def resources_by_label(self, tenant: str, labels: dict[str, str], method: str) -> list[dict[str, Any]]:
        """RM ``resources-by-label/{AND|OR}``: exact label matches."""
        if method not in ("AND", "OR"):
            raise BadRequest(f"Invalid label selector method: {method}")
        return [self._resource_dto(r) for r in self.store.list("resource", tenant)
                if selector_matches(labels, method, r["labels"])]

    def label_values(self, tenant: str) -> dict[str, list[str]]:
        """RM ``resource-labels``: every label key of the tenant's resources with its distinct values."""
        out: dict[str, set[str]] = {}
        for r in self.store.list("resource", tenant):
            for k, v in r["labels"].items():
                out.setdefault(k, set()).add(v)
        return {k: sorted(v) for k, v in sorted(out.items())}

    def resource_labels(self, tenant: str, rid: str) -> dict[str, str]:
        r = self.store.get("resource", f"{tenant}|{rid}")
        return dict(r["labels"]) if r else {}

    # ------------------------------------------------------------------ envoy attachment (AMB → RM)
    def envoy_attached(self, envoy: AttachedEnvoy) -> dict[str, Any]:
        with self._envoy_lock:
            self._envoys[envoy.envoy_id] = envoy
        key = f"{envoy.tenant_id}|{envoy.resource_id}"
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
        self._resource_event(envoy.tenant_id, envoy.resource_id, labels_changed=changed, reattached=reattached)
        if changed:
            self._installs_bound_to(envoy.tenant_id, r)
        return self._resource_dto(r)

    def _installs_bound_to(self, tenant: str, resource: dict[str, Any]) -> None:
        """ACM's answer to a ResourceEvent with new labels: one UPSERT per agent type now bound."""
        types = sorted({(self.store.get("release", i["agentReleaseId"]) or {}).get("type")
                        for i in self.store.list("install", tenant)
                        if selector_matches(i["labelSelector"], i["labelSelectorMethod"], resource["labels"])})
        for agent_type in types:
            if agent_type:
                self._publish(topics.INSTALLS, f"{tenant}:{resource['resourceId']}",
                              {"tenantId": tenant, "resourceId": resource["resourceId"], "op": "UPSERT",
                               "agentType": agent_type}, "AgentInstallChangeEvent")

    def envoy_detached(self, envoy_id: str) -> None:
        with self._envoy_lock:
            envoy = self._envoys.pop(envoy_id, None)
        h = self.store.get("history", envoy_id)
        if h is not None:
            h["disconnectedAt"] = now_iso()
            self.store.put("history", envoy_id, h["tenantId"], h)
        if envoy is not None:
            key = f"{envoy.tenant_id}|{envoy.resource_id}"
            with self.store.lock:
                r = self.store.get("resource", key)
                if r is not None and r.get("envoyId") == envoy_id:
                    r["associatedWithEnvoy"] = False
                    self.store.put("resource", key, envoy.tenant_id, r)
            self._bound_changed(envoy.tenant_id)

    def attached_envoys(self) -> list[AttachedEnvoy]:
        with self._envoy_lock:
            return list(self._envoys.values())

    def active_envoy_id(self, tenant_id: str, resource_id: str) -> str | None:
        with self._envoy_lock:
            for e in self._envoys.values():
                if e.tenant_id == tenant_id and e.resource_id == resource_id:
                    return e.envoy_id
        return None

    def list_history(self, tenant: str, envoy_id: str | None = None,
                     resource_id: str | None = None) -> list[dict[str, Any]]:
        return [h for h in self.store.list("history", tenant)
                if (envoy_id is None or h["envoyId"] == envoy_id)
                and (resource_id is None or h["resourceId"] == resource_id)]

    def get_history(self, tenant: str, hid: str) -> dict[str, Any]:
        for h in self.store.list("history", tenant):
            if h["id"] == hid:
                return h
        raise NotFound(f"No agent history found for {hid}")

    def presence_resources(self) -> list[dict[str, Any]]:
        return [self._resource_dto(r, "admin") for r in self.store.list("resource")
                if r.get("presenceMonitoringEnabled")]

    # ------------------------------------------------------------------ agent releases (ACM)
    def list_releases(self, agent_type: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.store.list("release") if agent_type is None or r["type"] == agent_type]

    def get_release(self, rid: str) -> dict[str, Any]:
        return self._must("release", rid, None, "Agent release")

    def create_release(self, body: dict[str, Any]) -> dict[str, Any]:
        bad = [f for f in ("version", "url", "exe") if not isinstance(body.get(f), str) or not body.get(f)]
        if body.get("type") not in AGENT_TYPES:
            bad.insert(0, "type")
        if not isinstance(body.get("labels"), dict) or not body.get("labels"):
            bad.append("labels")
        if bad:
            raise validation_failed(bad)
        for r in self.store.list("release"):
            if (r["type"], r["version"], r["labels"]) == (body["type"], body["version"], body["labels"]):
                raise AlreadyExists(f"An agent release with the type {body['type']}, version "
                                    f"{body['version']}, and labels {body['labels']} already exists")
        ts = now_iso()
        r = {"id": str(uuid.uuid4()), "type": body["type"], "version": body["version"], "labels": body["labels"],
             "url": body["url"], "exe": body["exe"], "createdTimestamp": ts, "updatedTimestamp": ts}
        self.store.put("release", r["id"], None, r)
        return r

    def delete_release(self, rid: str) -> None:
        self.get_release(rid)
        if any(i["agentReleaseId"] == rid for i in self.store.list("install")):
            raise DeletionNotAllowed(f"Agent release {rid} is still referenced by agent installs")
        self.store.delete("release", rid)

    # ------------------------------------------------------------------ agent installs (ACM)
    def _install_dto(self, i: dict[str, Any], admin: bool = False) -> dict[str, Any]:
        release = self.store.get("release", i["agentReleaseId"])
        dto = {"id": i["id"], "agentRelease": release, "labelSelector": i["labelSelector"],
               "labelSelectorMethod": i["labelSelectorMethod"], "createdTimestamp": i["createdTimestamp"],
               "updatedTimestamp": i["updatedTimestamp"]}
        if admin:
            dto["tenantId"] = i["tenantId"]
        return dto

    def list_installs(self, tenant: str) -> list[dict[str, Any]]:
        return [self._install_dto(i) for i in self.store.list("install", tenant)]

    def create_install(self, tenant: str, body: dict[str, Any]) -> dict[str, Any]:
        bad = []
        if not body.get("agentReleaseId"):
            bad.append("agentReleaseId")
        if not isinstance(body.get("labelSelector"), dict):
            bad.append("labelSelector")
        method = body.get("labelSelectorMethod") or "AND"
        if method not in ("AND", "OR"):
            bad.append("labelSelectorMethod")
        if bad:
            raise validation_failed(bad)
        release = self.store.get("release", body["agentReleaseId"])
        if release is None:
            raise NotFound(f"No agent release found with ID {body['agentReleaseId']}")
        for i in self.store.list("install", tenant):
            if i["agentReleaseId"] == release["id"] and i["labelSelector"] == body["labelSelector"]:
                raise AlreadyExists("An agent install with the same release and label selector already exists")
        ts = now_iso()
        inst = {"id": str(uuid.uuid4()), "tenantId": tenant, "agentReleaseId": release["id"],
                "labelSelector": body["labelSelector"], "labelSelectorMethod": method,
                "createdTimestamp": ts, "updatedTimestamp": ts}
        self.store.put("install", inst["id"], tenant, inst)
        self._install_events(tenant, inst, "UPSERT", release["type"])
        return self._install_dto(inst)

    def _install_events(self, tenant: str, inst: dict[str, Any], op: str, agent_type: str) -> None:
        for r in self.store.list("resource", tenant):
            if selector_matches(inst["labelSelector"], inst["labelSelectorMethod"], r["labels"]):
                self._publish(topics.INSTALLS, f"{tenant}:{r['resourceId']}",
                              {"tenantId": tenant, "resourceId": r["resourceId"], "op": op,
                               "agentType": agent_type}, "AgentInstallChangeEvent")
        self._changed("installs", tenant)

    def delete_install(self, tenant: str, iid: str) -> None:
        inst = self._must("install", iid, tenant, "Agent install")
        self.store.delete("install", iid)
        release = self.store.get("release", inst["agentReleaseId"]) or {"type": None}
        self._install_events(tenant, inst, "DELETE", release["type"])

    def installs_for_resource(self, tenant_id: str, resource_id: str) -> list[dict[str, Any]]:
        labels = self.resource_labels(tenant_id, resource_id)
        best: dict[str, dict[str, Any]] = {}
        for i in self.store.list("install", tenant_id):
            if not selector_matches(i["labelSelector"], i["labelSelectorMethod"], labels):
                continue
            dto = self._install_dto(i)
            rel = dto["agentRelease"]
            if rel is None:
                continue
            cur = best.get(rel["type"])
            if cur is None or semver_key(rel["version"]) > semver_key(cur["agentRelease"]["version"]):
                best[rel["type"]] = dto
        return list(best.values())

    # ------------------------------------------------------------------ envoy tokens (AUTH)
    def list_envoy_tokens(self, tenant: str) -> list[dict[str, Any]]:
        return self.store.list("envoy_token", tenant)

    def create_envoy_token(self, tenant: str, description: str | None = None) -> dict[str, Any]:
        ts = now_iso()
        tok = {"id": str(uuid.uuid4()),
               "token": base64.urlsafe_b64encode(secrets.token_bytes(18)).decode(),
               "description": description, "tenantId": tenant, "createdTimestamp": ts,
               "updatedTimestamp": ts, "lastUsed": None}
        self.store.put("envoy_token", tok["id"], tenant, tok)
        return tok

    def get_envoy_token(self, tenant: str, tid: str) -> dict[str, Any]:
        return self._must("envoy_token", tid, tenant, "Envoy token")

    def update_envoy_token(self, tenant: str, tid: str, body: dict[str, Any]) -> dict[str, Any]:
        tok = self.get_envoy_token(tenant, tid)
        tok["description"] = body.get("description")
        tok["updatedTimestamp"] = now_iso()
        return self.store.put("envoy_token", tid, tenant, tok)

    def delete_envoy_token(self, tenant: str, tid: str) -> None:
        self.get_envoy_token(tenant, tid)
        self.store.delete("envoy_token", tid)

    def tenant_for_envoy_token(self, token: str) -> str | None:
        for tok in self.store.list("envoy_token"):
            if secrets.compare_digest(tok["token"], token):
                tok["lastUsed"] = now_iso()
                self.store.put("envoy_token", tok["id"], tok["tenantId"], tok)
                return tok["tenantId"]
        return None

    # ------------------------------------------------------------------ monitors (MM)
    def _validate_monitor(self, tenant: str | None, body: dict[str, Any], template: bool = False) -> dict[str, Any]:
        bad: list[str] = []
        has_sel, has_rid = body.get("labelSelector") is not None, bool(body.get("resourceId"))
        if has_sel == has_rid:
            # class-level @ValidCreateMonitor: reported on the object, not on a field
            bad.append("detailedMonitorInput (exactly one of labelSelector or resourceId)")
        if has_rid and body.get("excludedResourceIds"):
            bad.append("excludedResourceIds")
        self._validate_labels(body.get("labelSelector"), "labelSelector", bad)
        if body.get("labelSelectorMethod") not in (None, "AND", "OR"):
            bad.append("labelSelectorMethod")
        details = body.get("details")
        plugin: dict[str, Any] = {}
        if not isinstance(details, dict) or details.get("type") not in ("local", "remote"):
            bad.append("details")
        else:
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
        interval = body.get("interval")
        if interval is not None:
            try:
                secs = duration_seconds(interval, "interval")
                if secs < self.cfg.min_monitor_interval:
                    bad.append("interval")
            except BadRequest:
                bad.append("interval")
        if bad:
            raise validation_failed(bad)
        if details["type"] == "remote" and tenant is not None:
            zones = details.get("monitoringZones") or [z.name for z in self.cfg.public_zones]
            if any(not self.zone_exists_for(tenant, z) for z in zones):
                raise BadRequest("Invalid zone(s) provided")
        return plugin

    def _monitor_dto(self, m: dict[str, Any], admin: bool = False) -> dict[str, Any]:
        keys = ["id", "name", "labelSelector", "labelSelectorMethod", "resourceId", "excludedResourceIds",
                "metadata", "interval", "details", "policy", "summary", "createdTimestamp", "updatedTimestamp"]
        if admin:
            keys += ["policyId", "tenantId"]
        return {k: m.get(k) for k in keys}

    def _new_monitor(self, tenant: str, body: dict[str, Any], policy_id: str | None = None) -> dict[str, Any]:
        plugin = self._validate_monitor(tenant, body)
        ts = now_iso()
        details = json.loads(json.dumps(body["details"]))
        if details["type"] == "remote" and not details.get("monitoringZones"):
            details["monitoringZones"] = [z.name for z in self.cfg.public_zones]
        m = {"id": str(uuid.uuid4()), "tenantId": tenant, "name": body.get("name"),
             "labelSelector": body.get("labelSelector"), "labelSelectorMethod": body.get("labelSelectorMethod") or "AND",
             "resourceId": body.get("resourceId"), "excludedResourceIds": body.get("excludedResourceIds"),
             "metadata": body.get("metadata") or {},
             "interval": iso_duration(duration_seconds(body.get("interval") or "PT1M", "interval")),
             "details": details, "policy": policy_id is not None, "policyId": policy_id,
             "summary": _summary(plugin),
             "createdTimestamp": ts, "updatedTimestamp": ts}
        self.store.put("monitor", m["id"], tenant, m)
        self._publish(topics.MONITOR_CHANGES, f"{tenant}:{m['id']}", {"tenantId": tenant, "monitorId": m["id"]},
                      "MonitorChangeEvent")
        self._bound_changed(tenant)
        return m

    def _bound_changed(self, tenant: str) -> None:
        """MM emits ``MonitorBoundEvent{envoyId}`` only to envoys whose bindings changed."""
        current: dict[str, set] = {}
        for b in self.bound_monitors():
            if b.get("envoyId"):
                current.setdefault(b["envoyId"], set()).add(
                    (b["tenantId"], b["monitorId"], b["resourceId"], b.get("zoneName"), b["renderedContent"],
                     b["interval"]))
        now = {k: frozenset(v) for k, v in current.items()}
        attached = {e.envoy_id for e in self.attached_envoys()}
        with self._bound_lock:
            changed = {e for e in set(now) | set(self._last_bound) if now.get(e) != self._last_bound.get(e)}
            self._last_bound = now
        for envoy_id in sorted(changed & attached):
            self._publish(topics.MONITORS, envoy_id, {"envoyId": envoy_id}, "MonitorBoundEvent")
        self._changed("monitors", tenant)

    def list_monitors(self, tenant: str | None, admin: bool = False) -> list[dict[str, Any]]:
        return [self._monitor_dto(m, admin) for m in self.store.list("monitor", tenant)]

    def create_monitor(self, tenant: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._monitor_dto(self._new_monitor(tenant, body))

    def get_monitor(self, tenant: str, mid: str) -> dict[str, Any]:
        return self._monitor_dto(self._must("monitor", mid, tenant, "Monitor"))

    def update_monitor(self, tenant: str, mid: str, body: dict[str, Any]) -> dict[str, Any]:
        """PUT: non-null fields replace the stored ones (MM ignores nulls); switching between
        ``resourceId`` and ``labelSelector`` clears the other."""
        m = self._must("monitor", mid, tenant, "Monitor")
        changes = {k: v for k, v in body.items() if v is not None}
        if changes.get("resourceId"):
            changes.setdefault("labelSelector", None)
            m["labelSelector"] = None
        elif "labelSelector" in changes:
            m["resourceId"] = None
        return self._save_monitor(tenant, m, changes)

    def patch_monitor(self, tenant: str, mid: str, ops: Any) -> dict[str, Any]:
        """JSON-patch (RFC 6902 add/replace/remove on top-level and nested keys), as MM's PATCH."""
        m = self._must("monitor", mid, tenant, "Monitor")
        doc = json.loads(json.dumps(self._monitor_dto(m)))
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
        fields = ("name", "labelSelector", "labelSelectorMethod", "resourceId", "excludedResourceIds", "metadata",
                  "interval", "details")
        return self._save_monitor(tenant, m, {k: doc.get(k) for k in fields})

    def _save_monitor(self, tenant: str, m: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        if m.get("policy"):
            raise BadRequest("Policy monitors cannot be updated by tenants")
        merged = {**m, **changes}
        plugin = self._validate_monitor(tenant, merged)
        merged["interval"] = iso_duration(duration_seconds(merged.get("interval") or "PT1M", "interval"))
        merged["summary"] = _summary(plugin)
        merged["updatedTimestamp"] = now_iso()
        self.store.put("monitor", m["id"], tenant, merged)
        self._publish(topics.MONITOR_CHANGES, f"{tenant}:{m['id']}", {"tenantId": tenant, "monitorId": m["id"]},
                      "MonitorChangeEvent")
        self._bound_changed(tenant)
        return self._monitor_dto(merged)

    def delete_monitor(self, tenant: str, mid: str, allow_policy: bool = False) -> None:
        m = self._must("monitor", mid, tenant, "Monitor")
        if m.get("policy") and not allow_policy:
            raise DeletionNotAllowed("Policy monitors cannot be deleted by tenants")
        self.store.delete("monitor", mid)
        self._publish(topics.MONITOR_CHANGES, f"{tenant}:{mid}", {"tenantId": tenant, "monitorId": mid},
                      "MonitorChangeEvent")
        self._bound_changed(tenant)

    # ------------------------------------------------------------------ bound monitors
    def _selected_resources(self, m: dict[str, Any]) -> list[dict[str, Any]]:
        resources = self.store.list("resource", m["tenantId"])
        if m.get("resourceId"):
            return [r for r in resources if r["resourceId"] == m["resourceId"]]
        excluded = set(m.get("excludedResourceIds") or [])
        return [r for r in resources if r["resourceId"] not in excluded
                and selector_matches(m.get("labelSelector") or {}, m.get("labelSelectorMethod"), r["labels"])]

    def _poller_for(self, tenant: str, zone: str) -> AttachedEnvoy | None:
        owner = self.cfg.public_zone_tenant if zone.startswith("public/") else tenant
        candidates = [e for e in self.attached_envoys() if e.zone == zone and e.tenant_id == owner]
        return sorted(candidates, key=lambda e: e.envoy_id)[0] if candidates else None

    @staticmethod
    def render(plugin: dict[str, Any]) -> str:
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
            out = {"type": "http_response", "urls": [rest.pop("url")], "method": rest.pop("method", None) or "GET",
                   "response_timeout": _seconds(rest.pop("timeout", None), 5),
                   "follow_redirects": bool(rest.pop("followRedirects", False))}
        else:
            out = {"type": ptype}
        out.update({_snake(k): v for k, v in rest.items()})
        return json.dumps(out)

    def bound_monitors(self, tenant: str | None = None) -> list[dict[str, Any]]:
        out = []
        for m in self.store.list("monitor", tenant):
            details = m["details"]
            plugin = details.get("plugin") or {}
            for r in self._selected_resources(m):
                base = {"monitorId": m["id"], "monitorType": plugin.get("type"), "monitorName": m.get("name"),
                        "monitorSummary": m.get("summary"), "resourceId": r["resourceId"],
                        "interval": m["interval"], "agentType": "TELEGRAF",
                        "renderedContent": self.render(plugin), "tenantId": m["tenantId"],
                        "createdTimestamp": m["createdTimestamp"], "updatedTimestamp": m["updatedTimestamp"]}
                if details["type"] == "local":
                    envoy_id = self.active_envoy_id(m["tenantId"], r["resourceId"])
                    out.append({**base, "selectorScope": "local", "zoneName": None, "envoyId": envoy_id,
                                "pollerResourceId": None})
                    continue
                for zone in details.get("monitoringZones") or []:
                    poller = self._poller_for(m["tenantId"], zone)
                    out.append({**base, "selectorScope": "remote", "zoneName": zone,
                                "envoyId": poller.envoy_id if poller else None,
                                "pollerResourceId": poller.resource_id if poller else None})
        return out

    def list_bound_monitors(self, tenant: str, resource_id: str | None = None,
                            monitor_id: str | None = None) -> list[dict[str, Any]]:
        hidden = ("tenantId", "pollerResourceId", "envoyId")
        return [{k: v for k, v in b.items() if k not in hidden and not (k == "zoneName" and not v)}
                for b in self.bound_monitors(tenant)
                if (resource_id is None or b["resourceId"] == resource_id)
                and (monitor_id is None or b["monitorId"] == monitor_id)]

    def bound_monitors_for_envoy(self, envoy_id: str) -> list[dict[str, Any]]:
        return [b for b in self.bound_monitors() if b.get("envoyId") == envoy_id]

    # ------------------------------------------------------------------ event tasks (EEM)
    @property
    def _task_era(self) -> str:
        """The event-engine generation the sandbox plays (its event format): tasks follow it too."""
        return self.ctx.config.event_format

    def _validate_task(self, body: dict[str, Any]) -> None:
        """EEM ``TaskCU`` bean validation; unknown properties (the stale Go-e2et ``measurement``,
        ``monitorType``, ``metricName``) are ignored by Jackson, so they fail as missing fields.
        An older era validates its own body (sandbox/salus/task_eras.py)."""
        if self._task_era in task_eras.LEGACY_ERAS:
            bad = task_eras.legacy_errors(body, self._task_era, COMPARATORS, MONITORING_SYSTEMS,
                                          self._validate_labels)
            if bad:
                raise validation_failed(bad)
            return
        bad: list[str] = []
        if not body.get("name"):
            bad.append("name")
        if body.get("monitoringSystem") not in MONITORING_SYSTEMS:
            bad.append("monitoringSystem")
        tp = body.get("taskParameters")
        if not isinstance(tp, dict):
            bad.append("taskParameters")
        else:
            if not isinstance(tp.get("metricGroup"), str) or not tp["metricGroup"].strip():
                bad.append("taskParameters.metricGroup")
            self._validate_labels(tp.get("labelSelector"), "taskParameters.labelSelector", bad)
            for f in ("defaultConsecutiveCount", "zoneQuorumCount"):
                if tp.get(f) is not None and (not isinstance(tp[f], int) or isinstance(tp[f], bool) or tp[f] < 1):
                    bad.append(f"taskParameters.{f}")
            exprs = tp.get("stateExpressions") or []
            if not isinstance(exprs, list):
                bad.append("taskParameters.stateExpressions")
                exprs = []
            for i, se in enumerate(exprs):
                path = f"taskParameters.stateExpressions[{i}]"
                if not isinstance(se, dict):
                    bad.append(path)
                    continue
                if se.get("state") not in ("CRITICAL", "WARNING", "OK"):
                    bad.append(f"{path}.state")
                self._expr_errors(se.get("expression"), f"{path}.expression", bad)
        if bad:
            raise validation_failed(bad)

    def _expr_errors(self, e: Any, path: str, bad: list[str]) -> None:
        """Field paths of an invalid comparison/logical expression tree."""
        if not isinstance(e, dict):
            bad.append(path)
        elif e.get("type") == "comparison":
            if e.get("comparator") not in COMPARATORS:
                bad.append(f"{path}.comparator")
            if e.get("input") in (None, ""):
                bad.append(f"{path}.input")
            if e.get("comparisonValue") is None:
                bad.append(f"{path}.comparisonValue")
        elif e.get("type") == "logical":
            if e.get("operator") not in ("AND", "OR"):
                bad.append(f"{path}.operator")
            subs = e.get("expressions")
            if not isinstance(subs, list) or not subs:
                bad.append(f"{path}.expressions")
            else:
                for i, sub in enumerate(subs):
                    self._expr_errors(sub, f"{path}.expressions[{i}]", bad)
        else:
            bad.append(f"{path}.type")

    @staticmethod
    def _task_params(tp: dict[str, Any]) -> dict[str, Any]:
        """Only the ``EventEngineTaskParameters`` properties, with EEM's defaults."""
        keys = ("metricGroup", "labelSelector", "groupBy", "messageTemplate", "defaultConsecutiveCount",
                "zoneQuorumCount", "zoneLabel", "stateExpressions")
        out = {k: tp.get(k) for k in keys}
        for k, default in (("labelSelector", {}), ("groupBy", []), ("defaultConsecutiveCount", 1),
                           ("zoneQuorumCount", 1), ("stateExpressions", [])):
            if out[k] is None:
                out[k] = default
        return out

    def _task_fields(self, body: dict[str, Any]) -> dict[str, Any]:
        """The stored fields of a validated body, in the sandbox's era."""
        if self._task_era in task_eras.LEGACY_ERAS:
            return task_eras.legacy_record(body, self._task_era)
        return {"name": body["name"], "taskParameters": self._task_params(body["taskParameters"]),
                "monitoringSystem": body["monitoringSystem"]}

    def _task_dto(self, t: dict[str, Any], admin: bool = False) -> dict[str, Any]:
        keys = (task_eras.dto_keys(self._task_era) if self._task_era in task_eras.LEGACY_ERAS else
                ["id", "name", "taskParameters", "monitoringSystem", "createdTimestamp", "updatedTimestamp"])
        if admin:
            keys += ["tenantId", "partitionId"]
        return {k: t.get(k) for k in keys}

    def list_tasks(self, tenant: str) -> list[dict[str, Any]]:
        return [self._task_dto(t) for t in self.store.list("task", tenant)]

    def create_task(self, tenant: str, body: dict[str, Any]) -> dict[str, Any]:
        self._validate_task(body)
        ts = now_iso()
        t = {"id": str(uuid.uuid4()), "tenantId": tenant, **self._task_fields(body), "partitionId": 0,
             "createdTimestamp": ts, "updatedTimestamp": ts}
        self.store.put("task", t["id"], tenant, t)
        self._task_changed(tenant, t["id"])
        return self._task_dto(t)

    def _task_changed(self, tenant: str, tid: str) -> None:
        self._publish(topics.TASK_CHANGES, f"{tenant}:{tid}", {"tenantId": tenant, "taskId": tid}, "TaskChangeEvent")
        self._changed("tasks", tenant)

    def get_task(self, tenant: str, tid: str) -> dict[str, Any]:
        return self._task_dto(self._must("task", tid, tenant, "Event task"))

    def update_task(self, tenant: str, tid: str, body: dict[str, Any]) -> dict[str, Any]:
        t = self._must("task", tid, tenant, "Event task")
        self._validate_task(body)
        t.update(self._task_fields(body), updatedTimestamp=now_iso())
        self.store.put("task", tid, tenant, t)
        self._task_changed(tenant, tid)
        return self._task_dto(t)

    def delete_task(self, tenant: str, tid: str) -> None:
        self._must("task", tid, tenant, "Event task")
        self.store.delete("task", tid)
        self._task_changed(tenant, tid)

    def tasks_for(self, tenant_id: str, metric_group: str) -> list[dict[str, Any]]:
        """The tenant's tasks for one metric group, with the parameters the engine evaluates
        (an older era's task carries them converted under ``engine``)."""
        out = []
        for t in self.store.list("task", tenant_id):
            params = t.get("engine") or t["taskParameters"]
            if params.get("metricGroup") == metric_group:
                out.append({**self._task_dto(t, admin=True), "taskParameters": params})
        return out

    # ------------------------------------------------------------------ tenant metadata, templates, policies (PM)
    def tenant_account_type(self, tenant_id: str) -> str | None:
        md = self.store.get("tenant_meta", tenant_id)
        return md.get("accountType") if md else None

    def list_tenant_metadata(self) -> list[dict[str, Any]]:
        return self.store.list("tenant_meta")

    def get_tenant_metadata(self, tenant: str) -> dict[str, Any]:
        return self._must("tenant_meta", tenant, None, "Tenant metadata")

    def upsert_tenant_metadata(self, tenant: str, body: dict[str, Any], create: bool = False) -> dict[str, Any]:
        """POST creates (422 when present); PUT (PM ``updateMetaData``) needs it present (404) and,
        like ``upsertTenantMetaData``'s ``whenNonNull`` mapping, changes only the fields sent."""
        existing = self.store.get("tenant_meta", tenant)
        if create and existing:
            raise AlreadyExists(f"Metadata already exists for tenant {tenant}")
        if not create and existing is None:
            raise NotFound(f"No metadata found for tenant {tenant}")
        old = existing or {}
        ts = now_iso()
        account = body.get("accountType") if body.get("accountType") is not None else old.get("accountType")
        meta = body.get("metadata") if body.get("metadata") is not None else old.get("metadata")
        md = {"id": old.get("id", str(uuid.uuid4())), "tenantId": tenant,
              "accountType": account, "metadata": meta or {},
              "createdTimestamp": old.get("createdTimestamp", ts), "updatedTimestamp": ts}
        self.store.put("tenant_meta", tenant, tenant, md)
        self._apply_policies(tenant)
        return md

    def delete_tenant_metadata(self, tenant: str) -> None:
        self.get_tenant_metadata(tenant)
        self.store.delete("tenant_meta", tenant)
        self._apply_policies(tenant)

    def list_templates(self) -> list[dict[str, Any]]:
        return [self._monitor_dto(m) for m in self.store.list("template")]

    @staticmethod
    def _template_selects_by_labels(body: dict[str, Any]) -> None:
        """MM ``createPolicyMonitor``/``updatePolicyMonitor``: a template is cloned into many tenants,
        so it may not name one resource (IllegalArgumentException → 400)."""
        if str(body.get("resourceId") or "").strip():
            raise BadRequest("Policy Monitors must use label selectors and not a resourceId")

    def create_template(self, body: dict[str, Any]) -> dict[str, Any]:
        plugin = self._validate_monitor(None, body, template=True)
        self._template_selects_by_labels(body)
        ts = now_iso()
        m = {"id": str(uuid.uuid4()), "name": body.get("name"), "labelSelector": body.get("labelSelector"),
             "labelSelectorMethod": body.get("labelSelectorMethod") or "AND", "resourceId": body.get("resourceId"),
             "excludedResourceIds": body.get("excludedResourceIds"), "metadata": body.get("metadata") or {},
             "interval": iso_duration(duration_seconds(body.get("interval") or "PT1M", "interval")),
             "details": body["details"], "policy": False,
             "summary": _summary(plugin),
             "createdTimestamp": ts, "updatedTimestamp": ts}
        self.store.put("template", m["id"], None, m)
        return self._monitor_dto(m)

    def get_template(self, tid: str) -> dict[str, Any]:
        return self._monitor_dto(self._must("template", tid, None, "Monitor template"))

    def update_template(self, tid: str, body: dict[str, Any]) -> dict[str, Any]:
        m = self._must("template", tid, None, "Monitor template")
        merged = {**m, **{k: v for k, v in body.items() if v is not None}}
        self._validate_monitor(None, merged, template=True)
        self._template_selects_by_labels(merged)
        merged["updatedTimestamp"] = now_iso()
        self.store.put("template", tid, None, merged)
        return self._monitor_dto(merged)

    def delete_template(self, tid: str) -> None:
        self._must("template", tid, None, "Monitor template")
        if any(p.get("monitorId") == tid for p in self.store.list("policy")):
            raise DeletionNotAllowed(f"Monitor template {tid} is used by a policy")
        self.store.delete("template", tid)

    def _policy_dto(self, p: dict[str, Any]) -> dict[str, Any]:
        return {k: p.get(k) for k in ("id", "scope", "subscope", "name", "monitorId", "createdTimestamp",
                                      "updatedTimestamp")}

    def list_policies(self) -> list[dict[str, Any]]:
        return [self._policy_dto(p) for p in self.store.list("policy")]

    def get_policy(self, pid: str) -> dict[str, Any]:
        return self._policy_dto(self._must("policy", pid, None, "Monitor policy"))

    def create_policy(self, body: dict[str, Any], opt_out: bool = False) -> dict[str, Any]:
        scope, sub, tmpl = body.get("scope"), body.get("subscope"), body.get("monitorTemplateId")
        bad = []
        if scope not in ("GLOBAL", "ACCOUNT_TYPE", "SLA", "TENANT"):
            bad.append("scope")
        if (scope != "GLOBAL") != bool(sub):       # PolicyValidator: GLOBAL has none, every other scope one
            bad.append("subscope")
        if not body.get("name"):
            bad.append("name")
        if opt_out:
            if tmpl is not None or scope != "TENANT":
                bad.append("monitorTemplateId")
        elif scope != "TENANT" and not tmpl:
            bad.append("monitorTemplateId")
        if bad:
            raise validation_failed(bad)
        for p in self.store.list("policy"):
            if (p["scope"], p.get("subscope"), p["name"]) == (scope, sub, body["name"]):
                raise AlreadyExists(f"Policy already exists with scope:subscope:name of "
                                    f"{scope}:{sub}:{body['name']}")
        if tmpl and self.store.get("template", tmpl) is None:
            raise BadRequest(f"Invalid monitor id provided: {tmpl}")
        ts = now_iso()
        p = {"id": str(uuid.uuid4()), "scope": scope, "subscope": sub, "name": body["name"], "monitorId": tmpl,
             "createdTimestamp": ts, "updatedTimestamp": ts}
        self.store.put("policy", p["id"], None, p)
        self._publish(topics.POLICIES, p["id"], {"policyId": p["id"]}, "MonitorPolicyEvent")
        for t in self._all_tenants():
            self._apply_policies(t)
        return self._policy_dto(p)

    def delete_policy(self, pid: str) -> None:
        self._must("policy", pid, None, "Monitor policy")
        self.store.delete("policy", pid)
        for t in self._all_tenants():
            self._apply_policies(t)

    def _all_tenants(self) -> set[str]:
        tenants = {m["tenantId"] for m in self.store.list("tenant_meta")}
        tenants |= {m["tenantId"] for m in self.store.list("monitor")}
        return tenants

    def effective_policies(self, tenant: str) -> list[dict[str, Any]]:
        """Policies in force for the tenant (PM's effective set; TENANT opt-outs remove by name)."""
        account = self.tenant_account_type(tenant)
        chosen: dict[str, dict[str, Any]] = {}
        for p in self.store.list("policy"):
            applies = (p["scope"] == "GLOBAL" or (p["scope"] == "ACCOUNT_TYPE" and p["subscope"] == account)
                       or (p["scope"] == "TENANT" and p["subscope"] == tenant))
            if not applies:
                continue
            prev = chosen.get(p["name"])
            rank = {"GLOBAL": 0, "ACCOUNT_TYPE": 1, "SLA": 2, "TENANT": 3}
            if prev is None or rank[p["scope"]] >= rank[prev["scope"]]:
                chosen[p["name"]] = p
        return [p for p in chosen.values() if p.get("monitorId")]

    def _apply_policies(self, tenant: str) -> None:
        """Clone every effective policy's template into the tenant; remove clones no longer in force."""
        wanted = {p["id"]: p for p in self.effective_policies(tenant)}
        have = {m["policyId"]: m for m in self.store.list("monitor", tenant) if m.get("policy")}
        for pid, m in have.items():
            if pid not in wanted:
                self.delete_monitor(tenant, m["id"], allow_policy=True)
        for pid, p in wanted.items():
            if pid in have:
                continue
            tmpl = self.store.get("template", p["monitorId"])
            if tmpl is None:
                continue
            body = {k: tmpl.get(k) for k in ("name", "labelSelector", "labelSelectorMethod", "resourceId",
                                             "excludedResourceIds", "metadata", "interval", "details")}
            try:
                self._new_monitor(tenant, body, policy_id=pid)
            except DomainError as e:
                log.warning("policy %s not applied to tenant %s: %s", pid, tenant, e.message)

    # ------------------------------------------------------------------ presence partitions, tenant delete
    def get_partitions(self) -> list[dict[str, str]]:
        doc = self.store.get("partitions", "presence")
        return doc["ranges"] if doc else []

    def set_partitions(self, count: Any) -> dict[str, bool]:
        if not isinstance(count, int) or count < 1 or count & (count - 1):
            return {"success": False}
        size = 2 ** 256 // count
        ranges = [{"start": f"{i * size:064x}", "end": f"{(i + 1) * size - 1:064x}"} for i in range(count)]
        self.store.put("partitions", "presence", None, {"ranges": ranges})
        return {"success": True}

    def delete_tenant(self, tenant: str) -> None:
        """The admin fan-out (API ``CrossServiceController``): every service drops the tenant's data,
        emitting the same events as one-by-one deletes would."""
        for i in self.store.list("install", tenant):
            self.delete_install(tenant, i["id"])
        for t in self.store.list("envoy_token", tenant):
            self.store.delete("envoy_token", t["id"])
        for t in self.store.list("task", tenant):
            self.delete_task(tenant, t["id"])
        for m in self.store.list("monitor", tenant):
            self.delete_monitor(tenant, m["id"], allow_policy=True)
        for r in self.store.list("resource", tenant):
            self.delete_resource(tenant, r["resourceId"])
        for h in self.store.list("history", tenant):
            self.store.delete("history", h["envoyId"])
        for z in self.store.list("zone", tenant):
            self.store.delete("zone", self._zone_key(tenant, z["name"]))
        for p in self.store.list("policy"):
            if p["scope"] == "TENANT" and p.get("subscope") == tenant:
                self.store.delete("policy", p["id"])
        self.store.delete("tenant_meta", tenant)
        self._changed("zones", tenant)
