"""``POST /v1/chat/completions`` (contract §2.3): proxy upstream; with ``x-explain-mode:
hypergraph`` also create the trace, audit it and enqueue the completion envelope."""
from __future__ import annotations

import datetime as dt
import json
import secrets
import time
from typing import Any

import aiohttp
from aiohttp import web

from .. import faults as F
from .app import GATEWAY, Gateway

HOP_HEADERS = {"content-length", "transfer-encoding", "connection", "content-encoding"}
GRANULARITIES = ("sentence", "token")


def _first_user(messages: Any) -> str:
    for m in messages if isinstance(messages, list) else []:
        if isinstance(m, dict) and m.get("role") == "user":
            return str(m.get("content") or "")
    return ""


async def create(request: web.Request) -> web.StreamResponse:
    gw: Gateway = request.app[GATEWAY]
    ident = gw.gate(request, "traces:write", "write")
    if isinstance(ident, web.Response):
        return ident
    try:
        body = json.loads(await request.read() or b"null")
        if not isinstance(body, dict):
            raise ValueError
    except ValueError:
        return web.json_response({"error": "Invalid JSON body"}, status=400)
    if not gw.llm_url:
        return web.json_response({"error": "LLM_PROXY_URL is not configured"}, status=500)
    explain = (request.headers.get("x-explain-mode") or "").lower() == "hypergraph"
    gran = (request.headers.get("x-explain-granularity") or "sentence").lower()
    gran = gran if gran in GRANULARITIES else "sentence"
    feats = request.headers.get("x-explain-features") or "sae-gpt4-2m"
    trace_id = request.headers.get("x-trace-id") or "trc_" + secrets.token_hex(6)
    request["trace_id"] = trace_id
    m = gw.metrics
    m.chat.labels(**m.lbl(tenant_id=ident.tenant_id,
                          granularity=request.headers.get("x-explain-granularity") or "unknown",
                          featureset=request.headers.get("x-explain-features") or "unknown")).inc()
    item, enqueue = None, False
    if explain:
        snippet = _first_user(body.get("messages"))
        snippet = (snippet if gw.fault(F.PII_RAW) else gw.scrub(snippet))[:64]
        gw.audit_ok(request, "chat.submit", ident, trace_id, None, mode="hypergraph", model=str(body.get("model")),
                    snippet=snippet)
        if gw.store is not None:
            item, enqueue = gw.store.create(trace_id, ident.tenant_id, gran, feats,
                                            keep_tenant=not gw.fault(F.TENANT_OVERWRITE))
            if enqueue:
                gw.audit_ok(request, "trace.queued", ident, trace_id, None, granularity=gran, featureset=feats)
        else:
            enqueue = True
    headers = {"Content-Type": "application/json"}
    headers.update({k: v for k, v in request.headers.items() if k.lower().startswith("x-")})
    started = time.perf_counter()
    assert gw.http is not None
    try:
        upstream = await gw.http.post(gw.llm_url + "/v1/chat/completions", data=json.dumps(body), headers=headers)
    except (aiohttp.ClientError, TimeoutError) as e:
        _upstream_failed(gw, trace_id, enqueue)
        return web.json_response({"error": f"upstream unreachable: {type(e).__name__}"}, status=502)
    async with upstream:
        if upstream.status >= 400:
            raw = await upstream.read()
            _upstream_failed(gw, trace_id, enqueue)
            return web.Response(body=raw, status=upstream.status,
                                headers={k: v for k, v in upstream.headers.items() if k.lower() not in HOP_HEADERS})
        if body.get("stream") is True:
            return await _stream_through(request, gw, upstream, body, ident, trace_id, gran, feats, explain and enqueue,
                                         started)
        raw = await upstream.read()
    try:
        completion = json.loads(raw)
    except ValueError:
        completion = None
    out_headers = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_HEADERS}
    if not explain or not isinstance(completion, dict):
        return web.Response(body=raw, status=upstream.status, headers=out_headers)
    own = item is not None and item.get("tenant_id") == ident.tenant_id
    state = item["state"] if item is not None and own and not enqueue else "queued"   # never another tenant's
    completion["explanation_metadata"] = {"trace_id": trace_id, "status": state,
                                          "stream_endpoint": f"/v1/traces/{trace_id}/stream",
                                          "estimated_wait": "250ms", "granularity": gran, "featureset": feats}
    if enqueue:
        await _enqueue(gw, trace_id, ident.tenant_id, gran, feats, body, completion, started, False)
    out_headers["Content-Type"] = "application/json"
    return web.Response(body=json.dumps(completion), status=200, headers=out_headers)


def _upstream_failed(gw: Gateway, trace_id: str, created: bool) -> None:
    if created and gw.store is not None:
        gw.store.update(trace_id, state="failed", stage="failed", error="upstream_error")


async def _enqueue(gw: Gateway, trace_id: str, tenant: str, gran: str, feats: str, body: dict[str, Any],
                   completion: dict[str, Any], started: float, stream: bool) -> None:
    messages = body.get("messages") or []
    if gw.env.get("GATEWAY_REDACT") not in (None, "", "0"):
        messages = [{"role": m.get("role"), "len": len(str(m.get("content") or ""))} for m in messages
                    if isinstance(m, dict)]
    envelope = {"request_id": trace_id, "upstream_id": completion.get("id"), "provider": gw.provider,
                "model": body.get("model"), "messages": messages,
                "response": {k: v for k, v in completion.items() if k != "explanation_metadata"},
                "created_at": dt.datetime.now(dt.UTC).isoformat(),
                "trace": {"stream": stream, "status_code": 200,
                          "duration_ms": round((time.perf_counter() - started) * 1000, 1)},
                # what the explainer needs to own the trace (internal, never visible to a client)
                "trace_id": trace_id, "tenant_id": tenant, "granularity": gran, "featureset": feats,
                "enqueued_at": time.time()}
    kw: dict[str, Any] = {"maxlen": gw.maxlen, "approximate": True} if gw.maxlen else {}
    await gw.redis.xadd(gw.stream_name, {"data": json.dumps(envelope)}, **kw)
    if completion.get("id"):
        await gw.redis.hset("hypergraph:chat_ids", completion["id"], json.dumps({"trace_id": trace_id,
                                                                                 "tenant_id": tenant}))


async def _stream_through(request: web.Request, gw: Gateway, upstream: aiohttp.ClientResponse, body: dict[str, Any],
                          ident: Any, trace_id: str, gran: str, feats: str, enqueue: bool,
                          started: float) -> web.StreamResponse:
    """``stream: true``: the upstream SSE passes through; the envelope gets the assembled text."""
    resp = web.StreamResponse(status=200, headers={"Content-Type": "text/event-stream", "x-trace-id": trace_id,
                                                   "x-request-id": request["request_id"]})
    await resp.prepare(request)
    parts: list[str] = []
    chat_id = None
    async for line in upstream.content:
        await resp.write(line)
        text = line.decode(errors="replace").strip()
        if text.startswith("data:") and text[5:].strip() not in ("", "[DONE]"):
            try:
                chunk = json.loads(text[5:])
                chat_id = chat_id or chunk.get("id")
                parts.append(chunk["choices"][0]["delta"].get("content") or "")
            except (ValueError, KeyError, IndexError, TypeError):
                pass
    await resp.write_eof()
    if enqueue:
        completion = {"id": chat_id, "object": "chat.completion", "model": body.get("model"),
                      "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(parts)},
                                   "finish_reason": "stop"}]}
        await _enqueue(gw, trace_id, ident.tenant_id, gran, feats, body, completion, started, True)
    return resp
