"""The load step: an async load generator on httpx with the plan runner's parameters (contract §7).

Each of ``concurrency`` workers loops until the deadline sending non-stream chats; with
probability ``attach_rate`` a chat carries the explain headers and its own trace id, and each
attached chat that got 200 is followed by a poller measuring explanation latency from the chat
response to the first poll that sees a terminal state. The summary has the contract's shape.
"""
from __future__ import annotations

import asyncio
import random
import string
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np

from .settings import Load

TERMINAL = ("complete", "failed", "canceled", "expired", "shed")
ALPHABET = string.ascii_lowercase + string.digits


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation (the contract's p95), None without samples."""
    return float(np.percentile(values, q)) if values else None


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
        done = [t for t in self.traces if t.state == "complete" and t.latency is not None]
        by = {g: [t.latency * 1000 for t in done if t.granularity == g] for g in ("sentence", "token")}
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


async def _run(base_url: str, token: str, tenant: str | None, plan: Load, seed: int | None) -> LoadResult:
    rng = random.Random(seed)
    result = LoadResult(plan={"duration_s": plan.duration, "concurrency": plan.concurrency,
                              "attach_rate": plan.attach_rate, "granularity": plan.granularity,
                              "rps_limit": plan.rps_limit})
    auth = {"Authorization": f"Bearer {token}"}
    if tenant:
        auth["x-tenant-id"] = tenant          # sent as the plan's helpers do (ignored for authorization)
    limits = httpx.Limits(max_connections=plan.concurrency + 50, max_keepalive_connections=plan.concurrency + 50)
    pacer = _Pacer(plan.rps_limit)
    pollers: list[asyncio.Task] = []
    body = {"model": plan.model, "messages": [{"role": "user", "content": "Explain how the circuit answers."}],
            "stream": False}
    async with httpx.AsyncClient(base_url=base_url, timeout=plan.timeout, limits=limits) as http:
        start = time.monotonic()
        deadline = start + plan.duration

        async def poll_trace(t: Trace) -> None:
            cap = t.chat_done + plan.poll_cap
            while time.monotonic() < cap:
                try:
                    r = await http.get(f"/v1/traces/{t.trace_id}/status", headers=auth)
                except httpx.HTTPError:
                    r = None
                if r is not None and (r.status_code == 410 or (r.status_code == 200
                                                               and r.json().get("state") in TERMINAL)):
                    t.latency = time.monotonic() - t.chat_done
                    t.status = r.json() if r.status_code == 200 else None
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
                    r = await http.post("/v1/chat/completions", json=body, headers=headers)
                except httpx.HTTPError:
                    result.transport_errors += 1
                    continue
                done = time.monotonic()
                result.chat_latencies.append(done - t0)
                result.statuses[r.status_code] = result.statuses.get(r.status_code, 0) + 1
                if r.status_code == 429 and len(result.retry_after) < 1000:
                    result.retry_after.append(r.headers.get("Retry-After") or "")
                if attach and r.status_code == 200:
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
