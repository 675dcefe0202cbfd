"""Each era's event and the UMF metric flattened to the one view the matchers use (no broker)."""
from __future__ import annotations

from support.salus.events import normalise_event, normalise_umf


def _umf(tenant: str, device: str, system: dict[str, str] | None = None) -> dict:
    return {"tenantId": tenant, "device": device, "systemMetadata": system or {},
            "metrics": [{"group": "presence_monitor", "name": "connected", "int": "0"}]}


def test_umf_resource_from_system_metadata_first() -> None:
    [m] = normalise_umf(_umf("123", "123:dev", {"resource_id": "r-1", "envoy_id": "e"}))
    assert (m["resourceId"], m["envoyId"], m["value"]) == ("r-1", "e", "0")


def test_umf_resource_from_device_when_tenant_id_holds_a_colon() -> None:
    """A disconnected presence report has no systemMetadata; device is ``tenant:resource``."""
    assert normalise_umf(_umf("hybrid:123", "hybrid:123:r-2"))[0]["resourceId"] == "r-2"
    assert normalise_umf(_umf("123", "123:r-3"))[0]["resourceId"] == "r-3"


def test_notification_resource_and_monitor_come_from_labels() -> None:
    [e] = normalise_event("notification")({
        "id": "123:t:0:CRITICAL", "tenantId": "123", "taskId": "t", "state": "CRITICAL", "metricGroup": "net_response",
        "labels": {"system_resource_id": "r-1", "system_monitor_id": "m-1"}})
    assert (e["resourceId"], e["monitorId"], e["metricGroup"], e["state"]) == ("r-1", "m-1", "net_response", "CRITICAL")
