"""L0–L3 clients and expectations (contract §6): traffic to the test apps, the agents' and the
colony's query RPCs, and the colony's aggregation rules recomputed from what the agent holds.

Why recompute: "the colony has a summary" passes when the summary is wrong. The pack takes the
spans the agent itself reports, buckets them by minute, and applies the contract's percentile rule
(sorted durations at ⌊n·q⌋, capped at n−1); the colony's rows must equal that, bucket by bucket.
"""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx

from .connect import ConnectClient, i, lst, s

AGENT = "coral.agent.v1.AgentService"
AGENT_DEBUG = "coral.agent.v1.AgentDebugService"
COLONY = "coral.colony.v1.ColonyService"
COLONY_DEBUG = "coral.colony.v1.ColonyDebugService"


def percentile(sorted_values: list[float], q: float) -> float:
    """The contract's rule (index ⌊n·q⌋, capped at n − 1), written here apart from the stand-in's
    on purpose: the specs judge the colony's percentiles with it, and a helper shared with the
    stand-in would agree with any bug in it."""
    n = len(sorted_values)
    return sorted_values[min(int(n * q), n - 1)] if n else 0.0


def minute_of(ts_ms: float) -> str:
    import datetime as dt
    start = int(ts_ms // 60_000) * 60
    return dt.datetime.fromtimestamp(start, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Span:
    timestamp: float
    trace_id: str
    span_id: str
    parent: str
    name: str
    service: str
    kind: str
    duration_ms: float
    http_status: int
    attributes: dict[str, str]

    @classmethod
    def read(cls, d: dict[str, Any]) -> Span:
        return cls(float(d.get("timestamp") or 0), s(d, "traceId"), s(d, "spanId"), s(d, "parentSpanId"),
                   s(d, "name"), s(d, "serviceName"), s(d, "spanKind"), float(d.get("durationMs") or 0),
                   i(d, "httpStatus"), {str(k): str(v) for k, v in (d.get("attributes") or {}).items()})


@dataclass
class Request:
    path: str
    marker: str
    status: int


@dataclass
class Traffic:
    """One batch the pack sent to a test app: each request carries its own marker in the query."""

    batch: str
    requests: list[Request] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0

    def by_path(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]


def drive(app_url: str, batch: str, plan: list[tuple[str, int]], timeout: float = 10.0) -> Traffic:
    """Bounded traffic to a sandbox/test host address: ``plan`` is [(path, count)]."""
    t = Traffic(batch, started=time.time())
    with httpx.Client(base_url=app_url, timeout=timeout) as client:
        for path, count in plan:
            for k in range(count):
                marker = f"{batch}-{path.rsplit('/', 1)[-1]}-{k}"
                method = "POST" if path.endswith("checkout") else "GET"
                resp = client.request(method, f"{path.lstrip('/')}?e2et={marker}")
                t.requests.append(Request(path, marker, resp.status_code))
    t.ended = time.time()
    return t


def new_batch(run_id: str) -> str:
    return f"e2et-{run_id}-{secrets.token_hex(3)}"


class AgentQueries:
    def __init__(self, rpc: ConnectClient) -> None:
        self.rpc = rpc

    def spans(self, service: str, start: float, end: float) -> list[Span]:
        """Both request shapes in one body (§6.1): plan-era seconds window, HEAD cursor from the start."""
        body = {"serviceNames": [service], "startTime": str(int(start)), "endTime": str(int(end) + 1),
                "startSeqId": "0", "maxRecords": 100000}
        return [Span.read(x) for x in lst(self.rpc.call(AGENT, "QueryTelemetry", body), "spans")]

    def system_metrics(self, start: float, end: float) -> list[dict[str, Any]]:
        body = {"startTime": str(int(start)), "endTime": str(int(end) + 1), "startSeqId": "0", "maxRecords": 100000}
        return lst(self.rpc.call(AGENT, "QuerySystemMetrics", body), "metrics")

    def ebpf_metrics(self, service: str, start: float, end: float) -> dict[str, Any]:
        body = {"serviceNames": [service], "startTime": str(int(start)), "endTime": str(int(end) + 1),
                "startSeqId": "0", "httpStartSeqId": "0", "maxRecords": 100000}
        return self.rpc.call(AGENT, "QueryEbpfMetrics", body)

    def cpu_samples(self, service: str, start: float, end: float) -> list[dict[str, Any]]:
        body = {"serviceName": service, "startTime": str(int(start)), "endTime": str(int(end) + 1)}
        return lst(self.rpc.call(AGENT_DEBUG, "QueryCPUProfileSamples", body), "samples")

    def connect_service(self, name: str, port: int) -> dict[str, Any]:
        return self.rpc.call(AGENT, "ConnectService", {"name": name, "port": port, "healthEndpoint": "/health"})


class ColonyQueries:
    def __init__(self, rpc: ConnectClient) -> None:
        self.rpc = rpc

    def sql(self, query: str) -> list[dict[str, str]]:
        out = self.rpc.call(COLONY, "ExecuteQuery", {"sql": query, "maxRows": 10000})
        cols = [str(c) for c in lst(out, "columns")]
        return [dict(zip(cols, [str(v) for v in lst(row, "values")], strict=False)) for row in lst(out, "rows")]

    def unified_summary(self, service: str, time_range: str = "5m") -> list[dict[str, Any]]:
        return lst(self.rpc.call(COLONY, "QueryUnifiedSummary", {"service": service, "timeRange": time_range}),
                   "summaries")

    def unified_ebpf(self, service: str) -> dict[str, Any]:
        return self.rpc.call(COLONY, "QueryUnifiedMetrics", {"service": service, "timeRange": "5m", "source": "ebpf"})

    def profile_cpu(self, service: str, seconds: int, hz: int) -> dict[str, Any]:
        return self.rpc.call(COLONY_DEBUG, "ProfileCPU", {"serviceName": service, "durationSeconds": seconds,
                                                           "frequencyHz": hz})

    def historical_profile(self, service: str, start: float, end: float) -> dict[str, Any]:
        return self.rpc.call(COLONY_DEBUG, "QueryHistoricalCPUProfile",
                             {"serviceName": service, "startTime": str(int(start)), "endTime": str(int(end) + 1)})

    def attach_uprobe(self, agent_id: str, service: str, function: str, duration: str) -> dict[str, Any]:
        return self.rpc.call(COLONY_DEBUG, "AttachUprobe", {
            "agentId": agent_id, "serviceName": service, "functionName": function, "duration": duration,
            "config": {"captureArgs": True, "captureReturn": True}})

    def uprobe_events(self, session: str, limit: int = 1000) -> list[dict[str, Any]]:
        return lst(self.rpc.call(COLONY_DEBUG, "QueryUprobeEvents", {"sessionId": session, "maxEvents": limit}),
                   "events")

    def debug_results(self, session: str) -> dict[str, Any]:
        return self.rpc.call(COLONY_DEBUG, "GetDebugResults", {"sessionId": session})

    def detach(self, session: str) -> dict[str, Any]:
        return self.rpc.call(COLONY_DEBUG, "DetachUprobe", {"sessionId": session})


def expected_summaries(spans: list[Span], kind: str = "SERVER") -> dict[str, dict[str, float]]:
    """What the colony's ``otel_summaries`` must hold per minute bucket, from the agent's spans."""
    buckets: dict[str, list[float]] = {}
    for sp in spans:
        if sp.kind == kind:
            buckets.setdefault(minute_of(sp.timestamp), []).append(sp.duration_ms)
    out = {}
    for bucket, durations in buckets.items():
        d = sorted(durations)
        out[bucket] = {"total_spans": len(d), "p50_ms": percentile(d, 0.50), "p95_ms": percentile(d, 0.95),
                       "p99_ms": percentile(d, 0.99)}
    return out


class ObsFixtures:
    """The world's L0–L3 part: run-scoped traffic (sent once, on first use) and deadline waits."""

    PLAN: ClassVar[list[tuple[str, int]]] = [("/api/users", 10), ("/api/products", 10), ("/api/checkout", 30)]

    def __init__(self, world: Any) -> None:
        self.w = world
        self.colony = ColonyQueries(world.colony.rpc)

    def agent(self, name: str) -> AgentQueries:
        return AgentQueries(self.w.agents[name].rpc)

    def app(self, key: str = "otel_app") -> Any:
        return self.w.settings.observability.apps[key]

    def traffic(self) -> Traffic:
        app = self.app()
        return self.w.once("otel-traffic", lambda: drive(app.url, new_batch(self.w.run.run_id), self.PLAN))

    def run_spans(self, traffic: Traffic) -> list[Span]:
        """Every span of this batch's traces, once the agent holds a root for each request."""
        from ..waiting import poll
        app = self.app()
        markers = {r.marker for r in traffic.requests}
        seen: dict[str, Any] = {"roots": 0}

        def complete() -> list[Span] | None:
            spans = self.agent(app.agent).spans(app.service, traffic.started - 5, time.time() + 5)
            roots = {sp.trace_id for sp in spans if sp.kind == "SERVER" and _marker(sp) in markers}
            seen["roots"] = len(roots)
            return [sp for sp in spans if sp.trace_id in roots] if len(roots) >= len(markers) else None
        budget = 30.0
        return poll(complete, budget, f"{app.agent} holding a server span for each of this run's {len(markers)} "
                                      f"requests to {app.service}",
                    lambda: f"the agent held {seen['roots']} of them", interval=0.5)


def _marker(sp: Span) -> str:
    target = sp.attributes.get("http.target", "")
    return target.split("e2et=", 1)[1].split("&", 1)[0] if "e2et=" in target else ""


def roots_by_marker(spans: list[Span]) -> dict[str, Span]:
    return {_marker(sp): sp for sp in spans if sp.kind == "SERVER" and _marker(sp)}


def children(spans: list[Span], root: Span) -> list[Span]:
    return [sp for sp in spans if sp.trace_id == root.trace_id and sp.parent == root.span_id]
