"""Event engine: UMF metrics → task evaluation → state-change events (contract §6.3, §6.4).

Consumes ``telemetry.metrics.json`` without a consumer group (assign + seek to the end: group joins
take ~20 s on Tansu), regroups each frame, labels it like the real ``UniversalMetricConsumer``,
evaluates each matching task's state expressions with a per-zone consecutive-count state machine
and zone quorum, and publishes one event per state change in the configured era's format
(EventNotification by default; StateChangeEvent and Kapacitor alerts for older deployments).

Tasks are looked up per metric (``domain.tasks_for``), so creating or deleting a task takes effect
on the very next metric, like the real engine's task-change listener but without its delay.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from . import faults as F
from . import topics
from .context import SandboxContext
from .task_eras import LEGACY_GROUP_BY

log = logging.getLogger("sandbox.event_engine")

UNKNOWN_ZONE = "_UNKNOWN_"
LOCAL_ZONE = "_LOCAL_"
#: Most severe first: quorum picks the most severe state enough zones agree on.
SEVERITY = ("CRITICAL", "WARNING", "OK")
#: Group-by dimensions of the Kapacitor era's generated TICKscript (contract §6.4a).
_FIVE_MINUTES = 300


# ============================================================================ metric shaping
def labels_of(umf: dict[str, Any], metric: dict[str, Any]) -> dict[str, str]:
    """Labels of one grouped metric, built exactly like EE's ``UniversalMetricConsumer``."""
    labels = {str(k): str(v) for k, v in (metric.get("metadata") or {}).items()}
    labels.update({f"system_{k}": str(v) for k, v in (umf.get("systemMetadata") or {}).items()})
    labels.update({f"resource_{k}": str(v) for k, v in (umf.get("deviceMetadata") or {}).items()})
    if umf.get("device"):
        labels["resource_name"] = str(umf["device"])
    return labels


def metric_value(m: dict[str, Any]) -> Any:
    """The one value of a UMF metric; ``int`` arrives as a JSON string (proto3 int64)."""
    if "int" in m:
        try:
            return int(m["int"])
        except (TypeError, ValueError):
            return _num(m["int"])
    if "float" in m:
        return _num(m["float"])
    if "string" in m:
        return m["string"]
    return m.get("bool")


def parse_ts(ts: str | None) -> dt.datetime:
    """RFC3339 (also Go's nanosecond form) → aware datetime; now when missing or unreadable."""
    if ts:
        m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)?", ts.strip())
        if m:
            frac = (m.group(2) or "")[:7]          # "." + at most 6 digits
            zone = m.group(3) or "Z"
            zone = "+00:00" if zone == "Z" else zone
            try:
                return dt.datetime.fromisoformat(m.group(1) + frac + zone)
            except ValueError:
                pass
    return dt.datetime.now(dt.timezone.utc)


@dataclass
class MetricGroup:
    """One (timestamp, group, metadata) slice of a UMF frame: what a task evaluates."""

    tenant: str
    timestamp: str
    group: str
    labels: dict[str, str]
    values: dict[str, Any] = field(default_factory=dict)


def group_frame(umf: dict[str, Any]) -> list[MetricGroup]:
    """Regroup a UMF frame's per-field metrics by (timestamp, group, metric metadata)."""
    tenant = str(umf.get("tenantId"))
    groups: dict[tuple[Any, ...], MetricGroup] = {}
    for m in umf.get("metrics") or []:
        key = (m.get("timestamp"), m.get("group"), json.dumps(m.get("metadata") or {}, sort_keys=True))
        g = groups.get(key)
        if g is None:
            g = groups[key] = MetricGroup(tenant, m.get("timestamp") or "", m.get("group") or "", labels_of(umf, m))
        g.values[str(m.get("name"))] = metric_value(m)
    return list(groups.values())


# ============================================================================ expressions
def _num(v: Any) -> float | None:
    if isinstance(v, bool):
        return float(v)
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


