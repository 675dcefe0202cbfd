"""One small client per Salus API family, over ``support.http.ApiClient`` (paths per contract §1–§3).

Clients know URLs and payload shapes; they know nothing about behave or the run's fixtures.
"""
from __future__ import annotations

import datetime as dt
import threading
from typing import Any, Iterator

from ..http import ApiClient, ExchangeLog
from .paging import drain, iter_all


class Identity:
    """Rackspace Identity v2.0 (§3): API-key body for users, password body when one is configured."""

    def __init__(self, url: str, timeout: float, log: ExchangeLog) -> None:
        self.api = ApiClient(url, timeout, log, service="identity service")
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[str, dt.datetime]] = {}

    def token(self, username: str, api_key: str | None = None, password: str | None = None) -> str:
        with self._lock:
            cached = self._cache.get(username)
            if cached and cached[1] > dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5):
                return cached[0]
        if password:
            body = {"auth": {"passwordCredentials": {"username": username, "password": password}}}
        else:
            body = {"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": username, "apiKey": api_key}}}
        resp = self.api.post("tokens", body, expect=(200,), what=f"signing in {username}")
        token = resp["access"]["token"]
        self.api.log.redact.add(token["id"])
        expires = dt.datetime.fromisoformat(token.get("expires", "2999-01-01T00:00:00Z").replace("Z", "+00:00"))
        with self._lock:
            self._cache[username] = (token["id"], expires)
        return token["id"]


