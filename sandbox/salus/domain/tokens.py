"""Envoy tokens (AUTH ``TokenGenerator``): what an envoy trades for its client certificate."""
from __future__ import annotations

import base64
import secrets
import uuid
from typing import Any

from .core import Core
from .values import now_iso


class EnvoyTokens:
    def __init__(self, core: Core) -> None:
        self.core = core
        self.store = core.store

    def list(self, tenant: str) -> list[dict[str, Any]]:
        return self.store.list("envoy_token", tenant)

    def create(self, tenant: str, description: str | None = None) -> dict[str, Any]:
        """URL-safe base64 of 18 random bytes (24 characters), as the real generator makes them."""
        ts = now_iso()
        tok = {"id": str(uuid.uuid4()),
               "token": base64.urlsafe_b64encode(secrets.token_bytes(18)).decode(),
               "description": description, "tenantId": tenant, "createdTimestamp": ts,
               "updatedTimestamp": ts, "lastUsed": None}
        self.store.put("envoy_token", tok["id"], tenant, tok)
        return tok

    def get(self, tenant: str, tid: str) -> dict[str, Any]:
        return self.core.must("envoy_token", tid, tenant, "Envoy token")

    def update(self, tenant: str, tid: str, body: dict[str, Any]) -> dict[str, Any]:
        tok = self.get(tenant, tid)
        tok["description"] = body.get("description")
        tok["updatedTimestamp"] = now_iso()
        return self.store.put("envoy_token", tid, tenant, tok)

    def delete(self, tenant: str, tid: str) -> None:
        self.get(tenant, tid)
        self.store.delete("envoy_token", tid)

    def tenant_for(self, token: str) -> str | None:
        """The tenant owning ``token`` (its ``lastUsed`` stamped), else None."""
        for tok in self.store.list("envoy_token"):
            if secrets.compare_digest(tok["token"], token):
                tok["lastUsed"] = now_iso()
                self.store.put("envoy_token", tok["id"], tok["tenantId"], tok)
                return tok["tenantId"]
        return None

    def drop_tenant(self, tenant: str) -> None:
        for t in self.store.list("envoy_token", tenant):
            self.store.delete("envoy_token", t["id"])
