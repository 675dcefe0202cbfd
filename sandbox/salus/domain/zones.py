"""Zones (MM ``ZoneManagement``): tenants' private zones and the region's public ``public/...`` ones."""
from __future__ import annotations

import re
from typing import Any

from .core import Core
from .errors import AlreadyExists, DeletionNotAllowed, NotFound
from .requests import Request, checked, rule
from .values import cidrs_invalid, now_iso

PRIVATE_ZONE_RE = re.compile(r"^[a-z0-9_]+$")
PUBLIC_ZONE_RE = re.compile(r"^[a-z0-9_/]+$")
STATES = ("ACTIVE", "INACTIVE", "MAINTENANCE")
PUBLIC = "_PUBLIC_"
_ABSENT = object()      # an update that does not send a field leaves it alone


def _timeout_ok(v: Any) -> bool:
    return isinstance(v, int) and 30 <= v <= 1800


def _cidrs_ok(v: Any) -> bool:
    return v is None or not cidrs_invalid(v)


class PrivateZoneCreate(Request):
    """``ZoneCreatePrivate``: name ``^[a-z0-9_]+$`` (never ``public/``), timeout 30..1800 s (120)."""

    name: Any = None
    pollerTimeout: Any = 120
    state: Any = "ACTIVE"
    sourceIpAddresses: Any = None
    provider: Any = None
    providerRegion: Any = None

    _name = rule("name", ok=lambda v: isinstance(v, str) and bool(PRIVATE_ZONE_RE.match(v))
                 and not v.startswith("public/"), why="^[a-z0-9_]+$, not public/")
    _timeout = rule("pollerTimeout", ok=_timeout_ok, why="30..1800 seconds")
    _state = rule("state", ok=lambda v: v in STATES, why=" or ".join(STATES))
    _cidrs = rule("sourceIpAddresses", ok=_cidrs_ok, why="a list of CIDR networks")


class PublicZoneCreate(Request):
    """``ZoneCreatePublic``: ``public/...`` name, provider, region and CIDRs required, timeout 300."""

    name: Any = None
    provider: Any = None
    providerRegion: Any = None
    sourceIpAddresses: Any = None
    state: Any = "INACTIVE"
    pollerTimeout: Any = 300

    _name = rule("name", ok=lambda v: isinstance(v, str) and bool(PUBLIC_ZONE_RE.match(v))
                 and v.startswith("public/"), why="public/[a-z0-9_/]+")
    _required = rule("provider", "providerRegion", ok=bool, why="required")
    _cidrs = rule("sourceIpAddresses", ok=lambda v: bool(v) and _cidrs_ok(v), why="a list of CIDR networks")
    _state = rule("state", ok=lambda v: v in STATES, why=" or ".join(STATES))
    _timeout = rule("pollerTimeout", ok=_timeout_ok, why="30..1800 seconds")


class ZoneUpdate(Request):
    """``ZoneUpdate``: only the fields sent (and not null) change; each is checked like on create."""

    pollerTimeout: Any = _ABSENT
    state: Any = None
    sourceIpAddresses: Any = None
    provider: Any = None
    providerRegion: Any = None

    _timeout = rule("pollerTimeout", ok=lambda v: v is _ABSENT or _timeout_ok(v), why="30..1800 seconds")
    _state = rule("state", ok=lambda v: v is None or v in STATES, why=" or ".join(STATES))
    _cidrs = rule("sourceIpAddresses", ok=_cidrs_ok, why="a list of CIDR networks")

    def changes(self) -> dict[str, Any]:
        fields = ("provider", "providerRegion", "sourceIpAddresses", "pollerTimeout", "state")
        return {f: v for f in fields if (v := getattr(self, f)) is not None and v is not _ABSENT}


def zone_key(tenant: str | None, name: str) -> str:
    return f"{tenant or PUBLIC}|{name}"


