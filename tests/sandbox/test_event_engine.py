"""Event engine (contract §6.3/§6.4): the state machine in memory, then the whole path metric → real
broker → engine → event topic for each era's format and each fault (expressions: test_expressions.py)."""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sandbox.common.kafka_bus import KafkaBus
from sandbox.kafka import Broker
from sandbox.salus import faults as F
from sandbox.salus import topics
from sandbox.salus.event_engine import EventEngine

try:  # works whether or not tests/sandbox is a package
    from .kafka_support import CapturingBus, Collector, FakeDomain, cmp, crit_when, make_ctx, poll, task, umf, unique
except ImportError:
    from kafka_support import CapturingBus, Collector, FakeDomain, cmp, crit_when, make_ctx, poll, task, umf, unique  # type: ignore[no-redef]

TS = "2021-03-01T10:07:30.123456789Z"
TS_5MIN = str(int(time.mktime(time.strptime("2021-03-01T10:05:00", "%Y-%m-%dT%H:%M:%S"))) - time.timezone)


# ============================================================================ state machine in memory
@dataclass
class Mem:
    engine: EventEngine
    domain: FakeDomain
    bus: CapturingBus
    tenant: str

    def feed(self, fields: dict[str, Any], ts: str = TS, **kw: Any) -> list[dict[str, Any]]:
        before = len(self.bus.records)
        self.engine.handle(umf(self.tenant, "r-1", "net_response", fields, ts=ts, **kw))
        return self.bus.values()[before:]


@pytest.fixture
def mem(tmp_path: Path) -> Mem:
    domain, bus = FakeDomain(), CapturingBus()
    return Mem(EventEngine(make_ctx(tmp_path, domain, bus), "unused:9"), domain, bus, unique("t"))


def test_zone_quorum_needs_enough_zones_to_agree(mem: Mem) -> None:
    mem.domain.tasks.append(task(mem.tenant, "net_response", [crit_when("code", ">", 0)],
                                 zoneLabel="system_monitoring_zone_id", zoneQuorumCount=2))

    def zone(z: str) -> dict[str, str]:
        return {"resource_id": "r-1", "monitor_id": "m-1", "monitoring_zone_id": z}
    assert mem.feed({"code": 1}, system=zone("z1")) == []            # one zone is no quorum
    [event] = mem.feed({"code": 1}, system=zone("z2"))
    assert event["state"] == "CRITICAL"
    assert sorted(o["zone"] for o in event["observations"]) == ["z1", "z2"]
    assert mem.feed({"code": 0}, system=zone("z1")) == []
    [ok] = mem.feed({"code": 0}, system=zone("z2"))
    assert (ok["state"], ok["previousState"]) == ("OK", "CRITICAL")


def test_missing_zone_label_is_unknown_and_no_zone_label_is_local(mem: Mem) -> None:
    mem.domain.tasks.append(task(mem.tenant, "net_response", [crit_when("code", ">", 0)], zoneLabel="nope"))
    [event] = mem.feed({"code": 1})
    assert event["observations"] == [{"zone": "_UNKNOWN_", "state": "CRITICAL"}]
    mem.domain.tasks[:] = [task(mem.tenant, "net_response", [crit_when("code", ">", 0)])]
    [event] = mem.feed({"code": 1})
    assert event["observations"] == [{"zone": "_LOCAL_", "state": "CRITICAL"}]


def test_group_by_contexts_ids_and_message_template(mem: Mem) -> None:
    mem.domain.tasks.append(task(mem.tenant, "net_response",
                                 [crit_when("code", ">", 0, message="code #{code} on #{port}")],
                                 groupBy=["port"]))
    [a] = mem.feed({"code": 1}, metadata={"port": "80"})
    [b] = mem.feed({"code": 2}, metadata={"port": "443"})   # another context: its own transition
    task_id = mem.domain.tasks[0]["id"]
    assert a["id"] == f"{mem.tenant}:80:{task_id}:{TS_5MIN}:CRITICAL"
    assert a["groupingLabels"] == [{"port": "80"}] and b["groupingLabels"] == [{"port": "443"}]
    assert a["message"] == "code 1 on 80" and b["message"] == "code 2 on 443"
    assert mem.feed({"code": 3}, metadata={"port": "80"}) == []        # unchanged state: no event


def test_first_matching_state_expression_wins(mem: Mem) -> None:
    mem.domain.tasks.append(task(mem.tenant, "net_response", [
        crit_when("t", ">", 10), crit_when("t", ">", 5, state="WARNING")]))
    assert [e["state"] for e in mem.feed({"t": 7})] == ["WARNING"]
    assert [e["state"] for e in mem.feed({"t": 11})] == ["CRITICAL"]
    assert [(e["state"], e["previousState"]) for e in mem.feed({"t": 1})] == [("OK", "CRITICAL")]