@dataclass
class History:
    """The previous metric values of one task context (inputs ``previous`` and ``rate``)."""

    values: dict[str, Any] = field(default_factory=dict)
    at: float | None = None              # epoch seconds of the previous metric


def input_value(inp: Any, values: dict[str, Any], history: History, now: float) -> Any:
    """Resolve an expression ``input``: a field name, or ``{type: previous|rate|percentage, ...}``."""
    if not isinstance(inp, dict):
        return values.get(inp)
    kind = inp.get("type")
    if kind == "previous":
        return history.values.get(inp.get("of"))
    if kind == "percentage":
        part, whole = _num(values.get(inp.get("part"))), _num(values.get(inp.get("whole")))
        return part / whole * 100 if part is not None and whole else None
    if kind == "rate":
        cur, prev = _num(values.get(inp.get("of"))), _num(history.values.get(inp.get("of")))
        if cur is None or prev is None or history.at is None or now <= history.at:
            return None
        return (cur - prev) / (now - history.at)
    return None


def compare(left: Any, op: str | None, right: Any) -> bool:
    """One comparison; numbers compare as floats when both sides read as numbers, else as strings."""
    if op in ("=~", "!~"):
        try:
            hit = re.search(str(right), str(left)) is not None
        except re.error:
            return False
        return hit if op == "=~" else not hit
    ln, rn = _num(left), _num(right)
    a, b = (ln, rn) if ln is not None and rn is not None else (str(left), str(right))
    ops = {"==": lambda: a == b, "!=": lambda: a != b, ">": lambda: a > b, ">=": lambda: a >= b,
           "<": lambda: a < b, "<=": lambda: a <= b}
    fn = ops.get(op or "")
    return bool(fn()) if fn else False


def evaluate(expr: dict[str, Any], values: dict[str, Any], history: History | dict[str, Any] | None = None,
             now: float | None = None) -> bool:
    """Evaluate a ``comparison`` or ``logical`` (AND/OR) expression; a missing input is false."""
    if not isinstance(history, History):
        history = History(values=dict(history or {}))
    now = time.time() if now is None else now
    if expr.get("type") == "logical":
        results = [evaluate(e, values, history, now) for e in expr.get("expressions") or []]
        return all(results) if str(expr.get("operator")).upper() == "AND" else any(results)
    left = input_value(expr.get("input", expr.get("valueName", expr.get("metricName"))), values, history, now)
    if left is None:
        return False
    return compare(left, expr.get("comparator"), expr.get("comparisonValue"))


def render_message(template: str | None, values: dict[str, Any], labels: dict[str, str]) -> str | None:
    """Fill ``#{field}`` / ``#{label}`` placeholders (unknown names render empty)."""
    if not template:
        return template
    return re.sub(r"#\{(\w+)\}", lambda mo: str(values.get(mo.group(1), labels.get(mo.group(1), ""))), template)


# ============================================================================ state machine
@dataclass
class ZoneState:
    state: str | None = None
    pending: str | None = None
    count: int = 0


@dataclass
class TaskContext:
    """State of one task for one (selector values + groupBy values) combination."""

    state: str | None = None
    since: float | None = None           # epoch seconds the current state began
    zones: dict[str, ZoneState] = field(default_factory=dict)
    history: History = field(default_factory=History)

    def observe(self, zone: str, state: str, consecutive: int, quorum: int) -> tuple[str | None, str | None]:
        """Feed one zone's evaluation; returns (previous, new) when the task's state changes."""
        zs = self.zones.setdefault(zone, ZoneState())
        if state == zs.pending:
            zs.count += 1
        else:
            zs.pending, zs.count = state, 1
        if zs.count >= consecutive:
            zs.state = state
        tally: dict[str, int] = {}
        for z in self.zones.values():
            if z.state:
                tally[z.state] = tally.get(z.state, 0) + 1
        new = next((s for s in SEVERITY if tally.get(s, 0) >= quorum), None)
        if new is None or new == self.state:   # no quorum on anything yet: the task state stands
            return None, None
        previous, self.state = self.state, new
        return previous, new

    def observations(self) -> list[dict[str, Any]]:
        return [{"zone": z, "state": s.state} for z, s in self.zones.items() if s.state]