class Zones:
    def __init__(self, core: Core) -> None:
        self.core = core
        self.store = core.store

    @staticmethod
    def dto(z: dict[str, Any], internal: bool = False) -> dict[str, Any]:
        """``ZoneDTO`` (``state`` only in the internal/admin view)."""
        keys = ["name", "pollerTimeout", "provider", "providerRegion", "public", "sourceIpAddresses",
                "createdTimestamp", "updatedTimestamp"] + (["state"] if internal else [])
        return {k: z.get(k) for k in keys}

    @staticmethod
    def _owner(tenant: str | None, name: str) -> str | None:
        return None if name.startswith("public/") else tenant

    def list(self, tenant: str) -> list[dict[str, Any]]:
        """Public zones and the tenant's private ones (MM ``findAllAvailableForTenant``)."""
        zones = self.store.list("zone", PUBLIC) + self.store.list("zone", tenant)
        return [self.dto(z) for z in zones]

    def list_public(self) -> list[dict[str, Any]]:
        return [self.dto(z, internal=True) for z in self.store.list("zone", PUBLIC)]

    def create_private(self, tenant: str, body: dict[str, Any]) -> dict[str, Any]:
        req = checked(PrivateZoneCreate, body)
        if self.store.get("zone", zone_key(tenant, req.name)):
            raise AlreadyExists(f"Zone already exists with name {req.name} on tenant {tenant}")
        ts = now_iso()
        z = {"name": req.name, "tenantId": tenant, "pollerTimeout": req.pollerTimeout, "provider": req.provider,
             "providerRegion": req.providerRegion, "public": False,
             "sourceIpAddresses": req.sourceIpAddresses or [], "state": req.state,
             "createdTimestamp": ts, "updatedTimestamp": ts}
        self.store.put("zone", zone_key(tenant, req.name), tenant, z)
        self.core.changed("zones", tenant)
        return self.dto(z)

    def create_public(self, body: dict[str, Any]) -> dict[str, Any]:
        req = checked(PublicZoneCreate, body)
        if self.store.get("zone", zone_key(None, req.name)):
            raise AlreadyExists(f"Zone already exists with name {req.name}")
        ts = now_iso()
        z = {"name": req.name, "tenantId": PUBLIC, "pollerTimeout": req.pollerTimeout, "provider": req.provider,
             "providerRegion": req.providerRegion, "public": True,
             "sourceIpAddresses": req.sourceIpAddresses, "state": req.state,
             "createdTimestamp": ts, "updatedTimestamp": ts}
        self.store.put("zone", zone_key(None, req.name), PUBLIC, z)
        self.core.changed("zones", PUBLIC)
        return self.dto(z, internal=True)

    def get(self, tenant: str | None, name: str, internal: bool = False) -> dict[str, Any]:
        z = self.store.get("zone", zone_key(self._owner(tenant, name), name))
        if z is None:
            raise NotFound(f"No zone found named {name} on tenant {tenant}")
        return self.dto(z, internal)

    def update(self, tenant: str | None, name: str, body: dict[str, Any]) -> dict[str, Any]:
        key = zone_key(self._owner(tenant, name), name)
        z = self.store.get("zone", key)
        if z is None:
            raise NotFound(f"No zone found named {name} on tenant {tenant}")
        z.update(checked(ZoneUpdate, body).changes())
        z["updatedTimestamp"] = now_iso()
        self.store.put("zone", key, z["tenantId"], z)
        self.core.changed("zones", z["tenantId"])
        return self.dto(z, internal=z["public"])

    def delete(self, tenant: str | None, name: str) -> None:
        """409 while monitors reference the zone."""
        owner = self._owner(tenant, name)
        key = zone_key(owner, name)
        if self.store.get("zone", key) is None:
            raise NotFound(f"No zone found named {name} on tenant {tenant}")
        using = [m for m in self.store.list("monitor", owner)
                 if name in (m.get("details") or {}).get("monitoringZones", [])]
        if using:
            raise DeletionNotAllowed(f"Cannot remove zone with configured monitors. Found {len(using)}.")
        self.store.delete("zone", key)
        self.core.changed("zones", tenant or PUBLIC)

    def exists_for(self, tenant_id: str, zone: str) -> bool:
        """Private zone of the tenant, or a public zone (``public/...``)."""
        return self.store.get("zone", zone_key(self._owner(tenant_id, zone), zone)) is not None

    def drop_tenant(self, tenant: str) -> None:
        for z in self.store.list("zone", tenant):
            self.store.delete("zone", zone_key(tenant, z["name"]))
