"""Event engine: UMF metrics → task evaluation → state-change events (contract §6.3, §6.4).

Consumes ``telemetry.metrics.json`` with a group-less :class:`~sandbox.common.kafka_reader.TopicReader`
(group joins take ~20 s on Tansu), regroups each frame (:mod:`.umf`), evaluates each matching
task's state expressions (:mod:`.expressions`) with a per-zone consecutive-count state machine and
zone quorum, and publishes one event per state change in the configured era's format
(:mod:`.event_formats`: EventNotification by default; StateChangeEvent and Kapacitor alerts for
older deployments).

Tasks are looked up per metric (``domain.tasks_for``), so creating or deleting a task takes effect
on the very next metric, like the real engine's task-change listener but without its delay.
"""
from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from sandbox.common.kafka_reader import TopicReader

from . import faults as F
from . import topics
from .context import SandboxContext
from .event_formats import build_event
from .expressions import History, first_matching_state, render_message
from .labels import selector_matches
from .umf import MetricGroup, group_frame, parse_ts

log = logging.getLogger("sandbox.event_engine")

UNKNOWN_ZONE = "_UNKNOWN_"
LOCAL_ZONE = "_LOCAL_"
#: Most severe first: quorum picks the most severe state enough zones agree on.
SEVERITY = ("CRITICAL", "WARNING", "OK")


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


class EventEngine:
    """Consumer thread + evaluator; ``handle(umf)`` is the evaluation entry point (tests call it)."""

    def __init__(self, ctx: SandboxContext, bootstrap: str) -> None:
        self.ctx = ctx
        self.bootstrap = bootstrap
        self.published = 0      # events handed to the bus
        self.evaluated = 0      # (metric group, task) pairs whose selector matched
        self.frames = 0         # UMF frames fully handled (tests wait on it to prove "no event")
        self.reader = TopicReader(bootstrap, topics.METRICS)
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
            except Exception as e:  # noqa: BLE001 — any consumer failure: close, reconnect, keep evaluating
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
        event, type_id = build_event(self.ctx.config.event_format, task, g, new, previous,
                                     render_message(message, g.values, g.labels), tc.observations(),
                                     group_by, duration_ns)
        if self.ctx.faults.active(F.EVENTS_WRONG_TENANT) and "tenantId" in event:
            event["tenantId"] = self.ctx.config.other_tenant_id
        if self.ctx.bus is not None:
            self.ctx.bus.publish(self.ctx.config.event_topic, event["id"], event, type_id)
        self.published += 1
        log.info("event %s %s→%s task=%s resource=%s", g.group, previous, new, task["id"],
                 g.labels.get("system_resource_id"))
