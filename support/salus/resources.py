"""Resources (RM, contract §1.5)."""
from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

from .base import TenantFamily


class Resources(TenantFamily):
    def list(self) -> builtins.list[dict[str, Any]]:
        return list(self._pages("resources"))

    def get(self, resource_id: str) -> dict[str, Any] | None:
        return self.api.get(self._t(f"resources/{resource_id}"), expect=(200, 404))

    def create(self, resource_id: str, labels: dict[str, str] | None = None, metadata: dict[str, str] | None = None,
               presence: bool = False) -> dict[str, Any]:
        return self.api.post(self._t("resources"), {"resourceId": resource_id, "labels": labels or {},
                                                    "metadata": metadata or {}, "presenceMonitoringEnabled": presence},
                             expect=(201,), what="creating a resource")

    def delete(self, resource_id: str) -> None:
        self.api.delete(self._t(f"resources/{resource_id}"), expect=(204, 404))

    def existing(self, ids: builtins.list[str]) -> builtins.list[str]:
        """Those of ``ids`` the tenant still holds (read back, not assumed)."""
        present = {r["resourceId"] for r in self.list()}
        return [i for i in ids if i in present]

    def drain(self, select: Callable[[dict[str, Any]], bool]) -> builtins.list[dict[str, Any]]:
        """Delete every selected resource, safely while paging (see ``paging.drain``)."""
        return self._drain("resources", select, lambda r: self.delete(r["resourceId"]))
