"""What every tenant-scoped client shares: the API client, the tenant, and paged listing."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..http import ApiClient
from .paging import drain, iter_all

PAGE_SIZE = 100


class TenantFamily:
    """A public-API family under ``/v1.0/tenant/{t}/`` (the base URL already ends with ``/v1.0/``)."""

    def __init__(self, api: ApiClient, tenant: str) -> None:
        self.api = api
        self.tenant = tenant

    def _t(self, path: str) -> str:
        return f"tenant/{self.tenant}/{path}"

    def _fetch(self, path: str, params: dict[str, Any] | None = None):
        return lambda page: self.api.get(self._t(path), params={**(params or {}), "page": page, "size": PAGE_SIZE})

    def _pages(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        return iter_all(self._fetch(path, params))

    def _drain(self, path: str, select, delete) -> list[dict[str, Any]]:
        return drain(self._fetch(path), select, delete)
