"""Zones (MM, contract §1.5/§2/§9): private zones via the public API, public zone lookup."""
from __future__ import annotations

import builtins
from typing import Any

from ..http import ApiClient
from .base import TenantFamily


class Zones(TenantFamily):
    def __init__(self, api: ApiClient, tenant: str, admin: ApiClient | None = None) -> None:
        super().__init__(api, tenant)
        self.admin = admin

    def list(self) -> builtins.list[dict[str, Any]]:
        """The tenant's private zones and the public zones (``findAllAvailableForTenant``)."""
        return list(self._pages("zones"))

    def names(self) -> builtins.list[str]:
        return [str(z.get("name")) for z in self.list()]

    def get(self, name: str) -> dict[str, Any] | None:
        return self.api.get(self._t(f"zones/{name}"), expect=(200, 404))

    def create_private(self, name: str, poller_timeout: int = 120, **extra: Any) -> dict[str, Any]:
        return self.api.post(self._t("zones"), {"name": name, "pollerTimeout": poller_timeout, **extra},
                             expect=(201,), what="creating a private zone")

    def delete(self, name: str) -> None:
        self.api.delete(self._t(f"zones/{name}"), expect=(204, 404))

    def public_zone(self, name: str) -> dict[str, Any] | None:
        """A public zone by name: admin ``/api/zones/{name}`` when admin is available, else the list."""
        if self.admin is not None:
            return self.admin.get(f"api/zones/{name}", expect=(200, 404))
        return next((z for z in self.list() if z.get("name") == name and z.get("public")), None)
