"""Tenant metadata (PM ``TenantManagement``) and the presence monitor's partitions (admin API)."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from .core import Core
from .errors import AlreadyExists, NotFound
from .values import now_iso


class TenantMetadata:
    def __init__(self, core: Core, on_change: Callable[[str], None]) -> None:
        """``on_change(tenant)`` after every change (policies in force depend on the account type)."""
        self.core = core
        self.store = core.store
        self._on_change = on_change

    def account_type(self, tenant_id: str) -> str | None:
        md = self.store.get("tenant_meta", tenant_id)
        return md.get("accountType") if md else None

    def list(self) -> list[dict[str, Any]]:
        return self.store.list("tenant_meta")

    def get(self, tenant: str) -> dict[str, Any]:
        return self.core.must("tenant_meta", tenant, None, "Tenant metadata")

    def upsert(self, tenant: str, body: dict[str, Any], create: bool = False) -> dict[str, Any]:
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
        self._on_change(tenant)
        return md

    def delete(self, tenant: str) -> None:
        self.get(tenant)
        self.store.delete("tenant_meta", tenant)
        self._on_change(tenant)


class PresencePartitions:
    """``/api/presence-monitor/partitions``: the key space split into ``count`` equal ranges."""

    def __init__(self, core: Core) -> None:
        self.store = core.store

    def get(self) -> list[dict[str, str]]:
        doc = self.store.get("partitions", "presence")
        return doc["ranges"] if doc else []

    def set(self, count: Any) -> dict[str, bool]:
        """A power of two, or ``{"success": false}`` (as the real endpoint answers)."""
        if not isinstance(count, int) or count < 1 or count & (count - 1):
            return {"success": False}
        size = 2 ** 256 // count
        ranges = [{"start": f"{i * size:064x}", "end": f"{(i + 1) * size - 1:064x}"} for i in range(count)]
        self.store.put("partitions", "presence", None, {"ranges": ranges})
        return {"success": True}