def first_matching_state(tp: dict[str, Any], g: MetricGroup, history: History, now: float) -> tuple[str, str | None]:
    """First state expression that holds wins; none → OK (with the task's message template)."""
    for se in tp.get("stateExpressions") or []:
        if evaluate(se.get("expression") or {}, g.values, history, now):
            return str(se.get("state") or "OK").upper(), se.get("message") or tp.get("messageTemplate")
    return "OK", tp.get("messageTemplate")


def selector_matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == str(v) for k, v in (selector or {}).items())


# ============================================================================ event formats
def epoch_of(ts: str) -> int:
    return int(parse_ts(ts).timestamp())


def build_notification(tenant: str, task: dict[str, Any], g: MetricGroup, state: str, previous: str | None,
                       message: str | None, observations: list[dict[str, Any]],
                       group_by: list[str]) -> dict[str, Any]:
    """EventNotification (contract §6.4c): the id is deterministic per 5-minute window and state."""
    epoch = epoch_of(g.timestamp)
    grouping = [{k: g.labels.get(k)} for k in group_by]
    id_parts = [tenant, *(str(g.labels.get(k)) for k in group_by), str(task["id"]),
                str(epoch - epoch % _FIVE_MINUTES), state]
    return {"id": ":".join(id_parts), "tenantId": tenant, "timestamp": g.timestamp, "taskId": str(task["id"]),
            "state": state, "previousState": previous, "observations": observations, "message": message,
            "metricGroup": g.group, "metrics": dict(g.values), "groupingLabels": grouping,
            "labels": dict(g.labels)}


def build_state_change(tenant: str, task: dict[str, Any], g: MetricGroup, state: str, previous: str | None,
                       message: str | None) -> dict[str, Any]:
    """StateChangeEvent of the Esper era (contract §6.4b)."""
    contributing = [{"timestamp": g.timestamp, "metricGroup": g.group, "metrics": g.values, "labels": g.labels}]
    return {"id": str(uuid.uuid4()), "tenantId": tenant, "resourceId": g.labels.get("system_resource_id"),
            "monitorId": g.labels.get("system_monitor_id"), "taskId": str(task["id"]), "state": state,
            "previousState": previous, "message": message,
            "contributingEvents": json.dumps(contributing, separators=(",", ":")),
            "evaluationTimestamp": g.timestamp}


def build_kapacitor(tenant: str, task: dict[str, Any], g: MetricGroup, state: str, previous: str | None,
                    message: str | None, group_by: list[str], duration_ns: int) -> dict[str, Any]:
    """Kapacitor Kafka-handler alert (contract §6.4a); ``.Group`` is Kapacitor's ``k=v,...`` string."""
    kap_task = f"{tenant}-{g.group}-{task['id']}"
    dims = sorted(k for k in (group_by or LEGACY_GROUP_BY) if k in g.labels)
    group = ",".join(f"{k}={g.labels.get(k, '')}" for k in dims) or "nil"
    columns = ["time", *sorted(g.values)]
    return {"id": f"{kap_task}:{group}", "message": message or f"{kap_task}:{group} is {state}",
            "details": f"task={kap_task}", "time": g.timestamp, "duration": duration_ns, "level": state,
            "previousLevel": previous or "OK",
            "data": {"series": [{"name": g.group, "tags": dict(g.labels), "columns": columns,
                                 "values": [[g.timestamp, *(g.values[c] for c in columns[1:])]]}]},
            "recoverable": True}


