"""The trace routes (contract §2.2, §2.5–§2.7): status, graph, stream, webhooks, cancel, and the
chat-id explanation route. A trace of another tenant is "not found" (404), never disclosed."""
from __future__ import annotations

import asyncio
import gzip
import json
import time
from typing import Any

from aiohttp import web

from .. import faults as F
from ..store import TERMINAL, StatusStore, public_status
from .app import GATEWAY, Gateway
from .rbac import Identity

NOT_FOUND = {"detail": "Trace not found"}


def _owned(gw: Gateway, ident: Identity, trace_id: str) -> dict[str, Any] | None:
    item = gw.store.get(trace_id) if gw.store is not None else None
    if item is None:
        return None
    if item.get("tenant_id") != ident.tenant_id and not gw.fault(F.CROSS_TENANT):
        return None
    return item


def _store(gw: Gateway) -> StatusStore:
    """The status store of a gateway that has just found a trace in it (so it has one)."""
    if gw.store is None:
        raise RuntimeError("this gateway has no status store")
    return gw.store


def _expired(item: dict[str, Any]) -> bool:
    return item.get("state") == "expired" or float(item.get("expires_at") or 1e18) < time.time()


async def status(request: web.Request) -> web.Response:
    gw: Gateway = request.app[GATEWAY]
    ident = gw.gate(request, "traces:read", "read")
    if isinstance(ident, web.Response):
        return ident
    times = 2 if gw.fault(F.METRICS_DOUBLE) else 1
    gw.metrics.status_get.labels(**gw.metrics.lbl(tenant_id=ident.tenant_id)).inc(times)
    item = _owned(gw, ident, request.match_info["trace_id"])
    if item is None:
        return web.json_response(NOT_FOUND, status=404)
    if _expired(item) and item.get("state") not in TERMINAL:
        item = {**item, "state": "expired"}
    return web.json_response(public_status(item))


async def graph(request: web.Request) -> web.Response:
    gw: Gateway = request.app[GATEWAY]
    ident = gw.gate(request, "traces:read", "read")
    if isinstance(ident, web.Response):
        return ident
    gw.metrics.graph_get.labels(**gw.metrics.lbl(tenant_id=ident.tenant_id)).inc()
    item = _owned(gw, ident, request.match_info["trace_id"])
    if item is None:
        return web.json_response(NOT_FOUND, status=404)
    if _expired(item):
        return web.json_response({"detail": "Trace expired"}, status=410)
    if item.get("state") != "complete" or not item.get("s3_key"):
        return web.json_response({"detail": "Graph not ready"}, status=404)
    try:
        packed = (gw.artifact_root / item["s3_key"]).read_bytes()
    except OSError:
        return web.json_response({"detail": "Graph not ready"}, status=404)
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        return web.Response(body=packed, headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
    return web.Response(body=gzip.decompress(packed), headers={"Content-Type": "application/json"})


def _frame(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


async def stream(request: web.Request) -> web.StreamResponse:
    """Transitions as ``status_update`` frames, then ``complete`` (or ``error``); no keep-alives."""
    gw: Gateway = request.app[GATEWAY]
    ident = gw.gate(request, "traces:read", "read")
    if isinstance(ident, web.Response):
        return ident
    trace_id = request.match_info["trace_id"]
    queue = gw.events.subscribe(trace_id)
    try:
        found = _owned(gw, ident, trace_id)
        if found is None:
            return web.json_response(NOT_FOUND, status=404)
        item: dict[str, Any] = found
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                           "x-trace-id": trace_id, "x-request-id": request["request_id"]})
        await resp.prepare(request)
        seen = None
        while True:
            key = (item.get("state"), item.get("stage"), item.get("progress"))
            if key != seen:
                await resp.write(_frame("status_update", public_status(item)))
                seen = key
            if item.get("state") in TERMINAL:
                break
            try:
                item = await asyncio.wait_for(queue.get(), timeout=1.0)
            except TimeoutError:       # a missed message: the store is the truth
                item = _store(gw).get(trace_id) or item
        if item.get("state") == "complete":
            if not gw.fault(F.SSE_NO_COMPLETE):
                await resp.write(_frame("complete", {"trace_id": trace_id}))
        else:
            await resp.write(_frame("error", {"trace_id": trace_id, "state": item.get("state"),
                                              "error": item.get("error")}))
        await resp.write_eof()
        return resp
    except (ConnectionResetError, asyncio.CancelledError):
        raise
    finally:
        gw.events.unsubscribe(trace_id, queue)


async def webhooks(request: web.Request) -> web.Response:
    gw: Gateway = request.app[GATEWAY]
    ident = gw.gate(request, "traces:write", "write")
    if isinstance(ident, web.Response):
        return ident
    trace_id = request.match_info["trace_id"]
    try:
        body = json.loads(await request.read() or b"null")
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("url"), str) or not body["url"]:
        return web.json_response({"detail": [{"type": "missing", "loc": ["body", "url"], "msg": "Field required"}]},
                                 status=422)
    item = _owned(gw, ident, trace_id)
    if item is None:
        return web.json_response(NOT_FOUND, status=404)
    events = body.get("events") if isinstance(body.get("events"), list) else None
    reg = await gw.events.register(trace_id, body["url"], events, bool(body.get("secret")), item)
    gw.audit_ok(request, "webhook.register", ident, trace_id, 201, has_secret=bool(body.get("secret")),
                events_count=len(events or []))
    return web.json_response({"id": reg["id"], "trace_id": trace_id, "url": reg["url"]}, status=201)


async def cancel(request: web.Request) -> web.Response:
    gw: Gateway = request.app[GATEWAY]
    ident = gw.gate(request, "traces:write", "write")
    if isinstance(ident, web.Response):
        return ident
    trace_id = request.match_info["trace_id"]
    item = _owned(gw, ident, trace_id)
    if item is None:
        return web.json_response(NOT_FOUND, status=404)
    forced = gw.fault(F.CANCEL_TERMINAL)
    if item.get("state") in TERMINAL and not forced:
        return web.json_response({"detail": "Cannot cancel"}, status=409)
    new = _store(gw).update(trace_id, force=forced, state="canceled", stage="canceled")
    if new is None or new.get("state") != "canceled":       # it finished while we looked
        return web.json_response({"detail": "Cannot cancel"}, status=409)
    gw.audit_ok(request, "trace.cancel", ident, trace_id, 202)
    await gw.events.publish(new)
    return web.json_response(public_status(new), status=202)


async def explanation(request: web.Request) -> web.Response:
    """The v2 explanation by chat id (served from what the explainer stored for that chat)."""
    gw: Gateway = request.app[GATEWAY]
    ident = gw.gate(request, "traces:read", None)
    if isinstance(ident, web.Response):
        return ident
    chat_id = request.match_info["chat_id"]
    try:
        owner = await gw.redis.hget("hypergraph:chat_ids", chat_id)
        done = await gw.redis.hget("hypergraph:explanations_v2", chat_id)
    except Exception:  # noqa: BLE001 — the store behind this route is down
        return web.json_response({"error": {"message": "db error"}}, status=500)
    if owner is None or json.loads(owner).get("tenant_id") != ident.tenant_id:
        return web.json_response({"error": {"message": "not found"}}, status=404)
    if done is None:
        return web.json_response({"id": chat_id, "status": "pending", "eta_seconds": 1}, status=202)
    return web.json_response(json.loads(done))
