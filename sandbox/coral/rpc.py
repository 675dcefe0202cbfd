"""Connect unary RPC over HTTP with JSON (contract §2.1), as connect-go serves and calls it.

Server side: ``POST /<package>.<Service>/<Rpc>``, JSON body (an empty body is refused like
connect-go does), errors as a non-200 status with ``{"code", "message"}``, answers in proto3-JSON
style (defaults omitted). Client side: the same protocol for the stand-ins calling each other.
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web

log = logging.getLogger("sandbox.coral.rpc")

STATUS = {"invalid_argument": 400, "not_found": 404, "already_exists": 409, "permission_denied": 403,
          "unauthenticated": 401, "resource_exhausted": 429, "unimplemented": 501, "internal": 500,
          "unavailable": 503, "failed_precondition": 400, "deadline_exceeded": 504, "unknown": 500}

Handler = Callable[[dict[str, Any], web.Request], Awaitable[dict[str, Any]]]


class RpcError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def camel_keys(obj: Any) -> Any:
    """Go servers accept snake_case too: normalise a request to lowerCamelCase keys."""
    if isinstance(obj, dict):
        return {(_camel(k) if "_" in k else k): (v if k in ("metadata", "labels", "attributes") else camel_keys(v))
                for k, v in obj.items()}
    if isinstance(obj, list):
        return [camel_keys(v) for v in obj]
    return obj


def _is_default(v: Any) -> bool:
    if v is None or v is False or v == "" or v == [] or v == {}:
        return True
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v == 0


def omit_defaults(obj: Any) -> Any:
    """proto3 JSON leaves out false, 0, "" and empty lists/maps: so do the stand-ins (readers must cope)."""
    if isinstance(obj, dict):
        pairs = ((k, omit_defaults(v)) for k, v in obj.items())
        return {k: v for k, v in pairs if not _is_default(v)}
    if isinstance(obj, list):
        return [omit_defaults(v) for v in obj]
    return obj


class ConnectRouter:
    """Registers unary handlers on an aiohttp app under their Connect paths."""

    def __init__(self, app: web.Application, delay: Callable[[], float] = lambda: 0.0) -> None:
        self.app = app
        self.delay = delay

    def unary(self, service: str, rpc: str, handler: Handler) -> None:
        async def endpoint(request: web.Request) -> web.Response:
            wait = self.delay()
            if wait > 0:
                await asyncio.sleep(wait)          # the `slow` fault: the delay *is* the behaviour
            ctype = request.headers.get("Content-Type", "").split(";")[0].strip()
            if ctype not in ("application/json", ""):
                return web.json_response({"code": "unknown", "message": f"unsupported content type {ctype!r} "
                                          "(this stand-in speaks Connect JSON only)"}, status=415)
            raw = await request.read()
            if not raw.strip():
                return _error("invalid_argument", f"unmarshal into {service}.{rpc}Request: unexpected EOF")
            try:
                body = camel_keys(json.loads(raw))
                if not isinstance(body, dict):
                    raise ValueError("not an object")
            except ValueError as e:
                return _error("invalid_argument", f"unmarshal into {rpc}Request: {e}")
            try:
                result = await handler(body, request)
            except RpcError as e:
                return _error(e.code, e.message)
            except Exception as e:
                log.exception("%s/%s failed", service, rpc)
                return _error("internal", str(e))
            return web.json_response(omit_defaults(result))

        self.app.router.add_post(f"/{service}/{rpc}", endpoint)


def _error(code: str, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=STATUS.get(code, 500))


async def call(session: aiohttp.ClientSession, base: str, service: str, rpc: str, body: dict[str, Any],
               timeout: float = 5.0) -> dict[str, Any]:
    """One Connect JSON call; raises ``RpcError`` for an error answer, ``OSError``/timeout for transport."""
    url = f"{base.rstrip('/')}/{service}/{rpc}"
    async with session.post(url, json=body or {}, timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
        text = await resp.text()
        if resp.status != 200:
            try:
                err = json.loads(text)
                raise RpcError(err.get("code", "unknown"), err.get("message", text))
            except ValueError:
                raise RpcError("unknown", f"HTTP {resp.status}: {text[:200]}") from None
        return json.loads(text) if text.strip() else {}