# ============================================================================ metrics reader
class MetricsReader:
    """Group-less consumer of one topic that survives broker restarts and new partitions.

    - starts at the end of every partition; records stamped before a partition's *floor* are
      skipped (Tansu's ``end_offsets`` may point before the true end, so old records reappear);
    - every ``check_every`` seconds asks for end offsets: a failure marks an outage; a new topic id
      in the metadata (the topic was re-created: memory storage restarted, often too quickly for
      any request to fail) or an end offset that went *down* means the log was lost. Either way all
      partitions are re-read from 0 with a floor, so nothing is evaluated twice and records of the
      fresh log are not missed (a consumer left at its old offsets would wait there forever);
    - ``rewind()`` does the same on request (the bus calls it after the app restarted the broker).
    """

    def __init__(self, bootstrap: str, topic: str, check_every: float = 0.5) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.check_every = check_every
        self.ready = threading.Event()
        self.skipped_old = 0
        self._consumer: Any = None
        self._floors: dict[int, int] = {}
        self._last_ends: dict[int, int] = {}
        self._topic_id: Any = None
        self._next_check = 0.0
        self._outage_ms: int | None = None
        self._rewind_ms: int | None = None
        self._lock = threading.Lock()

    @staticmethod
    def _now_ms() -> int:
        return int(time.time() * 1000)

    def rewind(self) -> None:
        """The broker was (probably) restarted: check at once. The check re-reads the log from 0 when
        the topic was re-created; without topic ids it re-reads what was stamped after this call."""
        with self._lock:
            self._rewind_ms = self._now_ms()

    def _connect(self) -> None:
        from kafka import KafkaConsumer
        start_ms = self._now_ms()
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False,
                                 auto_offset_reset="earliest", request_timeout_ms=3000,
                                 bootstrap_timeout_ms=2000, reconnect_backoff_max_ms=300,
                                 fetch_max_wait_ms=50, metadata_max_age_ms=500)
        try:
            parts = consumer.partitions_for_topic(self.topic)
            if not parts:
                raise RuntimeError(f"topic {self.topic} has no partitions (yet)")
            self._consumer = consumer
            self._assign(parts, floor_ms=start_ms, at_end=True)
        except BaseException:
            self._consumer = None
            consumer.close()
            raise
        self._next_check = time.monotonic() + self.check_every
        self.ready.set()

    def _assign(self, parts: set[int], floor_ms: int, at_end: bool) -> None:
        from kafka import TopicPartition
        tps = [TopicPartition(self.topic, p) for p in sorted(parts)]
        known = set(self._floors)
        ends = self._consumer.end_offsets(tps, timeout_ms=3000)
        self._consumer.assign(tps)
        for tp in tps:
            if tp.partition in known:
                continue                       # keep the position of partitions already read
            self._consumer.seek(tp, ends[tp] if at_end else 0)
            self._floors[tp.partition] = floor_ms
        self._last_ends = {tp.partition: ends[tp] for tp in tps}
        self._topic_id = self._current_topic_id()

    def _current_topic_id(self) -> Any:
        """Topic UUID from the cached metadata (None when the broker's metadata version has none)."""
        try:
            return self._consumer._client.cluster.topic_id(self.topic)
        except AttributeError:
            return None

    def close(self) -> None:
        consumer, self._consumer = self._consumer, None
        self._floors.clear()
        self._last_ends.clear()
        if consumer is not None:
            try:
                consumer.close()
            except Exception:
                pass

    def poll(self, timeout_ms: int = 100) -> list[bytes]:
        """Fresh record values; raises on connection problems (the caller reconnects)."""
        if self._consumer is None:
            self._connect()
        self._maybe_check()
        out: list[bytes] = []
        for tp, records in self._consumer.poll(timeout_ms=timeout_ms).items():
            floor = self._floors.get(tp.partition, 0)
            for rec in records:
                if rec.timestamp is not None and 0 < rec.timestamp < floor:
                    self.skipped_old += 1
                    continue
                out.append(rec.value)
        return out

    def _maybe_check(self) -> None:
        with self._lock:
            requested, self._rewind_ms = self._rewind_ms, None
        if requested is None and time.monotonic() < self._next_check:
            return
        self._next_check = time.monotonic() + self.check_every
        from kafka import TopicPartition
        check_started = self._now_ms()
        try:
            parts = self._consumer.partitions_for_topic(self.topic) or set()
            if not parts:
                raise RuntimeError(f"topic {self.topic} vanished")
            tps = [TopicPartition(self.topic, p) for p in sorted(parts)]
            ends = self._consumer.end_offsets(tps, timeout_ms=1000)
            self._consumer.topics()            # fresh metadata (the broker just answered, so it is quick)
            parts = self._consumer.partitions_for_topic(self.topic) or parts
        except Exception as e:
            if self._outage_ms is None:
                log.warning("metrics topic unreachable (%s); will re-read it if the broker lost it", e)
                self._outage_ms = check_started
            if requested is not None:
                with self._lock:
                    self._rewind_ms = self._rewind_ms or requested
            return
        outage, self._outage_ms = self._outage_ms, None
        topic_id = self._current_topic_id()
        if topic_id is not None and self._topic_id is not None:
            if topic_id != self._topic_id:
                self._rewind_all(0, "the topic was re-created (broker restarted)")
                return
        elif outage is not None or requested is not None:
            # No topic ids from this broker: cannot tell a restart from a hiccup; re-read what is
            # stamped after the trouble began (older records were evaluated already).
            self._rewind_all(min(x for x in (outage, requested) if x is not None), "broker reachable again")
            return
        shrunk = [tp.partition for tp in tps if ends[tp] < self._last_ends.get(tp.partition, 0)]
        if shrunk:
            self._rewind_all(check_started - int(self.check_every * 1000) - 1000,
                             f"end offsets of partitions {shrunk} went down (broker lost its log)")
            return
        if set(parts) != set(self._floors):
            log.info("metrics topic now has %d partitions", len(parts))
            self._assign(set(parts), floor_ms=check_started - int(self.check_every * 1000), at_end=False)
            return
        self._last_ends = {tp.partition: ends[tp] for tp in tps}

    def _rewind_all(self, floor_ms: int, why: str) -> None:
        log.info("re-reading %s from the start of every partition: %s", self.topic, why)
        parts = self._consumer.partitions_for_topic(self.topic) or set(self._floors)
        self._floors.clear()
        self._assign(set(parts), floor_ms=floor_ms, at_end=False)


