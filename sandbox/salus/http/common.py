"""What every Salus HTTP service shares: Spring-shaped errors and pages, token checks, faults.

Errors look like Spring Boot's error attributes plus ``app``/``host`` (contract §1.3); lists are
``PagedContent`` (§1.2). The fault hook lets a test slow down, break or leak any route family.
The mechanisms (middleware, paging, JSON bodies) are :mod:`sandbox.common`; the shapes are Salus's.
"""
from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable
from typing import Any

from aiohttp import web

from sandbox.common import http as common_http
from sandbox.common.paging import page_request, page_slice

from .. import faults as F
from ..config import SandboxUser
from ..context import SandboxContext
from ..domain import ADMIN_ROLE, now_iso

HOST = socket.gethostname()
#: Every Salus create/update takes a required ``@RequestBody``: missing or malformed JSON → 400.
json_body = common_http.read_json_object


def error_response(request: web.Request, status: int, error: str, message: str, app: str) -> web.Response:
    body = {"timestamp": now_iso(), "status": status, "error": error, "message": message,
            "path": request.path, "app": app, "host": HOST}
    return web.json_response(body, status=status)


def ok(body: Any, status: int = 200) -> web.Response:
    if status == 204:
        return web.Response(status=204)
    return web.json_response(body, status=status, dumps=lambda o: json.dumps(o, separators=(",", ":")))


def paged(request: web.Request, items: list[Any], default_size: int) -> dict[str, Any]:
    """``PagedContent`` {content, number, totalPages, totalElements, last, first}."""
    page, size = page_request(request.query, default_size)
    content, total, pages = page_slice(items, page, size)
    return {"content": content, "number": page, "totalPages": pages, "totalElements": total,
            "last": page >= pages - 1, "first": page == 0}


def spring_page(request: web.Request, items: list[Any], default_size: int) -> dict[str, Any]:
    """A raw Spring Data ``Page`` (envoy-tokens list, contract §1.2)."""
    base = paged(request, items, default_size)
    _, size = page_request(request.query, default_size)
    sort = {"sorted": False, "unsorted": True, "empty": True}
    return {**base, "pageable": {"sort": sort, "offset": base["number"] * size, "pageNumber": base["number"],
                                 "pageSize": size, "paged": True, "unpaged": False},
            "size": size, "sort": sort, "numberOfElements": len(base["content"]),
            "empty": not base["content"]}


def error_middleware(ctx: SandboxContext, app_name: str, family_of: Callable[[web.Request], str]) -> Any:
    """Spring error bodies for every failure, after the slow-responses and route-500 faults; the
    fault switch itself never suffers faults, or a slow fault could not be switched off."""
    async def faults(request: web.Request) -> web.StreamResponse | None:
        active = ctx.faults
        if active.active(F.SLOW_RESPONSES):
            await asyncio.sleep(float(active.param(F.SLOW_RESPONSES) or 15))
        if active.active(F.ROUTE_500) and family_of(request) == str(active.param(F.ROUTE_500)):
            return error_response(request, 500, "Internal Server Error",
                                  "sandbox fault route-500: injected failure", app_name)
        return None

    def render(request: web.Request, status: int, error: str, message: str) -> web.StreamResponse:
        return error_response(request, status, error, message, app_name)

    return common_http.error_middleware(render, before=faults,
                                        exempt=lambda request: request.path.startswith("/_sandbox/"))


def require_user(ctx: SandboxContext, request: web.Request, tenant: str | None = None,
                 admin: bool = False) -> SandboxUser:
    """The Repose keystone-v2 rules: unknown token → 401; tenant not granted (and not admin) → 403."""
    user = ctx.domain.identity.token_user(request.headers.get("X-Auth-Token"))
    if user is None:
        raise web.HTTPUnauthorized(reason="Unauthorized",
                                   text="Full authentication is required to access this resource")
    is_admin = ADMIN_ROLE in user.roles
    if admin and not is_admin:
        raise web.HTTPForbidden(reason="Forbidden", text="Access is denied")
    if tenant is not None and not is_admin and tenant not in user.tenants:
        raise web.HTTPForbidden(reason="Forbidden", text="Access is denied")
    return user