class _Family:
    def __init__(self, api: ApiClient, tenant: str) -> None:
        self.api = api
        self.tenant = tenant

    def _t(self, path: str) -> str:
        return f"tenant/{self.tenant}/{path}"

    def _pages(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        return iter_all(lambda p: self.api.get(self._t(path), params={**(params or {}), "page": p, "size": 100}))


class Catalog(_Family):
    """Agent releases (ACM): public list, admin create."""

    def releases(self, agent_type: str | None = None) -> list[dict[str, Any]]:
        return list(self._pages("agent-releases", {"type": agent_type} if agent_type else None))

    def create_release(self, admin: ApiClient, body: dict[str, Any]) -> dict[str, Any]:
        return admin.post("api/agent-releases", body, expect=(201,), what="creating an agent release")


class Installs(_Family):
    def list(self) -> list[dict[str, Any]]:
        return list(self._pages("agent-installs"))

    def create(self, release_id: str, selector: dict[str, str]) -> dict[str, Any]:
        return self.api.post(self._t("agent-installs"), {"agentReleaseId": release_id, "labelSelector": selector,
                                                         "labelSelectorMethod": "AND"},
                             expect=(201,), what="creating an agent install")

    def delete(self, install_id: str) -> None:
        self.api.delete(self._t(f"agent-installs/{install_id}"), expect=(204, 404))


class Zones(_Family):
    def list(self) -> list[dict[str, Any]]:
        return list(self._pages("zones"))

    def create_private(self, name: str) -> dict[str, Any]:
        return self.api.post(self._t("zones"), {"name": name, "pollerTimeout": 120}, expect=(201,),
                             what="creating a private zone")

    def delete(self, name: str) -> None:
        self.api.delete(self._t(f"zones/{name}"), expect=(204, 404))


class Resources(_Family):
    def list(self) -> list[dict[str, Any]]:
        return list(self._pages("resources"))

    def get(self, resource_id: str) -> dict[str, Any] | None:
        return self.api.get(self._t(f"resources/{resource_id}"), expect=(200, 404)) or None

    def create(self, resource_id: str, labels: dict[str, str], metadata: dict[str, str]) -> dict[str, Any]:
        return self.api.post(self._t("resources"), {"resourceId": resource_id, "labels": labels,
                                                    "metadata": metadata, "presenceMonitoringEnabled": False},
                             expect=(201,), what="creating a resource")

    def delete(self, resource_id: str) -> None:
        self.api.delete(self._t(f"resources/{resource_id}"), expect=(204, 404))

    def drain(self, select) -> list[dict[str, Any]]:
        return drain(lambda p: self.api.get(self._t("resources"), params={"page": p, "size": 100}),
                     select, lambda r: self.delete(r["resourceId"]))


class Monitors(_Family):
    def list(self) -> list[dict[str, Any]]:
        return list(self._pages("monitors"))

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.api.post(self._t("monitors"), body, expect=(201,), what="creating a monitor")

    def delete(self, monitor_id: str) -> None:
        self.api.delete(self._t(f"monitors/{monitor_id}"), expect=(204, 404))

    def bound(self, resource_id: str | None = None) -> list[dict[str, Any]]:
        return list(self._pages("bound-monitors", {"resourceId": resource_id} if resource_id else None))


class Tasks(_Family):
    """Event tasks: the gateway's ``event-tasks`` (EEM ``tasks``), current TaskCU shape (§6.1)."""

    def list(self) -> list[dict[str, Any]]:
        return list(self._pages("event-tasks"))

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.api.post(self._t("event-tasks"), body, expect=(201,), what="creating an event task")

    def delete(self, task_id: str) -> None:
        self.api.delete(self._t(f"event-tasks/{task_id}"), expect=(204, 404))


def failure_task(name: str, metric_group: str, selector: dict[str, str], group_by: list[str]) -> dict[str, Any]:
    """CRITICAL when telegraf's ``result_code`` is not 0 (a failed check), else OK."""
    return {"name": name, "monitoringSystem": "salus",
            "taskParameters": {"metricGroup": metric_group, "labelSelector": selector, "groupBy": group_by,
                               "defaultConsecutiveCount": 1, "zoneQuorumCount": 1,
                               "stateExpressions": [{"state": "CRITICAL", "message": f"{metric_group} failed",
                                                     "expression": {"type": "comparison", "comparator": "!=",
                                                                    "input": "result_code", "comparisonValue": 0}}]}}


class EnvoyTokens(_Family):
    def list(self) -> list[dict[str, Any]]:
        return list(self._pages("envoy-tokens"))

    def create(self, description: str) -> dict[str, Any]:
        tok = self.api.post(self._t("envoy-tokens"), {"description": description}, expect=(201,),
                            what="creating an envoy token")
        self.api.log.redact.add(tok.get("token"))
        return tok

    def delete(self, token_id: str) -> None:
        self.api.delete(self._t(f"envoy-tokens/{token_id}"), expect=(204, 404))


class History(_Family):
    def for_resource(self, resource_id: str) -> list[dict[str, Any]]:
        return list(self._pages("agent-history", {"resourceId": resource_id}))


class Policies:
    """Admin API: monitor templates, monitor policies, tenant metadata (§2)."""

    def __init__(self, admin: ApiClient) -> None:
        self.api = admin

    def account_type(self, tenant: str) -> str | None:
        md = self.api.get(f"api/tenant-metadata/{tenant}", expect=(200, 404))
        return md.get("accountType") if md else None

    def set_account_type(self, tenant: str, account_type: str) -> None:
        self.api.post("api/tenant-metadata", {"tenantId": tenant, "accountType": account_type, "metadata": {}},
                      expect=(201,), what="creating tenant metadata")

    def create_template(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.api.post("api/monitor-templates", body, expect=(201,), what="creating a monitor template")

    def delete_template(self, template_id: str) -> None:
        self.api.delete(f"api/monitor-templates/{template_id}", expect=(204, 404))

    def create_account_policy(self, name: str, account_type: str, template_id: str) -> dict[str, Any]:
        return self.api.post("api/policies/monitors", {"scope": "ACCOUNT_TYPE", "subscope": account_type,
                                                       "name": name, "monitorTemplateId": template_id},
                             expect=(201,), what="creating an account-type monitor policy")

    def delete_policy(self, policy_id: str) -> None:
        self.api.delete(f"api/policies/monitors/{policy_id}", expect=(204, 404))

    def policies(self) -> list[dict[str, Any]]:
        return list(iter_all(lambda p: self.api.get("api/policies/monitors", params={"page": p, "size": 100})))

    def templates(self) -> list[dict[str, Any]]:
        return list(iter_all(lambda p: self.api.get("api/monitor-templates", params={"page": p, "size": 100})))


class FaultControl:
    """The sandbox's admin-only fault switches (docs/design.md)."""

    def __init__(self, api: ApiClient) -> None:
        self.api = api

    def enable(self, name: str, param: Any = None) -> dict[str, Any]:
        return self.api.put(f"faults/{name}", {"param": param})

    def disable(self, name: str) -> dict[str, Any]:
        return self.api.delete(f"faults/{name}", expect=(200,))

    def clear(self) -> dict[str, Any]:
        return self.api.delete("faults", expect=(200,))

    def active(self) -> dict[str, Any]:
        return self.api.get("faults")["active"]
