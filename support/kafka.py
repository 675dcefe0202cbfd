"""Group-less Kafka watching: start before the action, see only what came after, explain misses.

``start()`` records the end offset of EVERY partition of the topic and seeks there (assign +
seek, no consumer group: group joins are slow and not needed). ``wait_for()`` polls with a
deadline and matches parsed JSON against an ``Expectation`` (field path → PyHamcrest matcher).
On timeout the error lists the partitions and offsets scanned, the record counts, and the nearest
near-misses — only this run's tenant's records are ever printed; other tenants' are just counted.

Tansu quirk: its ``end_offsets()`` can point at the first record of the last batch, so a few
records older than ``start()`` may be re-read; records stamped before ``start()`` (minus a small
skew allowance) are ignored for that reason.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from hamcrest import equal_to
from hamcrest.core.matcher import Matcher

from .errors import InfrastructureError, WaitTimeout

log = logging.getLogger("e2et.kafka")
Normaliser = Callable[[dict[str, Any]], list[dict[str, Any]]]
CLOCK_SKEW_MS = 2000


def get_path(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(obj, dict):
            obj = obj.get(part)
        else:
            return None
    return obj


@dataclass
class Expectation:
    """What a wanted message looks like: field path → matcher (plain values mean equal_to)."""

    fields: dict[str, Matcher]
    description: str = ""

    @classmethod
    def of(cls, description: str = "", **fields: Any) -> "Expectation":
        return cls({k.replace("__", "."): v if isinstance(v, Matcher) else equal_to(v) for k, v in fields.items()},
                   description)

    def score(self, msg: dict[str, Any]) -> int:
        return sum(1 for path, m in self.fields.items() if m.matches(get_path(msg, path)))

    def matches(self, msg: dict[str, Any]) -> bool:
        return self.score(msg) == len(self.fields)

    def describe(self) -> str:
        inner = ", ".join(f"{p} {m}" for p, m in self.fields.items())
        return f"{self.description} ({inner})" if self.description else inner


def consumer_options(settings: Any) -> dict[str, Any]:
    k = settings.kafka
    opts: dict[str, Any] = {"bootstrap_servers": k.brokers, "group_id": None, "enable_auto_commit": False,
                            "request_timeout_ms": 10000,
                            "reconnect_backoff_max_ms": 1000, "fetch_max_wait_ms": 100,
                            "security_protocol": k.security_protocol}
    if k.security_protocol in ("SSL", "SASL_SSL"):
        opts.update(ssl_cafile=k.ssl_cafile, ssl_certfile=k.ssl_certfile, ssl_keyfile=k.ssl_keyfile)
    if k.security_protocol.startswith("SASL"):
        opts.update(sasl_mechanism=k.sasl_mechanism or "PLAIN", sasl_plain_username=k.sasl_username,
                    sasl_plain_password=k.sasl_password.get_secret_value() if k.sasl_password else None)
    return opts


@dataclass
class ScanStats:
    start_offsets: dict[int, int] = field(default_factory=dict)
    positions: dict[int, int] = field(default_factory=dict)
    records: int = 0
    too_old: int = 0
    not_json: int = 0
    other_tenants: int = 0


class TopicWatcher:
    def __init__(self, settings: Any, topic: str, tenant_id: str, normalise: Normaliser | None = None,
                 keep: int = 2000) -> None:
        self.settings = settings
        self.topic = topic
        self.tenant_id = tenant_id
        self.normalise = normalise or (lambda m: [m])
        self.keep = keep
        self.seen: list[dict[str, Any]] = []      # this tenant's normalised messages, oldest first
        self.stats = ScanStats()
        self._consumer = None
        self._start_ms = 0

    def start(self) -> "TopicWatcher":
        from kafka import KafkaConsumer, TopicPartition
        from kafka.errors import KafkaError
        brokers = ",".join(self.settings.kafka.brokers)
        try:
            self._consumer = KafkaConsumer(**consumer_options(self.settings))
            parts = self._consumer.partitions_for_topic(self.topic)
            if not parts:
                raise InfrastructureError(f"Kafka topic {self.topic} not found on {brokers}: check the "
                                          "profile's topic names (events.topic / topics.*)")
            tps = [TopicPartition(self.topic, p) for p in sorted(parts)]
            ends = self._consumer.end_offsets(tps)
            self._consumer.assign(tps)
            for tp in tps:
                self._consumer.seek(tp, ends[tp])
        except KafkaError as e:
            self.close()
            raise InfrastructureError(f"Kafka broker {brokers} unreachable ({type(e).__name__}): check "
                                      "kafka.brokers and that the broker is up") from None
        self.stats.start_offsets = {tp.partition: ends[tp] for tp in tps}
        self.stats.positions = dict(self.stats.start_offsets)
        self._start_ms = int(time.time() * 1000)
        return self

    def close(self) -> None:
        if self._consumer is not None:
            try:
                self._consumer.close()
            except Exception:
                pass
            self._consumer = None

    def _poll(self, timeout_ms: int) -> list[dict[str, Any]]:
        from kafka.errors import KafkaError
        fresh: list[dict[str, Any]] = []
        try:
            batches = self._consumer.poll(timeout_ms=timeout_ms)
        except KafkaError as e:
            raise InfrastructureError(f"Kafka broker {','.join(self.settings.kafka.brokers)} unreachable while "
                                      f"watching {self.topic} ({type(e).__name__}): is the broker up?") from None
        for tp, records in batches.items():
            for rec in records:
                self.stats.records += 1
                self.stats.positions[tp.partition] = rec.offset + 1
                if rec.timestamp is not None and 0 < rec.timestamp < self._start_ms - CLOCK_SKEW_MS:
                    self.stats.too_old += 1
                    continue
                try:
                    raw = json.loads(rec.value)
                except (ValueError, TypeError):
                    self.stats.not_json += 1
                    continue
                if not isinstance(raw, dict):
                    self.stats.not_json += 1
                    continue
                for msg in self.normalise(raw):
                    if str(msg.get("tenantId")) != str(self.tenant_id):
                        self.stats.other_tenants += 1
                        continue
                    fresh.append(msg)
        self.seen.extend(fresh)
        del self.seen[:-self.keep]
        return fresh

    def wait_for(self, expectation: Expectation, timeout: float) -> dict[str, Any]:
        """First message (seen since start) matching the expectation; ``WaitTimeout`` explains a miss."""
        if self._consumer is None:
            raise RuntimeError("watcher not started")
        for msg in self.seen:
            if expectation.matches(msg):
                return msg
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            for msg in self._poll(int(min(remaining, 0.1) * 1000) or 1):
                if expectation.matches(msg):
                    log.info("matched on %s: %s", self.topic, expectation.describe())
                    return msg
        raise WaitTimeout(self.explain(expectation, timeout))

    def explain(self, expectation: Expectation, timeout: float) -> str:
        s = self.stats
        parts = ", ".join(f"p{p}: {s.start_offsets.get(p)}→{s.positions.get(p)}" for p in sorted(s.start_offsets))
        near = sorted(self.seen, key=expectation.score, reverse=True)[:5]
        lines = [f"no message on {self.topic} matched within {timeout:.0f}s: expected {expectation.describe()}",
                 f"scanned partitions [{parts}]: {s.records} records, {len(self.seen)} of tenant "
                 f"{self.tenant_id}, {s.other_tenants} of other tenants (not shown), {s.too_old} older than the "
                 f"watch, {s.not_json} not JSON"]
        if near:
            lines.append("nearest near-misses (matched fields / total):")
            for m in near:
                lines.append(f"  {expectation.score(m)}/{len(expectation.fields)} "
                             f"{json.dumps(m, sort_keys=True, default=str)[:400]}")
        else:
            lines.append("no message of this tenant was seen at all")
        return "\n".join(lines)

    def window(self) -> dict[str, Any]:
        """The scan window, for evidence attachments."""
        s = self.stats
        return {"topic": self.topic, "start_offsets": s.start_offsets, "positions": s.positions,
                "records": s.records, "tenant_records": len(self.seen), "other_tenants": s.other_tenants,
                "too_old": s.too_old, "not_json": s.not_json}


# ----------------------------------------------------------------------------- normalisers
def normalise_event(fmt: str) -> Normaliser:
    """One view of the three event eras (contract §6.4): tenantId, resourceId, monitorId, taskId,
    metricGroup, state — plus ``raw``."""
    def notification(m: dict[str, Any]) -> list[dict[str, Any]]:
        labels = m.get("labels") or {}
        return [{"tenantId": m.get("tenantId"), "resourceId": labels.get("system_resource_id"),
                 "monitorId": labels.get("system_monitor_id"), "taskId": m.get("taskId"),
                 "metricGroup": m.get("metricGroup"), "state": m.get("state"),
                 "previousState": m.get("previousState"), "id": m.get("id"), "raw": m}]

    def state_change(m: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"tenantId": m.get("tenantId"), "resourceId": m.get("resourceId"), "monitorId": m.get("monitorId"),
                 "taskId": m.get("taskId"), "metricGroup": None, "state": m.get("state"),
                 "previousState": m.get("previousState"), "id": m.get("id"), "raw": m}]

    def kapacitor(m: dict[str, Any]) -> list[dict[str, Any]]:
        series = ((m.get("data") or {}).get("series") or [{}])[0]
        tags = series.get("tags") or {}
        task = str(m.get("details", "")).removeprefix("task=")
        tenant = task.split("-", 1)[0] if task else None
        return [{"tenantId": tenant, "resourceId": tags.get("system_resource_id"),
                 "monitorId": tags.get("system_monitor_id"), "taskId": task, "metricGroup": series.get("name"),
                 "state": m.get("level"), "previousState": m.get("previousLevel"), "id": m.get("id"), "raw": m}]

    return {"notification": notification, "state-change": state_change, "kapacitor": kapacitor}[fmt]


def normalise_umf(m: dict[str, Any]) -> list[dict[str, Any]]:
    """One record per UMF metric: tenantId, resourceId, group, name, value (+ envoyId)."""
    system = m.get("systemMetadata") or {}
    device = str(m.get("device") or "")
    resource = system.get("resource_id") or (device.split(":", 1)[1] if ":" in device else None)
    out = []
    for metric in m.get("metrics") or []:
        value = next((metric[k] for k in ("int", "float", "string", "bool") if k in metric), None)
        out.append({"tenantId": m.get("tenantId"), "resourceId": resource, "envoyId": system.get("envoy_id"),
                    "group": metric.get("group"), "name": metric.get("name"), "value": str(value),
                    "labels": m.get("deviceMetadata") or {}})
    return out
