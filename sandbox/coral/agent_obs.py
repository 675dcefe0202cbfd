"""Agent observability (contract §6): the OTLP receivers, the system collector, the query RPCs.

Real where a stand-in can be real: OTLP over gRPC and HTTP (``opentelemetry-proto`` + ``grpcio``),
system metrics read with ``psutil`` inside the agent's host (network counters are that host's
namespace's own). eBPF is *not* emulated: its RPCs answer ``unimplemented``, so the L0/L2-profiling/L3
specs skip (``@needs:ebpf``) rather than pass on invented data.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

import psutil
from aiohttp import web

from support.durations import seconds_or

from .faults import SPANS_DROPPED
from .otlp import http_routes, keep, start_grpc
from .rpc import ConnectRouter, RpcError

log = logging.getLogger("sandbox.coral.agent.obs")
AGENT = "coral.agent.v1.AgentService"
DEBUG = "coral.agent.v1.AgentDebugService"
MAX_ROWS = 200_000


class Observability:
    def __init__(self, agent: Any, cfg: dict[str, Any]) -> None:
        self.agent, self.cfg = agent, cfg
        self.sample_rate = float(cfg.get("sample_rate", 0.10))
        self.interval = seconds_or(cfg.get("system_metrics_interval"), 15.0)
        self.spans: list[dict[str, Any]] = []        # otel_spans_local, with a sequence id
        self.metrics: list[dict[str, Any]] = []      # system_metrics_local
        self.otlp_metric_points = 0
        self._seq = 0
        self._lock = threading.Lock()
        self.grpc = None

    # -- ingestion --------------------------------------------------------------------------------
    def sink(self, rows: list[dict[str, Any]]) -> None:
        if self.agent.faults.active(SPANS_DROPPED):
            return
        with self._lock:
            for row in rows:
                if keep(row, self.sample_rate):
                    self._seq += 1
                    self.spans.append({**row, "seqId": self._seq})
            del self.spans[:-MAX_ROWS]

    def count_metrics(self, n: int) -> None:
        self.otlp_metric_points += n

    # -- system collector (L2) ------------------------------------------------------------------------
    def collect(self) -> None:
        now = int(time.time() * 1000)
        vm = psutil.virtual_memory()
        disk = psutil.disk_usage("/")
        io = psutil.disk_io_counters()
        net = psutil.net_io_counters()           # this host's network namespace
        cpu = psutil.cpu_times()
        rows = [("system.cpu.utilization", psutil.cpu_percent(None), "percent", "gauge"),
                ("system.cpu.time", cpu.user + cpu.system, "seconds", "counter"),
                ("system.memory.usage", vm.used, "bytes", "gauge"),
                ("system.memory.limit", vm.total, "bytes", "gauge"),
                ("system.memory.utilization", vm.percent, "percent", "gauge"),
                ("system.disk.usage", disk.used, "bytes", "gauge"),
                ("system.disk.utilization", disk.percent, "percent", "gauge"),
                ("system.disk.io.read", io.read_bytes if io else 0, "bytes", "counter"),
                ("system.disk.io.write", io.write_bytes if io else 0, "bytes", "counter"),
                ("system.network.io.receive", net.bytes_recv, "bytes", "counter"),
                ("system.network.io.transmit", net.bytes_sent, "bytes", "counter"),
                ("system.network.errors.receive", net.errin, "count", "counter"),
                ("system.network.errors.transmit", net.errout, "count", "counter")]
        with self._lock:
            for name, value, unit, kind in rows:
                self._seq += 1
                self.metrics.append({"timestamp": now, "name": name, "value": float(value), "unit": unit,
                                     "metricType": kind, "attributes": {"host.name": self.agent.hostname},
                                     "seqId": self._seq})
            del self.metrics[:-MAX_ROWS]

    async def collector(self) -> None:
        psutil.cpu_percent(None)                # prime the CPU counter
        while True:
            await asyncio.sleep(self.interval)      # the collection period is the specified behaviour
            await asyncio.get_running_loop().run_in_executor(None, self.collect)

    # -- queries -------------------------------------------------------------------------------------
    @staticmethod
    def _select(rows: list[dict[str, Any]], body: dict[str, Any], names_key: str, name_field: str) -> dict:
        """Both request shapes (§6.1): plan-era ``startTime``/``endTime`` (Unix s) or HEAD's cursor."""
        names = set(body.get(names_key) or [])
        start_seq = int(body.get("startSeqId") or 0)
        limit = int(body.get("maxRecords") or 0) or 10_000
        lo = float(body.get("startTime") or 0) * 1000
        hi = float(body.get("endTime") or 0) * 1000 or float("inf")
        picked = [r for r in rows if (not names or r[name_field] in names) and r["seqId"] > start_seq
                  and lo <= r["timestamp"] <= hi][:limit]
        return {"rows": picked, "next": picked[-1]["seqId"] if picked else start_seq}

    async def query_telemetry(self, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
        with self._lock:
            out = self._select(list(self.spans), body, "serviceNames", "serviceName")
        spans = [{k: v for k, v in r.items() if k != "seqId"} for r in out["rows"]]
        return {"spans": spans, "totalSpans": len(spans), "nextSeqId": str(out["next"])}

    async def query_system_metrics(self, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
        with self._lock:
            out = self._select(list(self.metrics), body, "metricNames", "name")
        metrics = [{k: v for k, v in r.items() if k != "seqId"} for r in out["rows"]]
        return {"metrics": metrics, "totalMetrics": len(metrics), "nextSeqId": str(out["next"])}

    async def no_ebpf(self, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
        raise RpcError("unimplemented", "eBPF collectors are not emulated by the e2et agent stand-in")

    def routes(self, app: web.Application) -> None:
        r = ConnectRouter(app)
        r.unary(AGENT, "QueryTelemetry", self.query_telemetry)
        r.unary(AGENT, "QuerySystemMetrics", self.query_system_metrics)
        for rpc in ("QueryEbpfMetrics", "StartBeyla"):
            r.unary(AGENT, rpc, self.no_ebpf)
        for rpc in ("QueryCPUProfileSamples", "ProfileCPU", "AttachUprobe", "QueryUprobeEvents"):
            r.unary(DEBUG, rpc, self.no_ebpf)

    async def run(self) -> None:
        self.grpc = await start_grpc(4317, self.sink, self.count_metrics)
        http = web.Application()
        http_routes(http, self.sink, self.count_metrics)
        runner = web.AppRunner(http, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "0.0.0.0", 4318).start()
        log.info("OTLP receivers on :4317 (gRPC) and :4318 (HTTP), sample rate %s", self.sample_rate)
        await self.collector()


def attach(agent: Any, cfg: dict[str, Any]) -> Observability:
    return Observability(agent, cfg)
