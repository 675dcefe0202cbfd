"""What every tenant-scoped client shares: the API client, the tenant, and paged listing."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..http import ApiClient
from .deletes import delete_verified, send_delete
from .paging import drain, iter_all

PAGE_SIZE = 100


class TenantFamily:
    """A public-API family under ``/v1.0/tenant/{t}/`` (the base URL already ends with ``/v1.0/``)."""

    #: the route family, as failure messages name it (``resources``, ``agent-installs`` …)
    FAMILY = "?"

    def __init__(self, api: ApiClient, tenant: str) -> None:
        self.api = api
        self.tenant = tenant

    def _t(self, path: str) -> str:
        return f"tenant/{self.tenant}/{path}"

    def _fetch(self, path: str, params: dict[str, Any] | None = None):
        return lambda page: self.api.get(self._t(path), params={**(params or {}), "page": page, "size": PAGE_SIZE})

    def _pages(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        return iter_all(self._fetch(path, params))

    def _drain(self, path: str, select, delete, ident) -> list[dict[str, Any]]:
        return drain(self._fetch(path), select, delete, ident, self.FAMILY)

    def send_delete(self, item_path: str) -> int:
        """One DELETE, unchecked (batch deletes read back once, see ``deletes.delete_all_verified``)."""
        return send_delete(self.api, self._t(item_path))

    def _delete_read_back(self, item_path: str, ident: str, still_there=None) -> None:
        """DELETE, then GET the object back: a 204 that leaves it raises ``AssertionError``."""
        path = self._t(item_path)
        delete_verified(self.api, self.FAMILY, ident, path,
                        still_there or (lambda: self.api.get(path, expect=(200, 404)) is not None))
