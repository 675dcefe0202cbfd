"""Monitors and bound monitors (MM, contract §1.5/§9)."""
from __future__ import annotations

import builtins
from typing import Any

from .base import TenantFamily


def remote_monitor_body(name: str, resource_id: str, zones: list[str], plugin: dict[str, Any], interval_s: int,
                        metadata: dict[str, str] | None = None) -> dict[str, Any]:
    """``DetailedMonitorInput`` for a remote check of one resource (interval as ISO duration)."""
    return {"name": name, "resourceId": resource_id, "interval": f"PT{int(interval_s)}S",
            "metadata": metadata or {}, "details": {"type": "remote", "monitoringZones": zones, "plugin": plugin}}


def net_response_plugin(host: str, port: int, timeout_s: int = 2) -> dict[str, Any]:
    return {"type": "net_response", "protocol": "tcp", "host": host, "port": port, "timeout": f"PT{timeout_s}S"}


def http_plugin(url: str, timeout_s: int = 2) -> dict[str, Any]:
    return {"type": "http", "url": url, "timeout": f"PT{timeout_s}S"}


class Monitors(TenantFamily):
    def list(self) -> builtins.list[dict[str, Any]]:
        return list(self._pages("monitors"))

    def get(self, monitor_id: str) -> dict[str, Any] | None:
        return self.api.get(self._t(f"monitors/{monitor_id}"), expect=(200, 404))

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.api.post(self._t("monitors"), body, expect=(201,), what="creating a monitor")

    def update(self, monitor_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.api.put(self._t(f"monitors/{monitor_id}"), body, expect=(200,), what="updating a monitor")

    def patch(self, monitor_id: str, ops: builtins.list[dict[str, Any]]) -> dict[str, Any]:
        return self.api.patch(self._t(f"monitors/{monitor_id}"), ops, expect=(200,), what="patching a monitor",
                              headers={"Content-Type": "application/json-patch+json"})

    def delete(self, monitor_id: str) -> None:
        self.api.delete(self._t(f"monitors/{monitor_id}"), expect=(204, 404))

    def bound(self, resource_id: str | None = None, monitor_id: str | None = None) -> builtins.list[dict[str, Any]]:
        params = {k: v for k, v in (("resourceId", resource_id), ("monitorId", monitor_id)) if v}
        return list(self._pages("bound-monitors", params or None))
