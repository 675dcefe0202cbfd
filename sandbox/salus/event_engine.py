"""Event engine: UMF metrics → task evaluation → state-change events (contract §6.3, §6.4).

Consumes ``telemetry.metrics.json`` without a consumer group (assign + seek to the end), regroups
each frame, labels it like the real ``UniversalMetricConsumer``, evaluates each matching task's
state expressions with a per-zone consecutive-count state machine and zone quorum, and publishes
one event per state change in the configured era's format (EventNotification by default).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from . import faults as F
from . import topics
from .context import SandboxContext

log = logging.getLogger("sandbox.event_engine")


def labels_of(umf: dict[str, Any], metric: dict[str, Any]) -> dict[str, str]:
    labels = {str(k): str(v) for k, v in (metric.get("metadata") or {}).items()}
    labels.update({f"system_{k}": str(v) for k, v in (umf.get("systemMetadata") or {}).items()})
    labels.update({f"resource_{k}": str(v) for k, v in (umf.get("deviceMetadata") or {}).items()})
    if umf.get("device"):
        labels["resource_name"] = str(umf["device"])
    return labels


def metric_value(m: dict[str, Any]) -> Any:
    if "int" in m:
        return int(m["int"])
    if "float" in m:
        return float(m["float"])
    if "string" in m:
        return m["string"]
    return m.get("bool")


def _num(v: Any) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def evaluate(expr: dict[str, Any], values: dict[str, Any], previous: dict[str, Any]) -> bool:
    if expr.get("type") == "logical":
        results = [evaluate(e, values, previous) for e in expr.get("expressions") or []]
        return all(results) if expr.get("operator") == "AND" else any(results)
    inp = expr.get("input")
    if isinstance(inp, dict):
        kind = inp.get("type")
        if kind == "previous":
            left = previous.get(inp.get("of"))
        elif kind == "percentage":
            part, whole = _num(values.get(inp.get("part"))), _num(values.get(inp.get("whole")))
            left = part / whole * 100 if part is not None and whole else None
        elif kind == "rate":
            cur, prev = _num(values.get(inp.get("of"))), _num(previous.get(inp.get("of")))
            left = cur - prev if cur is not None and prev is not None else None
        else:
            left = None
    else:
        left = values.get(inp)
    if left is None:
        return False
    op, right = expr.get("comparator"), expr.get("comparisonValue")
    if op in ("=~", "!~"):
        hit = re.search(str(right), str(left)) is not None
        return hit if op == "=~" else not hit
    ln, rn = _num(left), _num(right)
    if ln is not None and rn is not None:
        left, right = ln, rn
    else:
        left, right = str(left), str(right)
    try:
        return {"==": left == right, "!=": left != right, ">": left > right, ">=": left >= right,
                "<": left < right, "<=": left <= right}[op]
    except (KeyError, TypeError):
        return False


@dataclass
class ZoneState:
    state: str | None = None
    pending: str | None = None
    count: int = 0


@dataclass
class TaskContext:
    state: str | None = None
    zones: dict[str, ZoneState] = field(default_factory=dict)
    previous: dict[str, Any] = field(default_factory=dict)


class EventEngine:
    def __init__(self, ctx: SandboxContext, bootstrap: str) -> None:
        self.ctx = ctx
        self.bootstrap = bootstrap
        self._stop = threading.Event()
        self._contexts: dict[tuple, TaskContext] = {}
        self._thread = threading.Thread(target=self._run, name="event-engine", daemon=True)
        self.published = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(3)

    # ----------------------------------------------------------------- consuming
    def _consumer(self):
        from kafka import KafkaConsumer, TopicPartition
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False,
                                 request_timeout_ms=5000, reconnect_backoff_max_ms=500,
                                 fetch_max_wait_ms=100)
        parts = consumer.partitions_for_topic(topics.METRICS) or set()
        tps = [TopicPartition(topics.METRICS, p) for p in sorted(parts)]
        if not tps:
            consumer.close()
            raise RuntimeError("metrics topic has no partitions yet")
        ends = consumer.end_offsets(tps)
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, ends[tp])
        return consumer

    def _run(self) -> None:
        consumer = None
        while not self._stop.is_set():
            try:
                if consumer is None:
                    consumer = self._consumer()
                for records in consumer.poll(timeout_ms=100).values():
                    for rec in records:
                        self._handle_bytes(rec.value)
            except Exception as e:
                log.warning("metrics consumer problem (%s); reconnecting", e)
                if consumer is not None:
                    try:
                        consumer.close()
                    except Exception:
                        pass
                consumer = None
                self._stop.wait(0.5)
        if consumer is not None:
            consumer.close()

    def _handle_bytes(self, raw: bytes) -> None:
        try:
            umf = json.loads(raw)
        except ValueError:
            return
        try:
            self.handle(umf)
        except Exception:
            log.exception("evaluating a metric failed")

    # ----------------------------------------------------------------- evaluating
    def handle(self, umf: dict[str, Any]) -> None:
        tenant = umf.get("tenantId")
        groups: dict[tuple, dict[str, Any]] = {}
        for m in umf.get("metrics") or []:
            key = (m.get("timestamp"), m.get("group"), json.dumps(m.get("metadata") or {}, sort_keys=True))
            g = groups.setdefault(key, {"timestamp": m.get("timestamp"), "group": m.get("group"),
                                        "labels": labels_of(umf, m), "values": {}})
            g["values"][m.get("name")] = metric_value(m)
        for g in groups.values():
            for task in self.ctx.domain.tasks_for(tenant, g["group"]):
                self._evaluate_task(tenant, task, g)

    def _evaluate_task(self, tenant: str, task: dict[str, Any], g: dict[str, Any]) -> None:
        tp = task["taskParameters"]
        labels = g["labels"]
        selector = tp.get("labelSelector") or {}
        if any(labels.get(k) != str(v) for k, v in selector.items()):
            return
        group_by = tp.get("groupBy") or []
        key = (task["id"], tuple(sorted((k, labels.get(k)) for k in selector)),
               tuple(labels.get(k) for k in group_by))
        tc = self._contexts.setdefault(key, TaskContext())
        state = "OK"
        for se in tp.get("stateExpressions") or []:
            if evaluate(se.get("expression") or {}, g["values"], tc.previous):
                state = se["state"]
                message = se.get("message")
                break
        else:
            message = None
        if state == "CRITICAL" and self.ctx.faults.active(F.EVENTS_OK_INSTEAD):
            state = "OK"
        tc.previous = dict(g["values"])
        zone_label = tp.get("zoneLabel")
        zone = (labels.get(zone_label) or "_UNKNOWN_") if zone_label else "_LOCAL_"
        zs = tc.zones.setdefault(zone, ZoneState())
        if state == zs.pending:
            zs.count += 1
        else:
            zs.pending, zs.count = state, 1
        if zs.count >= int(tp.get("defaultConsecutiveCount") or 1):
            zs.state = state
        quorum = int(tp.get("zoneQuorumCount") or 1)
        tally: dict[str, int] = {}
        for z in tc.zones.values():
            if z.state:
                tally[z.state] = tally.get(z.state, 0) + 1
        new_state = next((s for s in ("CRITICAL", "WARNING", "OK") if tally.get(s, 0) >= quorum), tc.state)
        if new_state == tc.state or new_state is None:
            return
        previous, tc.state = tc.state, new_state
        if previous is None and new_state == "OK":
            return      # the initial null → OK transition is suppressed (notifyOnInitialOk off)
        if new_state == "CRITICAL" and self.ctx.faults.active(F.EVENTS_DROP_CRITICAL):
            log.warning("fault %s: dropping CRITICAL for task %s", F.EVENTS_DROP_CRITICAL, task["id"])
            return
        self._publish(tenant, task, g, new_state, previous, message,
                      [{"zone": z, "state": s.state} for z, s in tc.zones.items()], group_by)

    # ----------------------------------------------------------------- output formats
    def _publish(self, tenant: str, task: dict[str, Any], g: dict[str, Any], state: str, previous: str | None,
                 message: str | None, observations: list[dict[str, Any]], group_by: list[str]) -> None:
        labels = g["labels"]
        fmt = self.ctx.config.event_format
        ts = g["timestamp"] or dt.datetime.now(dt.timezone.utc).isoformat()
        if message:
            message = re.sub(r"#\{(\w+)\}", lambda mo: str(g["values"].get(mo.group(1), labels.get(mo.group(1), ""))),
                             message)
        if fmt == "notification":
            epoch = int(dt.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp())
            grouping = [{k: labels.get(k)} for k in group_by]
            id_parts = [tenant] + [str(labels.get(k)) for k in group_by] + [task["id"], str(epoch - epoch % 300), state]
            event: dict[str, Any] = {
                "id": ":".join(id_parts), "tenantId": tenant, "timestamp": ts, "taskId": task["id"],
                "state": state, "previousState": previous, "observations": observations,
                "message": message, "metricGroup": g["group"], "metrics": g["values"],
                "groupingLabels": grouping, "labels": labels}
            type_id = topics.TYPE_IDS["EventNotification"]
        elif fmt == "state-change":
            event = {"id": str(uuid.uuid4()), "tenantId": tenant, "resourceId": labels.get("system_resource_id"),
                     "monitorId": labels.get("system_monitor_id"), "taskId": task["id"], "state": state,
                     "previousState": previous, "message": message,
                     "contributingEvents": json.dumps([{"metrics": g["values"], "labels": labels}]),
                     "evaluationTimestamp": ts}
            type_id = topics.TYPE_IDS["StateChangeEvent"]
        else:
            kap_id = f"{tenant}-{g['group']}-{task['id']}"
            tags = {k: v for k, v in labels.items()}
            columns = ["time"] + sorted(g["values"])
            event = {"id": f"{kap_id}:{g['group']}", "message": message or f"{state} {g['group']}",
                     "details": f"task={kap_id}", "time": ts, "duration": 0, "level": state,
                     "previousLevel": previous or "OK",
                     "data": {"series": [{"name": g["group"], "tags": tags, "columns": columns,
                                          "values": [[ts] + [g["values"][c] for c in columns[1:]]]}]},
                     "recoverable": True}
            type_id = None
        self.ctx.bus.publish(self.ctx.config.event_topic, event["id"], event, type_id)
        self.published += 1
        log.info("event %s %s→%s task=%s resource=%s", g["group"], previous, state, task["id"],
                 labels.get("system_resource_id"))
