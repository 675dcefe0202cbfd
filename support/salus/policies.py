"""Admin API (contract §2): monitor templates, monitor policies (ACCOUNT_TYPE, opt-out), tenant metadata.

Note the asymmetry: a policy is created with ``monitorTemplateId`` and answered with ``monitorId``.
"""
from __future__ import annotations

from typing import Any

from ..http import ApiClient
from .monitors import http_plugin
from .paging import iter_all


class Policies:
    def __init__(self, admin: ApiClient) -> None:
        self.api = admin

    def _list(self, path: str) -> list[dict[str, Any]]:
        return list(iter_all(lambda p: self.api.get(path, params={"page": p, "size": 100})))

    # tenant metadata ------------------------------------------------------------------
    def tenant_metadata(self, tenant: str) -> dict[str, Any] | None:
        return self.api.get(f"api/tenant-metadata/{tenant}", expect=(200, 404))

    def account_type(self, tenant: str) -> str | None:
        md = self.tenant_metadata(tenant)
        return md.get("accountType") if md else None

    def set_account_type(self, tenant: str, account_type: str, metadata: dict[str, str] | None = None) -> None:
        """Create the tenant's metadata, or update it when it exists — sending only what changes:
        PM keeps the fields a PUT leaves out, so the tenant's other metadata survives."""
        if self.tenant_metadata(tenant) is None:
            self.api.post("api/tenant-metadata", {"tenantId": tenant, "accountType": account_type,
                                                  "metadata": metadata or {}},
                          expect=(201,), what="creating tenant metadata")
        else:
            body: dict[str, Any] = {"accountType": account_type}
            if metadata is not None:
                body["metadata"] = metadata
            self.api.put(f"api/tenant-metadata/{tenant}", body, expect=(200,), what="updating tenant metadata")

    def delete_tenant_metadata(self, tenant: str) -> None:
        self.api.delete(f"api/tenant-metadata/{tenant}", expect=(204, 404))

    # monitor templates -----------------------------------------------------------------
    def templates(self) -> list[dict[str, Any]]:
        return self._list("api/monitor-templates")

    @staticmethod
    def template_body(name: str, selector: dict[str, str], zones: list[str], url: str, interval_s: int,
                      metadata: dict[str, str] | None = None) -> dict[str, Any]:
        """A remote HTTP check template selecting resources by label (MM refuses a ``resourceId``
        in a template: it is cloned into every tenant of the account type)."""
        return {"name": name, "labelSelector": selector, "interval": f"PT{int(interval_s)}S",
                "metadata": metadata or {},
                "details": {"type": "remote", "monitoringZones": zones, "plugin": http_plugin(url)}}

    def create_template(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.api.post("api/monitor-templates", body, expect=(201,), what="creating a monitor template")

    def delete_template(self, template_id: str) -> None:
        self.api.delete(f"api/monitor-templates/{template_id}", expect=(204, 404))

    # monitor policies ------------------------------------------------------------------
    def policies(self) -> list[dict[str, Any]]:
        return self._list("api/policies/monitors")

    def create_policy(self, scope: str, subscope: str | None, name: str, template_id: str | None) -> dict[str, Any]:
        return self.api.post("api/policies/monitors", {"scope": scope, "subscope": subscope, "name": name,
                                                       "monitorTemplateId": template_id},
                             expect=(201,), what=f"creating a {scope} monitor policy")

    def create_account_policy(self, name: str, account_type: str, template_id: str) -> dict[str, Any]:
        return self.create_policy("ACCOUNT_TYPE", account_type, name, template_id)

    def opt_out(self, scope: str, subscope: str | None, name: str) -> dict[str, Any]:
        """An opt-out policy (``monitorTemplateId`` must be null)."""
        return self.api.post("api/policies/monitors/opt-out", {"scope": scope, "subscope": subscope, "name": name,
                                                               "monitorTemplateId": None},
                             expect=(201,), what="creating a monitor policy opt-out")

    def delete_policy(self, policy_id: str) -> None:
        self.api.delete(f"api/policies/monitors/{policy_id}", expect=(204, 404))

    def effective(self, tenant: str) -> Any:
        return self.api.get(f"api/policies/monitors/effective/{tenant}", expect=(200,))