# ============================================================================ through the real broker
class Rig:
    def __init__(self, broker: Broker, tmp: Path, **config: Any) -> None:
        self.tenant = unique("t")
        self.event_topic = unique("events")
        broker.create_topics([topics.METRICS, self.event_topic], 6)
        self.domain = FakeDomain()
        self.bus = KafkaBus(broker.bootstrap)
        self.ctx = make_ctx(tmp, self.domain, self.bus, event_topic=self.event_topic, **config)
        self.engine = EventEngine(self.ctx, broker.bootstrap)
        self.events = Collector(broker.bootstrap, self.event_topic)
        self.engine.start()
        assert self.engine.wait_ready(5), "event engine consumer not ready"

    def add_task(self, *expressions: dict[str, Any], **params: Any) -> dict[str, Any]:
        t = task(self.tenant, "net_response", list(expressions) or [crit_when("result_code", ">", 0)], **params)
        self.domain.tasks.append(t)
        return t

    def send(self, resource: str = "r-1", **fields: Any) -> None:
        """Publish like the ambassador (pre-encoded UMF, comma key) and wait until it was handled."""
        frames = self.engine.frames
        self.bus.publish(topics.METRICS, topics.metric_key(self.tenant, resource, "net_response"),
                         json.dumps(umf(self.tenant, resource, "net_response", fields)))
        self.bus.flush()
        poll(lambda: self.engine.frames > frames, 5, "the engine to handle the metric",
             lambda: f"frames={self.engine.frames}")

    def states(self) -> list[tuple[str, str | None]]:
        self.events.quiet_for(0.05)
        return [(r.value.get("state", r.value.get("level")), r.value.get("previousState", r.value.get("previousLevel")))
                for r in self.events.records]

    def close(self) -> None:
        self.engine.stop()
        self.bus.close()
        self.events.close()


@pytest.fixture
def rig(broker: Broker, tmp_path: Path) -> Iterator[Rig]:
    r = Rig(broker, tmp_path)
    yield r
    r.close()


def test_critical_then_ok_notifications(rig: Rig) -> None:
    t = rig.add_task(crit_when("result_code", ">", 0, message="down: #{result_code}"))
    started = time.monotonic()
    rig.send(result_code=1, response_time=0.25)
    [crit] = rig.events.wait_for(lambda r: r.value["state"] == "CRITICAL")
    latency = time.monotonic() - started
    e = crit.value
    assert crit.key == e["id"] and crit.headers == {"__TypeId__": topics.TYPE_IDS["EventNotification"]}
    assert e["id"].startswith(f"{rig.tenant}:{t['id']}:") and e["id"].endswith(":CRITICAL")
    assert int(e["id"].split(":")[-2]) % 300 == 0
    assert (e["tenantId"], e["taskId"], e["previousState"], e["metricGroup"]) == (
        rig.tenant, t["id"], None, "net_response")
    assert e["metrics"] == {"result_code": 1, "response_time": 0.25} and e["message"] == "down: 1"
    assert e["observations"] == [{"zone": "_LOCAL_", "state": "CRITICAL"}] and e["groupingLabels"] == []
    assert e["labels"]["system_resource_id"] == "r-1" and e["labels"]["system_monitor_id"] == "m-1"
    assert e["timestamp"].endswith("Z")
    rig.send(result_code=0)
    rig.events.wait_for(lambda r: r.value["state"] == "OK")
    assert rig.states() == [("CRITICAL", None), ("OK", "CRITICAL")]
    assert latency < 1.0, f"metric → notification took {latency:.3f}s"


def test_initial_ok_is_suppressed_and_consecutive_count_holds_back(rig: Rig) -> None:
    rig.add_task(defaultConsecutiveCount=2)
    rig.send(result_code=0)
    rig.send(result_code=0)
    rig.send(result_code=1)
    assert rig.states() == []                                  # null→OK suppressed; 1 of 2 CRITICALs
    rig.send(result_code=1)
    rig.events.wait_for(lambda r: True)
    rig.send(result_code=0)
    rig.send(result_code=1)                                     # a single OK does not recover
    assert rig.states() == [("CRITICAL", "OK")]


def test_label_selector_must_match_exactly(rig: Rig) -> None:
    rig.add_task(labelSelector={"resource_agent_discovered_os": "windows"})
    matching = rig.add_task(labelSelector={"system_resource_id": "r-2"})
    rig.send(resource="r-1", result_code=1)
    assert rig.engine.evaluated == 0 and rig.states() == []
    rig.send(resource="r-2", result_code=1)
    [event] = rig.events.wait_for(lambda r: True)
    assert event.value["taskId"] == matching["id"] and rig.engine.evaluated == 1


