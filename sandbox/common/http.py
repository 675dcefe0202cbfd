"""HTTP plumbing every aiohttp stand-in shares: typed errors, one error middleware, strict JSON bodies.

Why the renderer is a parameter: each real system words its errors in its own shape (Spring's
error attributes, an OpenAI-style ``{"error": {...}}``, ...). The middleware only decides *when* an
error body is due — a ``ServiceError`` from the stand-in's rules, or aiohttp's own 4xx (unknown
route, wrong method) — and hands status, reason and message to the stand-in's renderer, so no route
ever answers in aiohttp's default text shape. ``before`` lets a stand-in inject faults (delays,
forced 500s) ahead of every handler; ``exempt`` keeps e.g. the fault control out of that.
"""
from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Renderer = Callable[[web.Request, int, str, str], web.StreamResponse]
Before = Callable[[web.Request], Awaitable[web.StreamResponse | None]]


class ServiceError(Exception):
    """An answer other than success, decided by the stand-in's rules (not by a crash)."""

    status = 400
    error = "Bad Request"          # the reason phrase the body carries

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def error_middleware(render: Renderer, before: Before | None = None,
                     exempt: Callable[[web.Request], bool] = lambda request: False) -> Any:
    """Middleware: ``before(request)`` (unless ``exempt``) may answer first; then the handler, with
    ``ServiceError`` and aiohttp 4xx/5xx exceptions rendered by ``render(request, status, reason, message)``."""
    @web.middleware
    async def mw(request: web.Request, handler: Handler) -> web.StreamResponse:
        if before is not None and not exempt(request):
            early = await before(request)
            if early is not None:
                return early
        try:
            return await handler(request)
        except ServiceError as e:
            return render(request, e.status, e.error, e.message)
        except web.HTTPException as e:
            if e.status >= 400:
                return render(request, e.status, e.reason, e.text or e.reason)
            raise
    return mw


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object; missing, malformed or non-object → ``400 Bad Request``
    (an ``HTTPBadRequest``, so it reads right with or without :func:`error_middleware`)."""
    raw = await request.read()
    if not raw.strip():
        raise web.HTTPBadRequest(text="Required request body is missing")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise web.HTTPBadRequest(text="JSON parse error: malformed request body") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="JSON parse error: expected an object")
    return body
