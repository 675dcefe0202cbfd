"""Gateway application: configuration from the contract's env vars, the request middleware
(correlation headers, metrics, one JSON log line) and the RBAC → rate-limit gate."""
from __future__ import annotations

import json
import logging
import os
import secrets
import time
from pathlib import Path
from typing import Any, Mapping

import aiohttp
import redis.asyncio as aioredis
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .. import faults as F
from ..audit import AuditLog
from ..faults import FaultBoard
from ..pii import Scrubber
from ..store import StatusStore
from .events import EventHub
from .metrics import GatewayMetrics, template
from .ratelimit import RateLimiter
from .rbac import Denial, Identity, Rbac

log = logging.getLogger("sandbox.sidecar.gateway")
http_log = logging.getLogger("sandbox.sidecar.gateway.http")


def _on(env: Mapping[str, str], name: str, default: str = "0") -> bool:
    return (env.get(name) or default) not in ("0", "false", "False", "FALSE", "")


class Gateway:
    """Everything a handler needs; one per process."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.rbac = Rbac(env)
        self.limiter = RateLimiter(env)
        self.faults = FaultBoard(Path(env["SANDBOX_FAULTS_PATH"]))
        backend = (env.get("STATUS_BACKEND") or "").lower()
        self.store = (StatusStore(Path(env.get("STATUS_JSON_PATH") or "/tmp/hif/status.json"),
                                  float(env.get("TRACE_TTL_DAYS") or 7)) if backend == "json" else None)
        self.artifact_root = Path(env.get("ARTIFACT_ROOT") or "/tmp/hif")
        self.metrics_on = _on(env, "ENABLE_OTEL")
        self.metrics = GatewayMetrics(env.get("GATEWAY_VERSION") or "unknown")
        self.audit = AuditLog(env.get("AUDIT_LOG_PATH") or "/var/log/hypergraph/audit.log", "gateway",
                              _on(env, "AUDIT_LOG_ENABLE"))
        self.scrub = Scrubber(env)
        self.llm_url = (env.get("LLM_PROXY_URL") or "").rstrip("/")
        self.provider = env.get("DEFAULT_PROVIDER") or "openai"
        self.stream_name = env.get("REDIS_STREAM") or "hypergraph:completions"
        self.maxlen = int(env["REDIS_MAXLEN"]) if env.get("REDIS_MAXLEN") else None
        self.redis = aioredis.from_url(env.get("REDIS_URL") or "redis://127.0.0.1:6379/0", decode_responses=True)
        self.events = EventHub(self.redis, self.faults)
        self.http: aiohttp.ClientSession | None = None

    def fault(self, name: str) -> bool:
        return self.faults.active(name)

    # ---------------------------------------------------------------- gate
    def gate(self, request: web.Request, scope: str, category: str | None) -> Identity | web.Response:
        """RBAC (401/403), then the rate limit (429); a rejection is audited, counted and creates nothing."""
        auth = request.headers.get("Authorization")
        result = self.rbac.check(auth, scope, scope_check=not self.fault(F.SCOPE_CHECK_OFF))
        trace_hdr = request.headers.get("x-trace-id") or request.match_info.get("trace_id")
        extra = {"authorization": auth} if auth and self.fault(F.TOKEN_IN_AUDIT) else {}
        if isinstance(result, Denial):
            request["tenant"] = result.tenant_id
            self.metrics.rbac_denied.labels(**self.metrics.lbl(tenant_id=result.tenant_id)).inc()
            self.audit.emit("rbac.deny", tenant_id=result.tenant_id, trace_id=trace_hdr, status=result.status,
                            reason=result.code, subject=result.subject, scopes=list(result.scopes),
                            path=request.path, method=request.method, **extra)
            headers = {"WWW-Authenticate": "Bearer"} if result.status == 401 else {}
            if result.code == "missing_scope" and scope == "traces:write" and request.path == "/v1/chat/completions" \
                    and self.fault(F.DENIED_CREATES_TRACE) and self.store is not None and trace_hdr:
                self.store.create(trace_hdr, result.tenant_id, request.headers.get("x-explain-granularity")
                                  or "sentence", request.headers.get("x-explain-features") or "sae-gpt4-2m")
            return web.json_response({"detail": {"code": result.code, "message": result.message}},
                                     status=result.status, headers=headers)
        request["tenant"] = result.tenant_id
        request["identity"] = result
        if category and not self.fault(F.RATE_LIMITER_OFF):
            retry = self.limiter.take(category, result.tenant_id)
            if retry is not None:
                self.metrics.rate_limited.labels(**self.metrics.lbl(tenant_id=result.tenant_id,
                                                                    category=category)).inc()
                self.audit.emit("rate_limited", tenant_id=result.tenant_id, trace_id=trace_hdr, status=429,
                                reason="rate_limited", subject=result.subject, scopes=list(result.scopes),
                                path=request.path, method=request.method, category=category, **extra)
                return web.json_response({"detail": {"code": "rate_limited", "message": "Rate limit exceeded"}},
                                         status=429, headers={"Retry-After": str(retry)})
        return result

    def audit_ok(self, request: web.Request, event: str, ident: Identity, trace_id: str | None, status: Any,
                 **extras: Any) -> None:
        auth = request.headers.get("Authorization")
        if auth and self.fault(F.TOKEN_IN_AUDIT):
            extras["authorization"] = auth
        self.audit.emit(event, tenant_id=ident.tenant_id, trace_id=trace_id, status=status, subject=ident.subject,
                        scopes=list(ident.scopes), path=request.path, method=request.method, **extras)


GATEWAY = web.AppKey("gateway", Gateway)


@web.middleware
async def correlate(request: web.Request, handler: Any) -> web.StreamResponse:
    """x-trace-id / x-request-id on every response, request metrics, one JSON log line."""
    gw: Gateway = request.app[GATEWAY]
    t0 = time.perf_counter()
    request_id = "req_" + secrets.token_hex(6)
    request["request_id"] = request_id
    request["trace_id"] = request.headers.get("x-trace-id") or request.match_info.get("trace_id")
    try:
        resp = await handler(request)
    except web.HTTPException as exc:
        resp = exc
    trace_id = request.get("trace_id") or "trc_" + secrets.token_hex(6)
    if not resp.prepared:
        resp.headers.setdefault("x-trace-id", trace_id)
        resp.headers.setdefault("x-request-id", request_id)
    tenant = request.get("tenant", "anon")
    path = request.path if gw.fault(F.METRICS_TRACE_LABEL) else template(request.path)
    status = str(resp.status)
    m = gw.metrics
    m.requests.labels(**m.lbl(path=path, method=request.method, status=status, tenant_id=tenant)).inc()
    m.duration.labels(**m.lbl(path=path, method=request.method, status=status)).observe(time.perf_counter() - t0)
    if http_log.isEnabledFor(logging.INFO):
        http_log.info(json.dumps({"msg": "http", "trace_id": trace_id, "tenant_id": tenant, "request_id": request_id,
                                  "path": request.path, "method": request.method, "status": resp.status}))
    return resp


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def metrics(request: web.Request) -> web.Response:
    gw: Gateway = request.app[GATEWAY]
    if not gw.metrics_on:
        raise web.HTTPNotFound()
    text = generate_latest(gw.metrics.registry).decode()
    if gw.fault(F.METRICS_MISSING):
        text = "\n".join(line for line in text.splitlines()
                         if "traces_status_get" not in line and "chat_requests" not in line) + "\n"
    return web.Response(text=text, headers={"Content-Type": CONTENT_TYPE_LATEST})


def make_app(env: Mapping[str, str] | None = None) -> web.Application:
    from . import chat, traces

    gw = Gateway(dict(os.environ if env is None else env))
    app = web.Application(middlewares=[correlate], client_max_size=8 * 1024 * 1024)
    app[GATEWAY] = gw

    async def on_start(app: web.Application) -> None:
        gw.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60),
                                        connector=aiohttp.TCPConnector(limit=400))
        await gw.events.start()

    async def on_stop(app: web.Application) -> None:
        await gw.events.stop()
        if gw.http:
            await gw.http.close()
        await gw.redis.aclose()

    app.on_startup.append(on_start)
    app.on_cleanup.append(on_stop)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.router.add_post("/v1/chat/completions", chat.create)
    app.router.add_get("/v1/chat/completions/{chat_id}/explanation", traces.explanation)
    app.router.add_get("/v1/traces/{trace_id}/status", traces.status)
    app.router.add_get("/v1/traces/{trace_id}/graph", traces.graph)
    app.router.add_get("/v1/traces/{trace_id}/stream", traces.stream)
    app.router.add_post("/v1/traces/{trace_id}/webhooks", traces.webhooks)
    app.router.add_delete("/v1/traces/{trace_id}", traces.cancel)
    return app
