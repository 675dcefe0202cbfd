"""Agent history (AMB, contract §1.4): attach evidence (connectedAt, disconnectedAt, envoyId, zoneId)."""
from __future__ import annotations

import builtins
from typing import Any

from .base import TenantFamily


class History(TenantFamily):
    def list(self, resource_id: str | None = None, envoy_id: str | None = None) -> builtins.list[dict[str, Any]]:
        params = {k: v for k, v in (("resourceId", resource_id), ("envoyId", envoy_id)) if v}
        return list(self._pages("agent-history", params or None))

    def for_resource(self, resource_id: str) -> builtins.list[dict[str, Any]]:
        return self.list(resource_id=resource_id)

    def connected(self, resource_id: str) -> bool:
        """True while some attach of this resource has no ``disconnectedAt``."""
        return any(h.get("disconnectedAt") is None for h in self.for_resource(resource_id))
