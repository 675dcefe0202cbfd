"""The explainer worker: consumer group on the Redis stream, the stages with configurable costs,
backpressure, chaos, HIF persistence, status, metrics and audit.

Why real waits per stage: the stand-in has no model, so each stage costs a configured time while
holding one of ``EXPLAINER_SLOTS`` (the "GPUs"). Under load, jobs queue for a slot, so latency,
backlog and backpressure are real effects of the offered rate, not simulated numbers.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import json
import logging
import os
import re
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .. import faults as F
from ..audit import AuditLog
from ..faults import FaultBoard
from ..store import TERMINAL, StatusStore
from . import hif
from .backpressure import Controller, Decision
from .chaos import Chaos
from .metrics import ExplainerMetrics

log = logging.getLogger("sandbox.sidecar.explainer")
CHANNEL = "hypergraph:status"
STAGES = ("fetch", "decode", "attribution", "prune", "persist")
METRIC_STAGE = {"fetch": "extract"}
PROGRESS = {"fetch": 10, "decode": 25, "attribution": 60, "prune": 85, "persist": 95}
DEFAULT_COSTS = {"sentence": "fetch=5,decode=20,attribution=40,prune=5,persist=5",
                 "token": "fetch=5,decode=60,attribution=200,prune=10,persist=10"}


def parse_costs(text: str) -> dict[str, float]:
    """``fetch=5,decode=20,…`` (milliseconds) → seconds per stage."""
    out = {s: 0.0 for s in STAGES}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, ms = part.partition("=")
        if name.strip() not in out:
            raise ValueError(f"unknown stage {name!r} in stage costs (stages: {', '.join(STAGES)})")
        out[name.strip()] = float(ms) / 1000
    return out


def slug(value: Any) -> str:
    text = re.sub(r"[^A-Za-z0-9._-]", "-", str(value or ""))[:128] or "unknown"
    return "unknown" if text in (".", "..") else text


class Canceled(Exception):
    pass


class Worker:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.redis = aioredis.from_url(env.get("REDIS_URL") or "redis://127.0.0.1:6379/0", decode_responses=True)
        self.stream = env.get("REDIS_STREAM") or "hypergraph:completions"
        self.group = env.get("REDIS_CONSUMER_GROUP") or "explainer"
        self.consumer = env.get("REDIS_CONSUMER_NAME") or socket.gethostname()
        self.block_ms = int(env.get("REDIS_BLOCK_MS") or 15000)
        self.claim_idle_ms = int(env.get("REDIS_CLAIM_IDLE_MS") or 60000)
        self.slots = asyncio.Semaphore(int(env.get("EXPLAINER_SLOTS") or 2))
        self.prefetch = int(env.get("EXPLAINER_PREFETCH") or 256)
        self.store = StatusStore(Path(env.get("STATUS_JSON_PATH") or "/tmp/hif/status.json"),
                                 float(env.get("TRACE_TTL_DAYS") or 7))
        self.audit = AuditLog(env.get("AUDIT_LOG_PATH") or "/var/log/hypergraph/audit.log", "explainer",
                              (env.get("AUDIT_LOG_ENABLE") or "0") not in ("0", "false", "False", "FALSE", ""))
        self.faults = FaultBoard(Path(env["SANDBOX_FAULTS_PATH"]))
        self.chaos = Chaos(env.get("CHAOS_CONTROL_PATH") or "/tmp/hif/chaos.json",
                           int(env.get("ATTR_RANDOM_SEED") or 7))
        self.bp = Controller(env)
        self.metrics = ExplainerMetrics()
        self.costs = {g: parse_costs(env.get(f"STAGE_COSTS_{g.upper()}") or DEFAULT_COSTS[g]) for g in DEFAULT_COSTS}
        self.artifact_root = Path(env.get("ARTIFACT_ROOT") or "/tmp/hif")
        self.prefix = env.get("S3_PREFIX") or "traces"
        self.methods = {"sentence": env.get("ATTR_METHOD_SENTENCE") or "acdc",
                        "token": env.get("ATTR_METHOD_TOKEN") or "shapley"}
        self.limits: dict[str, Any] = {"min_edge_weight": float(env.get("HG_MIN_EDGE_WEIGHT") or 0.01),
                       "max_nodes": int(env.get("HG_MAX_NODES") or 5000),
                       "max_incidences": int(env.get("HG_MAX_INCIDENCES") or 20000)}
        self.waiting: dict[str, tuple[str, str, float]] = {}      # msg id → (tenant, granularity, enqueued)
        self.inflight: set[asyncio.Task] = set()
        self.lag = 0

    # ---------------------------------------------------------------- loop
    async def run(self, stop: asyncio.Event) -> None:
        try:
            await self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except aioredis.ResponseError as e:
            if "BUSYGROUP" not in str(e):
                raise
        gauges = asyncio.create_task(self._gauges(stop))
        claimed = await self.redis.xautoclaim(self.stream, self.group, self.consumer, self.claim_idle_ms, "0-0")
        for msg_id, fields in (claimed[1] if claimed else []):
            self._spawn(msg_id, fields)
        while not stop.is_set():
            if len(self.inflight) >= self.prefetch:
                await asyncio.wait(self.inflight, return_when=asyncio.FIRST_COMPLETED)
                continue
            try:
                # redis-py's stubs type the reply loosely: [[stream, [(id, fields), …]], …]
                got: Any = await self.redis.xreadgroup(self.group, self.consumer, {self.stream: ">"},
                                                  count=self.prefetch - len(self.inflight),
                                                  block=min(self.block_ms, 1000))
            except aioredis.ConnectionError as e:
                log.warning("redis read failed: %s", e)
                await asyncio.sleep(0.2)
                continue
            for _stream, messages in got or []:
                for msg_id, fields in messages:
                    self._spawn(msg_id, fields)
        gauges.cancel()
        for t in list(self.inflight):
            t.cancel()

    def _spawn(self, msg_id: str, fields: dict[str, str]) -> None:
        task = asyncio.create_task(self._job(msg_id, fields))
        self.inflight.add(task)
        task.add_done_callback(self.inflight.discard)

    async def _gauges(self, stop: asyncio.Event) -> None:
        """Backlog and queue gauges also fall back to 0 when the queue drains (not only per job)."""
        while not stop.is_set():
            try:
                groups = await self.redis.xinfo_groups(self.stream)
                self.lag = sum(int(g.get("lag") or 0) for g in groups if g.get("name") == self.group)
            except Exception:  # noqa: BLE001
                pass
            if not self.faults.active(F.NO_BACKPRESSURE):
                self._publish_gauges()
            await asyncio.sleep(0.5)

    def _publish_gauges(self) -> None:
        now = time.time()
        oldest: dict[str, float] = {"sentence": 0.0, "token": 0.0}
        tenants: dict[str, int] = {}
        for tenant, gran, enq in self.waiting.values():
            oldest[gran] = max(oldest.get(gran, 0.0), now - enq)
            tenants[tenant] = tenants.get(tenant, 0) + 1
        for gran, age in oldest.items():
            self.metrics.backlog.labels(granularity=gran).set(age)
        self.metrics.hg_backlog.set(max(oldest.values()))
        self.metrics.queue_global.set(len(self.waiting) + self.lag)
        for tenant, n in tenants.items():
            self.metrics.queue_tenant.labels(tenant=tenant).set(n)

    # ---------------------------------------------------------------- one job
    async def _job(self, msg_id: str, fields: dict[str, str]) -> None:
        try:
            env = json.loads(fields.get("data") or "{}")
        except ValueError:
            await self.redis.xack(self.stream, self.group, msg_id)
            return
        tenant, gran = env.get("tenant_id") or "anon", env.get("granularity") or "sentence"
        enqueued = float(env.get("enqueued_at") or time.time())
        self.waiting[msg_id] = (tenant, gran, enqueued)
        try:
            async with self.slots:
                waited = time.time() - enqueued
                self.metrics.queue_lag.observe(max(0.0, waited))
                tenant_queue = sum(1 for t, _, _ in self.waiting.values() if t == tenant)
                global_queue = len(self.waiting) + self.lag
                del self.waiting[msg_id]
                await self._explain(env, tenant, gran, waited, tenant_queue, global_queue)
        except Canceled:
            pass
        except Exception:
            log.exception("job %s failed", msg_id)
            await self._finish(env, tenant, gran, "failed", stage="failed", error="explainer_error")
        finally:
            self.waiting.pop(msg_id, None)
            await self.redis.xack(self.stream, self.group, msg_id)

    async def _set(self, trace_id: str, **fields: Any) -> dict[str, Any]:
        item = self.store.update(trace_id, **fields)
        if item is None:
            raise Canceled()
        await self.redis.publish(CHANNEL, json.dumps(item))
        if item.get("state") == "canceled":
            self.audit.emit("trace.canceled", tenant_id=item.get("tenant_id"), trace_id=trace_id, status="canceled")
            raise Canceled()
        return item

    def _decide(self, gran: str, backlog: float, tenant: str, tq: int, gq: int) -> Decision:
        if self.faults.active(F.NO_BACKPRESSURE):
            return Decision()
        spike = self.chaos.flag("rate-limit-spike")
        severity = str(spike.get("severity") or "soft") if spike is not None else None
        decision = self.bp.decide(gran, backlog, tq, gq, severity)
        self.metrics.bp_level.labels(tenant=tenant, granularity=gran).set(decision.level)
        for action in decision.actions:
            self.metrics.bp_actions.labels(action=action).inc()
        self._publish_gauges()
        return decision

    async def _explain(self, env: dict[str, Any], tenant: str, gran: str, backlog: float, tq: int, gq: int) -> None:
        trace_id = env["trace_id"]
        item = self.store.get(trace_id)
        if item is None or item.get("state") in TERMINAL:
            if item is not None and item.get("state") == "canceled":
                self.audit.emit("trace.canceled", tenant_id=tenant, trace_id=trace_id, status="canceled")
            return
        if not self.faults.active(F.CHAOS_IGNORED):
            self.chaos.refresh()
        else:
            self.chaos.flags = {}
        decision = self._decide(gran, backlog, tenant, tq, gq)
        bp: dict[str, Any] = {}
        if decision.level or decision.actions:
            bp = {"bp_level": decision.level, "bp_actions": decision.actions}
        if decision.drop:
            await self._finish(env, tenant, gran, "shed", stage="shed", error="backpressure_dropped", **bp)
            return
        eff = "sentence" if "token->sentence" in decision.actions and gran == "token" else gran
        if eff != gran:
            bp.update(granularity=eff, granularity_downgraded=True)
        await self._set(trace_id, state="running", stage="fetch", progress=PROGRESS["fetch"], **bp)
        self.audit.emit("trace.running", tenant_id=tenant, trace_id=trace_id, status="running")
        costs = self.costs[gran]
        method = self.methods[eff]
        fail = self.chaos.roll("fail-attribution")
        if fail is not None and str(fail.get("mode") or "fail") == "fail":
            self.chaos.latched_failure = True
        latched = self.chaos.latched_failure and self.faults.active(F.CHAOS_NEVER_RECOVERS)
        for stage in STAGES:
            if stage != "fetch":
                await self._set(trace_id, stage=stage, progress=PROGRESS[stage])
            cost = costs[stage]
            if stage == "decode":
                slow = self.chaos.roll("slow-sae")
                if slow is not None:
                    jitter = float(slow.get("jitter_ms") or 150) / 1000
                    cost += self.chaos.rng.uniform(0.5 * jitter, 1.5 * jitter)
                if "reduce-layers" in decision.actions:
                    cost *= 0.5
                self.metrics.sae_requests.labels(device="cpu", layer="all").inc()
            if stage == "attribution":
                if "reduce-samples" in decision.actions:
                    cost *= 0.5
                if "reduce-topk" in decision.actions:
                    cost *= 0.8
                if "saliency-fallback" in decision.actions:
                    cost, method = cost * 0.2, "saliency"
                if self.faults.active(F.SLOW_STAGE):
                    cost += float(self.faults.param(F.SLOW_STAGE, 3.0))
                if (fail is not None and str(fail.get("mode") or "fail") == "fail") or latched:
                    await self._finish(env, tenant, eff, "failed", stage="attribution",
                                       error="chaos_fail_attribution")
                    return
                if fail is not None:
                    method = "fallback"
            t0 = time.perf_counter()
            await self._work(trace_id, cost)
            took = time.perf_counter() - t0
            self.metrics.stage.labels(stage=METRIC_STAGE.get(stage, stage)).observe(took)
            if stage == "attribution":
                self.metrics.attr_method.labels(method=method, granularity=eff).inc()
                self.metrics.attr_latency.labels(method=method, granularity=eff).observe(took)
            if stage == "decode":
                self.metrics.sae_latency.labels(device="cpu", layer="all").observe(took)
            if stage == "persist":
                if self.chaos.roll("drop-s3") is not None:
                    await self._finish(env, tenant, eff, "failed", stage="persist", error="s3_persist_failed")
                    return
                key, v2 = self._persist(env, eff, method)
        await self._finish(env, tenant, eff, "complete", stage="complete", progress=100, s3_key=key)
        if v2 is not None:
            await self.redis.hset("hypergraph:explanations_v2", v2[0], v2[1])

    async def _work(self, trace_id: str, cost: float) -> None:
        """A stage's cost; a long one notices a cancel within a quarter second (frees its slot)."""
        end = time.monotonic() + cost
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            await asyncio.sleep(min(left, 0.25))
            item = self.store.get(trace_id) if cost > 0.5 else None
            if item is not None and item.get("state") == "canceled":
                self.audit.emit("trace.canceled", tenant_id=item.get("tenant_id"), trace_id=trace_id,
                                status="canceled")
                raise Canceled()

    def _persist(self, env: dict[str, Any], gran: str, method: str) -> tuple[str, tuple[str, str] | None]:
        """Build, check nothing (faults may break it on purpose), write the gzipped artifact."""
        messages = env.get("messages") or []
        prompt = next((str(m.get("content") or "") for m in messages if isinstance(m, dict)
                       and m.get("role") == "user"), "")
        try:
            answer = env["response"]["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            answer = ""
        model = str(env.get("model") or "unknown")
        feats = env.get("featureset") or "sae-gpt4-2m"
        graph = hif.build(prompt, answer, granularity=gran, featureset=feats, model=model, method=method,
                          **self.limits)
        before = max(1, len(graph["incidences"]))
        if self.faults.active(F.HIF_SCHEMA_VIOLATION) and graph["nodes"]:
            graph["nodes"][0]["layer"] = None
            graph["debug"] = {"note": "not part of hif-1"}
        if self.faults.active(F.HIF_DANGLING) and graph["nodes"]:
            graph["incidences"].append({"id": "e_dangling", "node_ids": [graph["nodes"][0]["id"], "ghost_node"],
                                        "weight": 0.5})
        m = self.metrics
        m.nodes.set(len(graph["nodes"]))
        m.incidences.set(len(graph["incidences"]))
        m.prune_ratio.set(0.0 if not before else max(0.0, 1 - len(graph["incidences"]) / before))
        m.supernodes.set(sum(1 for n in graph["nodes"] if n.get("type") == "circuit_supernode"))
        day = dt.datetime.now(dt.UTC)
        key = "/".join([slug(self.prefix), f"{day:%Y}", f"{day:%m}", f"{day:%d}", slug(env["trace_id"]),
                        f"{slug(gran)}-{slug(feats)}-{slug(hif.model_hash(model))}.hif.json.gz"])
        path = self.artifact_root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(gzip.compress(json.dumps(graph).encode(), compresslevel=5))
        os.replace(tmp, path)
        chat_id = (env.get("response") or {}).get("id")
        v2 = (chat_id, json.dumps(hif.v2(chat_id, graph, env.get("provider") or "openai", model))) if chat_id else None
        return key, v2

    async def _finish(self, env: dict[str, Any], tenant: str, gran: str, state: str, **fields: Any) -> None:
        trace_id = env["trace_id"]
        feats = env.get("featureset") or "sae-gpt4-2m"
        item = await self._set(trace_id, state=state, **fields)
        if item.get("state") != state:
            return
        self.metrics.jobs.labels(state="completed" if state == "complete" else "failed", granularity=gran,
                                 featureset=feats).inc()
        event = "trace.complete" if state == "complete" else "trace.failed"
        self.audit.emit(event, tenant_id=tenant, trace_id=trace_id, status=state, reason=fields.get("error"))


async def metrics_app(worker: Worker) -> web.Application:
    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(worker.metrics.registry), headers={"Content-Type":
                                                                                     CONTENT_TYPE_LATEST})

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    return app