def test_logical_and_regex_expressions_through_the_broker(rig: Rig) -> None:
    both = {"type": "logical", "operator": "AND",
            "expressions": [cmp("=~", "result", "^(timeout|connection_failed)$"), cmp(">", "response_time", 1)]}
    rig.add_task({"state": "CRITICAL", "expression": both})
    rig.send(result="timeout", response_time=0.5)
    rig.send(result="success", response_time=3.0)
    assert rig.states() == []
    rig.send(result="timeout", response_time=3.0)
    rig.events.wait_for(lambda r: r.value["state"] == "CRITICAL")


def test_tasks_created_and_deleted_while_running_apply_to_the_next_metric(rig: Rig) -> None:
    rig.send(result_code=1)
    assert rig.states() == []
    t = rig.add_task()
    rig.send(result_code=1)
    rig.events.wait_for(lambda r: r.value["taskId"] == t["id"])
    rig.domain.tasks.clear()
    rig.send(result_code=0)
    assert rig.states() == [("CRITICAL", None)]


def test_drop_critical_fault_keeps_state_but_publishes_no_critical(rig: Rig) -> None:
    rig.add_task()
    rig.ctx.faults.enable(F.EVENTS_DROP_CRITICAL)
    rig.send(result_code=1)
    assert rig.states() == []
    rig.send(result_code=0)
    rig.events.wait_for(lambda r: r.value["state"] == "OK")
    assert rig.states() == [("OK", "CRITICAL")]


def test_ok_instead_fault_reports_critical_as_ok(rig: Rig) -> None:
    rig.add_task()
    rig.ctx.faults.enable(F.EVENTS_OK_INSTEAD)
    rig.send(result_code=1)
    assert rig.states() == []
    rig.ctx.faults.disable(F.EVENTS_OK_INSTEAD)
    rig.send(result_code=1)
    assert rig.events.wait_for(lambda r: True)[0].value["previousState"] == "OK"


def test_state_change_format(broker: Broker, tmp_path: Path) -> None:
    r = Rig(broker, tmp_path, event_format="state-change")
    try:
        t = r.add_task(crit_when("result_code", ">", 0, message="down"))
        r.send(result_code=1)
        [rec] = r.events.wait_for(lambda x: True)
        e = rec.value
        assert rec.key == e["id"] and len(e["id"]) == 36
        assert rec.headers == {"__TypeId__": topics.TYPE_IDS["StateChangeEvent"]}
        assert (e["tenantId"], e["resourceId"], e["monitorId"], e["taskId"], e["state"], e["previousState"],
                e["message"]) == (r.tenant, "r-1", "m-1", t["id"], "CRITICAL", None, "down")
        assert json.loads(e["contributingEvents"])[0]["metrics"] == {"result_code": 1}
        assert e["evaluationTimestamp"].endswith("Z")
    finally:
        r.close()


def test_kapacitor_format(broker: Broker, tmp_path: Path) -> None:
    r = Rig(broker, tmp_path, event_format="kapacitor")
    try:
        t = r.add_task()
        r.send(result_code=1)
        [rec] = r.events.wait_for(lambda x: True)
        e = rec.value
        kap_task = f"{r.tenant}-net_response-{t['id']}"
        assert e["id"] == f"{kap_task}:system_monitor_id=m-1,system_resource_id=r-1" and rec.key == e["id"]
        assert (e["details"], e["level"], e["previousLevel"], e["recoverable"]) == (
            f"task={kap_task}", "CRITICAL", "OK", True)
        series = e["data"]["series"][0]
        assert series["name"] == "net_response" and series["tags"]["system_resource_id"] == "r-1"
        assert series["columns"] == ["time", "result_code"] and series["values"][0][1:] == [1]
    finally:
        r.close()


@pytest.mark.parametrize("mode", ["bus-reconnect", "detected-alone", "long-outage"])
def test_engine_survives_a_broker_restart(tmp_path: Path, mode: str) -> None:
    """After a restart the memory log starts at offset 0 again: the engine must re-read it, once."""
    with Broker(log_path=tmp_path / "b.log") as b:
        r = Rig(b, tmp_path)
        try:
            r.add_task()
            r.send(result_code=1)
            r.events.wait_for(lambda x: True)
            r.events.close()
            if mode == "long-outage":          # the broker-stopped fault: down for a while
                b.stop()
                poll(lambda: r.engine.reader.outage_since_ms is not None, 5, "the engine to notice the outage")
                b.start()
            else:
                b.restart()
            b.create_topics([topics.METRICS, r.event_topic], 6)
            if mode != "detected-alone":
                r.bus.reconnect()               # what the app does after clearing the broker fault
            r.events = Collector(b.bootstrap, r.event_topic)
            r.send(result_code=0)
            r.events.wait_for(lambda x: x.value["state"] == "OK", timeout=10)
            r.send(result_code=1)
            r.events.wait_for(lambda x: x.value["state"] == "CRITICAL")
            assert r.states() == [("OK", "CRITICAL"), ("CRITICAL", "OK")], "each metric evaluated once"
        finally:
            r.close()