# ============================================================================ the engine
class EventEngine:
    """Consumer thread + evaluator; ``handle(umf)`` is the evaluation entry point (tests call it)."""

    def __init__(self, ctx: SandboxContext, bootstrap: str) -> None:
        self.ctx = ctx
        self.bootstrap = bootstrap
        self.published = 0      # events handed to the bus
        self.evaluated = 0      # (metric group, task) pairs whose selector matched
        self.frames = 0         # UMF frames fully handled (tests wait on it to prove "no event")
        self.reader = MetricsReader(bootstrap, topics.METRICS)
        self._stop = threading.Event()
        self._contexts: dict[tuple[Any, ...], TaskContext] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        hook = getattr(ctx.bus, "on_reconnect", None)
        if callable(hook):
            hook(self.reader.rewind)

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="event-engine", daemon=True)
            self._thread.start()

    def wait_ready(self, timeout: float = 5.0) -> bool:
        """True once the consumer is assigned and positioned (metrics after this are evaluated)."""
        return self.reader.ready.wait(timeout)

    def reconnect(self) -> None:
        """Re-read the metrics log from its start (call after the broker restarted)."""
        self.reader.rewind()

    def stop(self) -> None:
        """Stop the thread; idempotent."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(3)

    def _run(self) -> None:
        failing = False
        while not self._stop.is_set():
            try:
                for raw in self.reader.poll(timeout_ms=100):
                    self._handle_bytes(raw)
                failing = False
            except Exception as e:
                if not failing:
                    log.warning("metrics consumer problem (%s); reconnecting", e)
                failing = True
                self.reader.close()
                self._stop.wait(0.3)
        self.reader.close()

    def _handle_bytes(self, raw: bytes | None) -> None:
        try:
            umf = json.loads(raw) if raw else None
        except ValueError:
            return
        if not isinstance(umf, dict):
            return
        try:
            self.handle(umf)
        except Exception:
            log.exception("evaluating a metric failed")

    # ----------------------------------------------------------------- evaluating
    def handle(self, umf: dict[str, Any]) -> None:
        """Evaluate every task of the frame's tenant against each metric group of the frame."""
        domain = self.ctx.domain
        if domain is None:
            return
        with self._lock:
            for g in group_frame(umf):
                for task in domain.tasks_for(g.tenant, g.group):
                    self._evaluate_task(task, g)
            self.frames += 1

    def _evaluate_task(self, task: dict[str, Any], g: MetricGroup) -> None:
        tp = task.get("taskParameters") or {}
        if tp.get("metricGroup") not in (None, g.group):
            return
        selector = tp.get("labelSelector") or {}
        if not selector_matches(selector, g.labels):
            return
        self.evaluated += 1
        group_by = list(tp.get("groupBy") or [])
        key = (str(task["id"]), tuple(sorted((k, g.labels.get(k)) for k in selector)),
               tuple(g.labels.get(k) for k in group_by))
        tc = self._contexts.setdefault(key, TaskContext())
        now = parse_ts(g.timestamp).timestamp()
        state, message = first_matching_state(tp, g, tc.history, now)
        if state == "CRITICAL" and self.ctx.faults.active(F.EVENTS_OK_INSTEAD):
            state = "OK"
        tc.history = History(values=dict(g.values), at=now)
        zone_label = tp.get("zoneLabel")
        zone = (g.labels.get(zone_label) or UNKNOWN_ZONE) if zone_label else LOCAL_ZONE
        previous, new = tc.observe(zone, state, max(1, int(tp.get("defaultConsecutiveCount") or 1)),
                                   max(1, int(tp.get("zoneQuorumCount") or 1)))
        if new is None:
            return
        since, tc.since = tc.since, now
        if previous is None and new == "OK":
            return      # the initial null → OK transition is suppressed (notifyOnInitialOk off)
        if new == "CRITICAL" and self.ctx.faults.active(F.EVENTS_DROP_CRITICAL):
            log.warning("fault %s: dropping CRITICAL for task %s", F.EVENTS_DROP_CRITICAL, task["id"])
            return
        duration_ns = int((now - since) * 1e9) if since is not None else 0
        self._publish(task, g, new, previous, render_message(message, g.values, g.labels),
                      tc.observations(), group_by, duration_ns)

    # ----------------------------------------------------------------- output
    def _publish(self, task: dict[str, Any], g: MetricGroup, state: str, previous: str | None,
                 message: str | None, observations: list[dict[str, Any]], group_by: list[str],
                 duration_ns: int) -> None:
        fmt = self.ctx.config.event_format
        type_id: str | None
        if fmt == "state-change":
            event = build_state_change(g.tenant, task, g, state, previous, message)
            type_id = topics.TYPE_IDS["StateChangeEvent"]
        elif fmt == "kapacitor":
            event = build_kapacitor(g.tenant, task, g, state, previous, message, group_by, duration_ns)
            type_id = None
        else:
            event = build_notification(g.tenant, task, g, state, previous, message, observations, group_by)
            type_id = topics.TYPE_IDS["EventNotification"]
        if self.ctx.bus is not None:
            self.ctx.bus.publish(self.ctx.config.event_topic, event["id"], event, type_id)
        self.published += 1
        log.info("event %s %s→%s task=%s resource=%s", g.group, previous, state, task["id"],
                 g.labels.get("system_resource_id"))
