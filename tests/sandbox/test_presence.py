"""Presence monitor: contract §7 UMF per expected resource, connected 1/0, the presence-zero fault."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.common.kafka_bus import KafkaBus
from sandbox.kafka import Broker
from sandbox.salus import faults as F
from sandbox.salus import topics
from sandbox.salus.presence import PresenceMonitor

try:  # works whether or not tests/sandbox is a package
    from .kafka_support import Collector, FakeDomain, make_ctx, unique
except ImportError:
    from kafka_support import Collector, FakeDomain, make_ctx, unique  # type: ignore[no-redef]


@pytest.fixture
def rig(broker: Broker, tmp_path: Path) -> Iterator[tuple[PresenceMonitor, FakeDomain, Collector, str]]:
    broker.create_topics([topics.METRICS], 6)
    tenant = unique("p")
    domain = FakeDomain(resources=[
        {"tenantId": tenant, "resourceId": "up", "labels": {"agent_discovered_os": "linux"}},
        {"tenantId": tenant, "resourceId": "down", "labels": {}},
    ], envoys={(tenant, "up"): "envoy-1"})
    bus = KafkaBus(broker.bootstrap)
    seen = Collector(broker.bootstrap, topics.METRICS)
    monitor = PresenceMonitor(make_ctx(tmp_path, domain, bus, presence_export_period=0.05))
    yield monitor, domain, seen, tenant
    monitor.stop()
    bus.close()
    seen.close()


def of(tenant: str, resource: str):
    return lambda r: isinstance(r.value, dict) and r.value.get("device") == f"{tenant}:{resource}"


def test_one_umf_per_resource_shaped_like_the_real_one(rig) -> None:
    monitor, _, seen, tenant = rig
    assert monitor.export_once() == 2
    monitor.ctx.bus.flush()
    up = seen.wait_for(of(tenant, "up"))[0]
    down = seen.wait_for(of(tenant, "down"))[0]
    assert up.key == tenant and up.headers == {}
    metric = up.value["metrics"][0]
    assert up.value == {
        "tenantId": tenant, "accountType": "MANAGED_HOSTING", "device": f"{tenant}:up",
        "deviceMetadata": {"agent_discovered_os": "linux"}, "monitoringSystem": "SALUS",
        "systemMetadata": {"envoy_id": "envoy-1", "resource_id": "up", "monitor_type": "presence"},
        "metrics": [{"timestamp": metric["timestamp"], "group": "presence_monitor", "name": "connected",
                     "int": "1"}]}
    assert metric["timestamp"].endswith("Z") and "T" in metric["timestamp"]
    assert down.value["systemMetadata"] == {} and down.value["metrics"][0]["int"] == "0"


def test_presence_zero_fault_reports_every_resource_disconnected(rig) -> None:
    monitor, _, seen, tenant = rig
    monitor.ctx.faults.enable(F.PRESENCE_ZERO)
    monitor.export_once()
    monitor.ctx.bus.flush()
    up = seen.wait_for(of(tenant, "up"))[0]
    assert up.value["metrics"][0]["int"] == "0"


def test_the_thread_exports_every_period_and_follows_attachments(rig) -> None:
    monitor, domain, seen, tenant = rig
    monitor.start()
    seen.wait_for(of(tenant, "down"), count=2)
    domain.envoys[(tenant, "down")] = "envoy-2"
    seen.wait_for(lambda r: of(tenant, "down")(r) and r.value["metrics"][0]["int"] == "1")
    monitor.stop()
    monitor.stop()
    assert monitor.exports >= 3
