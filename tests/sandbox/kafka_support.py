"""Helpers for the Kafka-side sandbox tests: a tiny fake domain, a context builder, a record collector."""
from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.salus.config import SandboxConfig
from sandbox.salus.context import SandboxContext
from sandbox.salus.faults import Faults
from support import waiting


def poll(predicate: Callable[[], Any], timeout: float, what: str, seen: Callable[[], Any] = lambda: "",
         step: float = 0.01) -> Any:
    """The project's deadline poll at a test-friendly interval."""
    return waiting.poll(predicate, timeout, what, seen, interval=step)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass
class FakeDomain:
    """Just what presence and the event engine ask of the domain."""

    tasks: list[dict[str, Any]] = field(default_factory=list)
    resources: list[dict[str, Any]] = field(default_factory=list)
    envoys: dict[tuple[str, str], str] = field(default_factory=dict)
    calls: int = 0

    def tasks_for(self, tenant_id: str, metric_group: str) -> list[dict[str, Any]]:
        self.calls += 1
        return [t for t in list(self.tasks) if t["tenantId"] == tenant_id
                and t["taskParameters"]["metricGroup"] == metric_group]

    def presence_resources(self) -> list[dict[str, Any]]:
        return list(self.resources)

    def active_envoy_id(self, tenant_id: str, resource_id: str) -> str | None:
        return self.envoys.get((tenant_id, resource_id))


class CapturingBus:
    """In-memory Bus for evaluation tests that do not need the broker."""

    def __init__(self) -> None:
        self.records: list[tuple[str, str | None, Any, str | None]] = []

    def publish(self, topic: str, key: str | None, value: dict[str, Any] | str, type_id: str | None = None) -> None:
        self.records.append((topic, key, value, type_id))

    def values(self) -> list[dict[str, Any]]:
        return [v if isinstance(v, dict) else json.loads(v) for _, _, v, _ in self.records]


def make_ctx(tmp: Path, domain: Any = None, bus: Any = None, **config: Any) -> SandboxContext:
    cfg = SandboxConfig(**config)
    return SandboxContext(config=cfg, faults=Faults(), data_dir=tmp, bus=bus, domain=domain)


def task(tenant: str, group: str, expressions: list[dict[str, Any]], **params: Any) -> dict[str, Any]:
    return {"id": unique("task"), "tenantId": tenant, "name": "t",
            "taskParameters": {"metricGroup": group, "labelSelector": {}, "stateExpressions": expressions,
                               **params}}


def cmp(comparator: str, input_: Any, value: Any) -> dict[str, Any]:
    """A current-era comparison expression."""
    return {"type": "comparison", "comparator": comparator, "input": input_, "comparisonValue": value}


def crit_when(field_: str, comparator: str, value: Any, state: str = "CRITICAL",
              message: str | None = None) -> dict[str, Any]:
    return {"state": state, "message": message,
            "expression": {"type": "comparison", "comparator": comparator, "input": field_,
                           "comparisonValue": value}}


def umf(tenant: str, resource: str, group: str, fields: dict[str, Any], metadata: dict[str, str] | None = None,
        ts: str | None = None, system: dict[str, str] | None = None) -> dict[str, Any]:
    """A UMF frame like the ambassador builds (int as string, float as number, string as string)."""
    ts = ts or time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".000Z"
    metrics = []
    for name, v in fields.items():
        m: dict[str, Any] = {"timestamp": ts, "group": group, "name": name, "metadata": metadata or {}}
        if isinstance(v, (bool, str)):
            m["string"] = str(v)
        elif isinstance(v, int):
            m["int"] = str(v)
        else:
            m["float"] = v
        metrics.append(m)
    return {"tenantId": tenant, "accountType": "UNKNOWN", "device": f"{tenant}:{resource}",
            "deviceMetadata": {"agent_discovered_os": "linux"}, "monitoringSystem": "SALUS",
            "systemMetadata": system or {"resource_id": resource, "monitor_id": "m-1",
                                         "monitor_type": "net_response", "envoy_id": "e-1"},
            "metrics": metrics}


@dataclass
class Record:
    partition: int
    offset: int
    key: str | None
    value: Any
    headers: dict[str, str]


class Collector:
    """Group-less reader of one topic from 'now' on (assign + seek to end, old records ignored)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        from kafka import KafkaConsumer, TopicPartition
        self.topic = topic
        self.records: list[Record] = []
        self._consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                       fetch_max_wait_ms=50, request_timeout_ms=3000)
        parts = poll(lambda: self._consumer.partitions_for_topic(topic), 5, f"partitions of {topic}")
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        ends = self._consumer.end_offsets(tps)
        self._consumer.assign(tps)
        for tp in tps:
            self._consumer.seek(tp, ends[tp])
        self._start_ms = int(time.time() * 1000)

    def drain(self, timeout_ms: int = 50) -> list[Record]:
        fresh = []
        for tp, recs in self._consumer.poll(timeout_ms=timeout_ms).items():
            for r in recs:
                if r.timestamp < self._start_ms:
                    continue
                try:
                    value: Any = json.loads(r.value)
                except ValueError:
                    value = r.value
                fresh.append(Record(tp.partition, r.offset, r.key.decode() if r.key is not None else None, value,
                                    {k: v.decode() for k, v in (r.headers or [])}))
        self.records.extend(fresh)
        return fresh

    def wait_for(self, predicate: Callable[[Record], bool], timeout: float = 5.0, count: int = 1) -> list[Record]:
        def found() -> list[Record] | None:
            self.drain()
            hits = [r for r in self.records if predicate(r)]
            return hits if len(hits) >= count else None
        return poll(found, timeout, f"{count} matching record(s) on {self.topic}",
                    lambda: [r.value for r in self.records][-5:], step=0)

    def quiet_for(self, seconds: float) -> list[Record]:
        """Everything that arrives within ``seconds`` (used to show that nothing was published)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.drain(timeout_ms=max(1, int((deadline - time.monotonic()) * 1000)))
        return self.records

    def close(self) -> None:
        self._consumer.close()
