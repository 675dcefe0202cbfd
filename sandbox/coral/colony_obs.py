"""Colony observability (contract §6): pollers over the mesh, 1-minute aggregation, query RPCs.

Each poller period the colony asks every healthy or degraded agent, *through the tunnel*, for what
it collected since the last poll (HEAD's cursor shape — no window gaps), then folds it into
minute buckets: ``otel_summaries`` (P50/P95/P99 = sorted durations at index ⌊n·q⌋, capped at n−1)
and ``system_metrics_summaries`` (min/max/avg/p95, delta = max − min for counters). SQLite stands in
for DuckDB; ``ExecuteQuery`` runs read-only SQL against it.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from support.durations import seconds_or

from . import faults as F
from .rpc import ConnectRouter, RpcError, call

log = logging.getLogger("sandbox.coral.colony.obs")
COLONY = "coral.colony.v1.ColonyService"
DEBUG = "coral.colony.v1.ColonyDebugService"
AGENT = "coral.agent.v1.AgentService"
ERRORS = (RpcError, OSError, asyncio.TimeoutError, aiohttp.ClientError, ValueError)

SCHEMA = """
CREATE TABLE IF NOT EXISTS otel_summaries (bucket_time TEXT, agent_id TEXT, service_name TEXT, span_kind TEXT,
    p50_ms REAL, p95_ms REAL, p99_ms REAL, error_count INTEGER, total_spans INTEGER, sample_traces TEXT,
    PRIMARY KEY (bucket_time, agent_id, service_name, span_kind));
CREATE TABLE IF NOT EXISTS system_metrics_summaries (bucket_time TEXT, agent_id TEXT, metric_name TEXT,
    min_value REAL, max_value REAL, avg_value REAL, p95_value REAL, delta_value REAL, sample_count INTEGER,
    unit TEXT, metric_type TEXT, attributes TEXT, PRIMARY KEY (bucket_time, agent_id, metric_name));
CREATE TABLE IF NOT EXISTS _bucket_values (kind TEXT, bucket_key TEXT, payload TEXT, PRIMARY KEY (kind, bucket_key));
"""


def percentile(sorted_values: list[float], q: float) -> float:
    """The contract's rule: index ⌊n·q⌋, capped at n − 1."""
    n = len(sorted_values)
    return sorted_values[min(int(n * q), n - 1)] if n else 0.0


