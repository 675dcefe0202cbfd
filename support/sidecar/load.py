"""The load step: an async load generator with the plan runner's parameters (contract §7).

Its HTTP engine is aiohttp by default: httpx's AsyncClient loses most of its throughput and adds
queueing latency at high concurrency (encode/httpx#3215, still open; bench/bench_sidecar.py shows
both engines beside wrk), which would inflate the very latencies the SLO spec judges. ``httpx``
stays selectable (``sidecar.load.client``).

Each of ``concurrency`` workers loops until the deadline sending non-stream chats; with
probability ``attach_rate`` a chat carries the explain headers and its own trace id, and each
attached chat that got 200 is followed by a poller measuring explanation latency from the chat
response to the first poll that sees a terminal state. The summary has the contract's shape.
"""
from __future__ import annotations

import asyncio
import json
import random
import string
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import httpx

from .settings import Load

TERMINAL = ("complete", "failed", "canceled", "expired", "shed")
ALPHABET = string.ascii_lowercase + string.digits


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (the contract's p95; numpy's default), None
    without samples."""
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100.0
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return float(ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo))


@dataclass
class Trace:
    trace_id: str
    granularity: str
    chat_done: float
    state: str | None = None
    latency: float | None = None
    status: dict[str, Any] | None = None


@dataclass
class LoadResult:
    plan: dict[str, Any]
    elapsed: float = 0.0
    chat_latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    transport_errors: int = 0
    retry_after: list[str] = field(default_factory=list)
    traces: list[Trace] = field(default_factory=list)

    @property
    def chats(self) -> int:
        return sum(self.statuses.values()) + self.transport_errors

    def summary(self) -> dict[str, Any]:
        n = self.chats
        c4 = sum(v for k, v in self.statuses.items() if 400 <= k < 500)
        c5 = sum(v for k, v in self.statuses.items() if k >= 500) + self.transport_errors
        ms = [x * 1000 for x in self.chat_latencies]
        done = [(t, t.latency) for t in self.traces if t.state == "complete" and t.latency is not None]
        by = {g: [lat * 1000 for t, lat in done if t.granularity == g] for g in ("sentence", "token")}
        states: dict[str, int] = {}
        for t in self.traces:
            states[str(t.state)] = states.get(str(t.state), 0) + 1
        total = max(1, len(self.traces))
        rnd = lambda v: None if v is None else round(v, 1)  # noqa: E731
        return {
            "chat": {"count": n, "rps": round(n / self.elapsed, 1) if self.elapsed else 0.0,
                     "latency_ms": {"p50": rnd(percentile(ms, 50)), "p95": rnd(percentile(ms, 95)),
                                    "p99": rnd(percentile(ms, 99))},
                     "errors": {"4xx": c4, "5xx": c5, "rate": round((c4 + c5) / n, 4) if n else 0.0},
                     "statuses": {str(k): v for k, v in sorted(self.statuses.items())}},
            "explanation": {"count": len(self.traces), "completed": len(done),
                            "sla_p95_ms": {g: rnd(percentile(v, 95)) for g, v in by.items()},
                            "samples": {g: len(v) for g, v in by.items()},
                            "expired_pct": round(100 * states.get("expired", 0) / total, 2),
                            "failed_pct": round(100 * (states.get("failed", 0) + states.get("shed", 0)) / total, 2),
                            "states": states},
            "plan": self.plan, "elapsed_s": round(self.elapsed, 2),
        }


class _Pacer:
    """``rps_limit`` across all workers (0 = unlimited)."""

    def __init__(self, rps: float) -> None:
        self.interval = 1 / rps if rps > 0 else 0.0
        self.next = time.monotonic()
        self.lock = asyncio.Lock()

    async def wait(self) -> None:
        if not self.interval:
            return
        async with self.lock:
            now = time.monotonic()
            delay = self.next - now
            self.next = max(now, self.next) + self.interval
        if delay > 0:
            await asyncio.sleep(delay)


class _Http:
    """The two calls the generator makes, on either engine: (status, headers, JSON or None)."""

    def __init__(self, engine: str, base_url: str, plan: Load) -> None:
        self.engine, self.base = engine, base_url.rstrip("/")
        self.plan = plan

    async def __aenter__(self) -> _Http:
        n = self.plan.concurrency + 50
        if self.engine == "httpx":
            self.hx = httpx.AsyncClient(base_url=self.base, timeout=self.plan.timeout,
                                        limits=httpx.Limits(max_connections=n, max_keepalive_connections=n))
        else:
            self.ah = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.plan.timeout),
                                            connector=aiohttp.TCPConnector(limit=n))
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self.engine == "httpx":
            await self.hx.aclose()
        else:
            await self.ah.close()

    async def send(self, method: str, path: str, headers: dict[str, str], body: Any = None
                   ) -> tuple[int, dict[str, str], Any]:
        if self.engine == "httpx":
            hr = await self.hx.request(method, path, json=body, headers=headers)
            return hr.status_code, dict(hr.headers), _json(hr.content)
        async with self.ah.request(method, self.base + path, json=body, headers=headers) as ar:
            return ar.status, dict(ar.headers), _json(await ar.read())


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


TRANSPORT_ERRORS = (httpx.HTTPError, aiohttp.ClientError, asyncio.TimeoutError, OSError)


async def _run(base_url: str, token: str, tenant: str | None, plan: Load, seed: int | None) -> LoadResult:
    rng = random.Random(seed)
    result = LoadResult(plan={"duration_s": plan.duration, "concurrency": plan.concurrency,
                              "attach_rate": plan.attach_rate, "granularity": plan.granularity,
                              "rps_limit": plan.rps_limit, "client": plan.client})
    auth = {"Authorization": f"Bearer {token}"}
    if tenant:
        auth["x-tenant-id"] = tenant          # sent as the plan's helpers do (ignored for authorization)
    pacer = _Pacer(plan.rps_limit)
    pollers: list[asyncio.Task] = []
    body = {"model": plan.model, "messages": [{"role": "user", "content": "Explain how the circuit answers."}],
            "stream": False}
    async with _Http(plan.client, base_url, plan) as http:
        start = time.monotonic()
        deadline = start + plan.duration

        async def poll_trace(t: Trace) -> None:
            cap = t.chat_done + plan.poll_cap
            while time.monotonic() < cap:
                try:
                    status, _, data = await http.send("GET", f"/v1/traces/{t.trace_id}/status", auth)
                except TRANSPORT_ERRORS:
                    status, data = 0, None
                done = status == 410 or (status == 200 and isinstance(data, dict) and data.get("state") in TERMINAL)
                if done:
                    t.latency = time.monotonic() - t.chat_done
                    t.status = data if status == 200 else None
                    t.state = t.status.get("state") if t.status else "expired"
                    if t.status and t.status.get("granularity") in ("sentence", "token"):
                        t.granularity = t.status["granularity"]
                    return
                await asyncio.sleep(plan.poll_interval)
            t.state = "expired"

        async def worker() -> None:
            while time.monotonic() < deadline:
                await pacer.wait()
                attach = rng.random() < plan.attach_rate
                headers = dict(auth)
                gran = "sentence"
                trace_id = None
                if attach:
                    gran = plan.granularity if plan.granularity != "mix" else (
                        "token" if rng.random() < 0.2 else "sentence")
                    trace_id = "trc_" + "".join(rng.choice(ALPHABET) for _ in range(12))
                    headers.update({"x-explain-mode": "hypergraph", "x-explain-granularity": gran,
                                    "x-explain-features": plan.features, "x-trace-id": trace_id})
                t0 = time.monotonic()
                try:
                    status, rheaders, _ = await http.send("POST", "/v1/chat/completions", headers, body)
                except TRANSPORT_ERRORS:
                    result.transport_errors += 1
                    continue
                done = time.monotonic()
                result.chat_latencies.append(done - t0)
                result.statuses[status] = result.statuses.get(status, 0) + 1
                if status == 429 and len(result.retry_after) < 1000:
                    result.retry_after.append(rheaders.get("Retry-After") or rheaders.get("retry-after") or "")
                if trace_id is not None and status == 200:
                    t = Trace(trace_id, gran, done)
                    result.traces.append(t)
                    pollers.append(asyncio.create_task(poll_trace(t)))

        await asyncio.gather(*(worker() for _ in range(plan.concurrency)))
        result.elapsed = time.monotonic() - start
        if pollers:
            await asyncio.gather(*pollers)
    return result


def run_load(base_url: str, token: str, plan: Load, tenant: str | None = None, seed: int | None = None) -> LoadResult:
    """Run one load (blocking); bounded by ``duration`` plus the pollers' ``poll_cap``."""
    return asyncio.run(_run(base_url, token, tenant, plan, seed))
