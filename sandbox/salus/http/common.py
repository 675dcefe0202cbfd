"""What every sandbox HTTP service shares: Spring-shaped errors, paging, token checks, faults.

Errors look like Spring Boot's error attributes plus ``app``/``host`` (contract §1.3); lists are
``PagedContent`` (§1.2). Fault middlewares let a test slow down, break or leak any route family.
"""
from __future__ import annotations

import asyncio
import json
import math
import socket
from typing import Any, Awaitable, Callable

from aiohttp import web

from .. import faults as F
from ..context import SandboxContext
from ..domain import ADMIN_ROLE, DomainError, now_iso

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
HOST = socket.gethostname()


def error_response(request: web.Request, status: int, error: str, message: str, app: str) -> web.Response:
    body = {"timestamp": now_iso(), "status": status, "error": error, "message": message,
            "path": request.path, "app": app, "host": HOST}
    return web.json_response(body, status=status)


def ok(body: Any, status: int = 200) -> web.Response:
    if status == 204:
        return web.Response(status=204)
    return web.json_response(body, status=status, dumps=lambda o: json.dumps(o, separators=(",", ":")))


async def json_body(request: web.Request) -> dict[str, Any]:
    """Malformed or missing JSON → 400 like Spring's HttpMessageNotReadableException (every
    Salus create/update takes a required ``@RequestBody``)."""
    raw = await request.read()
    if not raw.strip():
        raise DomainError("Required request body is missing")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise DomainError("JSON parse error: malformed request body") from None
    if not isinstance(body, dict):
        raise DomainError("JSON parse error: expected an object")
    return body


MAX_PAGE_SIZE = 2000      # Spring Data's PageableHandlerMethodArgumentResolver default


def _int_param(request: web.Request, name: str, default: int) -> int:
    """Spring's ``Pageable`` resolver: an unparsable or negative value falls back to the default."""
    try:
        value = int(request.query.get(name, default))
    except ValueError:
        return default
    return value if value >= 0 else default


def _page_size(request: web.Request, default: int) -> int:
    return min(_int_param(request, "size", default) or default, MAX_PAGE_SIZE)


def paged(request: web.Request, items: list[Any], default_size: int) -> dict[str, Any]:
    """``PagedContent`` {content, number, totalPages, totalElements, last, first}."""
    page = _int_param(request, "page", 0)
    size = _page_size(request, default_size)
    total = len(items)
    pages = math.ceil(total / size) if total else 0
    content = items[page * size:(page + 1) * size]
    return {"content": content, "number": page, "totalPages": pages, "totalElements": total,
            "last": page >= pages - 1, "first": page == 0}


def spring_page(request: web.Request, items: list[Any], default_size: int) -> dict[str, Any]:
    """A raw Spring Data ``Page`` (envoy-tokens list, contract §1.2)."""
    base = paged(request, items, default_size)
    size = _page_size(request, default_size)
    sort = {"sorted": False, "unsorted": True, "empty": True}
    return {**base, "pageable": {"sort": sort, "offset": base["number"] * size, "pageNumber": base["number"],
                                 "pageSize": size, "paged": True, "unpaged": False},
            "size": size, "sort": sort, "numberOfElements": len(base["content"]),
            "empty": not base["content"]}


def error_middleware(ctx: SandboxContext, app_name: str, family_of: Callable[[web.Request], str]) -> Any:
    @web.middleware
    async def mw(request: web.Request, handler: Handler) -> web.StreamResponse:
        faults = ctx.faults
        if request.path.startswith("/_sandbox/"):
            # the fault switch itself never suffers faults, or a slow fault could not be switched off
            return await _handled(request, handler, app_name)
        if faults.active(F.SLOW_RESPONSES):
            await asyncio.sleep(float(faults.param(F.SLOW_RESPONSES) or 15))
        if faults.active(F.ROUTE_500) and family_of(request) == str(faults.param(F.ROUTE_500)):
            return error_response(request, 500, "Internal Server Error",
                                  "sandbox fault route-500: injected failure", app_name)
        return await _handled(request, handler, app_name)
    return mw


async def _handled(request: web.Request, handler: Handler, app_name: str) -> web.StreamResponse:
    """Domain errors and aiohttp's own 4xx (unknown route, wrong method) as Spring error bodies."""
    try:
        return await handler(request)
    except DomainError as e:
        return error_response(request, e.status, e.error, e.message, app_name)
    except web.HTTPException as e:
        if e.status >= 400:
            return error_response(request, e.status, e.reason, e.text or e.reason, app_name)
        raise


def require_user(ctx: SandboxContext, request: web.Request, tenant: str | None = None, admin: bool = False):
    """The Repose keystone-v2 rules: unknown token → 401; tenant not granted (and not admin) → 403."""
    user = ctx.domain.token_user(request.headers.get("X-Auth-Token"))
    if user is None:
        raise web.HTTPUnauthorized(reason="Unauthorized", text="Full authentication is required to access this resource")
    is_admin = ADMIN_ROLE in user.roles
    if admin and not is_admin:
        raise web.HTTPForbidden(reason="Forbidden", text="Access is denied")
    if tenant is not None and not is_admin and tenant not in user.tenants:
        raise web.HTTPForbidden(reason="Forbidden", text="Access is denied")
    return user