def minute(ts_ms: float) -> str:
    start = int(ts_ms // 60_000) * 60
    return dt.datetime.fromtimestamp(start, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Observability:
    def __init__(self, colony: Any, cfg: dict[str, Any]) -> None:
        self.colony, self.cfg = colony, cfg
        self.db = sqlite3.connect(Path(cfg["state_dir"]) / "telemetry.sqlite")
        self.db.executescript(SCHEMA)
        self.telemetry_every = seconds_or(cfg.get("telemetry_poll_interval"), 60.0)
        self.system_every = seconds_or(cfg.get("system_metrics_poll_interval"), 60.0)
        self.cursors: dict[tuple[str, str, str], int] = {}       # (kind, agent, agent key) → last seq

    # -- polling --------------------------------------------------------------------------------------
    def _targets(self) -> list[Any]:
        now = time.time()
        return [e for e in self.colony.agents.values()
                if e.mesh_ipv4 and self.colony.status_of(e, now) in ("healthy", "degraded")]

    def _owner(self, agent_id: str) -> str:
        """Whose data this is; the `metrics_misattributed` fault credits it to the next polled agent."""
        if not self.colony.faults.active(F.METRICS_MISATTRIBUTED):
            return agent_id
        ids = sorted(e.agent_id for e in self._targets())
        return ids[(ids.index(agent_id) + 1) % len(ids)] if agent_id in ids and len(ids) > 1 else agent_id

    async def _poll(self, kind: str, rpc: str, field: str) -> None:
        for e in self._targets():
            key = (kind, e.agent_id, e.pubkey)
            body = {"startSeqId": str(self.cursors.get(key, 0)), "maxRecords": 10_000}
            try:
                out = await call(self.colony.http, f"http://{e.mesh_ipv4}:9001", AGENT, rpc, body, timeout=3)
            except ERRORS as err:
                log.info("%s poll of %s failed: %s", kind, e.agent_id, err)
                continue
            rows = out.get(field) or []
            self.cursors[key] = int(out.get("nextSeqId") or self.cursors.get(key, 0))
            if rows:
                (self._fold_spans if kind == "telemetry" else self._fold_metrics)(self._owner(e.agent_id), rows)

    async def poller(self, kind: str, every: float, rpc: str, field: str) -> None:
        while True:
            await asyncio.sleep(every)         # the poll period is the specified behaviour
            if not self.colony.faults.active(F.POLLER_STOPPED):
                try:
                    await self._poll(kind, rpc, field)
                except Exception:
                    log.exception("%s poll failed", kind)

    # -- aggregation ----------------------------------------------------------------------------------
    def _values(self, kind: str, key: str) -> dict[str, Any]:
        row = self.db.execute("SELECT payload FROM _bucket_values WHERE kind=? AND bucket_key=?",
                              (kind, key)).fetchone()
        return json.loads(row[0]) if row else {}

    def _fold_spans(self, agent_id: str, spans: list[dict[str, Any]]) -> None:
        groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        for s in spans:
            groups.setdefault((minute(float(s.get("timestamp") or 0)), s.get("serviceName", ""), s.get("spanKind", "")),
                              []).append(s)
        for (bucket, service, span_kind), items in groups.items():
            key = json.dumps([bucket, agent_id, service, span_kind])
            acc = self._values("otel", key) or {"durations": [], "errors": 0, "traces": []}
            acc["durations"] += [float(s.get("durationMs") or 0) for s in items]
            acc["errors"] += sum(1 for s in items if s.get("isError"))
            for s in items:
                if len(acc["traces"]) < 5 and s.get("traceId") not in acc["traces"]:
                    acc["traces"].append(s.get("traceId"))
            d = sorted(acc["durations"], reverse=self.colony.faults.active(F.WRONG_PERCENTILES))
            total = len(d) - (1 if self.colony.faults.active(F.SUMMARY_MISCOUNTED) else 0)
            self.db.execute("INSERT OR REPLACE INTO _bucket_values VALUES ('otel', ?, ?)", (key, json.dumps(acc)))
            self.db.execute("INSERT OR REPLACE INTO otel_summaries VALUES (?,?,?,?,?,?,?,?,?,?)",
                            (bucket, agent_id, service, span_kind, percentile(d, 0.50), percentile(d, 0.95),
                             percentile(d, 0.99), acc["errors"], total, json.dumps(acc["traces"])))
        self.db.commit()

    def _fold_metrics(self, agent_id: str, metrics: list[dict[str, Any]]) -> None:
        groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for m in metrics:
            groups.setdefault((minute(float(m.get("timestamp") or 0)), m.get("name", "")), []).append(m)
        for (bucket, name), items in groups.items():
            key = json.dumps([bucket, agent_id, name])
            acc = self._values("system", key) or {"values": []}
            acc["values"] += [float(m.get("value") or 0.0) for m in items]     # proto3 omits a 0
            v = sorted(acc["values"])
            first = items[0]
            self.db.execute("INSERT OR REPLACE INTO _bucket_values VALUES ('system', ?, ?)", (key, json.dumps(acc)))
            self.db.execute("INSERT OR REPLACE INTO system_metrics_summaries VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                            (bucket, agent_id, name, v[0], v[-1], sum(v) / len(v), percentile(v, 0.95),
                             v[-1] - v[0] if first.get("metricType") == "counter" else 0.0, len(v),
                             first.get("unit", ""), first.get("metricType", ""), json.dumps(first.get("attributes"))))
        self.db.commit()

    # -- RPCs -------------------------------------------------------------------------------------------
    async def execute_query(self, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
        sql = str(body.get("sql") or "").strip()
        if not re.match(r"(?is)^(select|with)\b", sql) or "_bucket_values" in sql:
            raise RpcError("invalid_argument", "only read-only SELECT queries are allowed")
        try:
            cur = self.db.execute(sql)
        except sqlite3.Error as e:
            raise RpcError("invalid_argument", f"query failed: {e}") from None
        rows = cur.fetchmany(int(body.get("maxRows") or 1000))
        return {"columns": [c[0] for c in cur.description or []], "rowCount": len(rows),
                "rows": [{"values": ["" if v is None else str(v) for v in r]} for r in rows]}

    async def unified_summary(self, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
        service = body.get("service") or body.get("serviceName") or ""
        since = time.time() - seconds_or(body.get("timeRange"), 300.0)
        cutoff = minute(since * 1000)
        out = []
        rows = self.db.execute("SELECT agent_id, SUM(total_spans), SUM(error_count), AVG(p50_ms) FROM otel_summaries "
                               "WHERE service_name=? AND bucket_time>=? GROUP BY agent_id", (service, cutoff))
        for agent_id, total, errors, avg in rows:
            cpu = self.db.execute("SELECT AVG(avg_value) FROM system_metrics_summaries WHERE agent_id=? AND "
                                  "metric_name='system.cpu.utilization' AND bucket_time>=?",
                                  (agent_id, cutoff)).fetchone()
            out.append({"serviceName": service, "agentId": agent_id, "status": "healthy", "requestCount": str(total),
                        "errorRate": (errors / total) if total else 0.0, "avgLatencyMs": avg or 0.0, "source": "OTLP",
                        "hostCpuUtilization": (cpu[0] if cpu and cpu[0] is not None else 0.0)})
        return {"summaries": out}

    async def no_ebpf(self, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
        raise RpcError("unimplemented", "eBPF data is not emulated by the e2et colony stand-in")

    def routes(self, app: web.Application) -> None:
        r = ConnectRouter(app)
        r.unary(COLONY, "ExecuteQuery", self.execute_query)
        r.unary(COLONY, "QueryUnifiedSummary", self.unified_summary)
        r.unary(COLONY, "QueryUnifiedMetrics", self.no_ebpf)
        for rpc in ("ProfileCPU", "QueryHistoricalCPUProfile", "AttachUprobe", "QueryUprobeEvents",
                    "GetDebugResults", "DetachUprobe"):
            r.unary(DEBUG, rpc, self.no_ebpf)

    async def run(self) -> None:
        await asyncio.gather(self.poller("telemetry", self.telemetry_every, "QueryTelemetry", "spans"),
                             self.poller("system", self.system_every, "QuerySystemMetrics", "metrics"))


def attach(colony: Any, cfg: dict[str, Any]) -> Observability:
    return Observability(colony, cfg)
