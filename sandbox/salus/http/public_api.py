"""Public (tenant) API: ``/v1.0/tenant/{tenantId}/…`` exactly as the gateway exposes it (contract §1.4)."""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from .. import faults as F
from ..context import SandboxContext
from ..domain import BadRequest, SalusDomain
from .common import error_middleware, json_body, ok, paged, require_user, spring_page

TENANT = r"{tenant:\d+|[a-zA-Z]+:\d+}"
PREFIX = f"/v1.0/tenant/{TENANT}"


def family(request: web.Request) -> str:
    """Route family for the route-500 fault: the path segment after the tenant id (the gateway's
    odd ``event-tasks/agent-releases/{id}`` belongs to ``agent-releases``)."""
    parts = request.path.strip("/").split("/")
    if parts[3:5] == ["event-tasks", "agent-releases"]:
        return "agent-releases"
    return parts[3] if len(parts) > 3 else ""


def build_public_app(ctx: SandboxContext) -> web.Application:
    d: SalusDomain = ctx.domain
    size = ctx.config.page_size
    app = web.Application(middlewares=[error_middleware(ctx, "salus-telemetry-public-api", family)])

    def leak(request: web.Request, fetch: Callable[[str], list[Any]]) -> list[Any]:
        """Tenant items, plus another tenant's when the tenant-leak fault is on."""
        tenant = request.match_info["tenant"]
        items = list(fetch(tenant))
        if ctx.faults.active(F.TENANT_LEAK) and tenant != ctx.config.other_tenant_id:
            items += fetch(ctx.config.other_tenant_id)
        return items

    def route(method: str, path: str, fn: Callable[..., Any]) -> None:
        async def handler(request: web.Request) -> web.StreamResponse:
            tenant = request.match_info["tenant"]
            require_user(ctx, request, tenant)
            return await fn(request, tenant, **{k: v for k, v in request.match_info.items() if k != "tenant"})
        full = PREFIX + path
        app.router.add_route(method, full, handler)
        app.router.add_route(method, full + "/", handler)

    # agent releases (ACM; tenant unused, global catalog)
    async def releases(r, t):
        return ok(paged(r, d.releases.list(r.query.get("type")), size))
    route("GET", "/agent-releases", releases)

    async def release_one(r, t, rid):
        return ok(d.releases.get(rid))
    route("GET", "/event-tasks/agent-releases/{rid}", release_one)   # the gateway's path, bug included

    def crud(path: str, list_items: Callable[[str], list[Any]], *, create: Callable | None = None,
             get: Callable | None = None, put: Callable | None = None, delete: Callable | None = None,
             page: Callable = paged, item: str = "{id}") -> None:
        """The gateway's usual route set for one family: list (paged, leak-aware), create 201,
        get/put 200, delete 204 — each backed by one domain call ``fn(tenant, ...)``."""
        async def list_(r, t):
            return ok(page(r, leak(r, list_items), size))
        route("GET", path, list_)
        if create:
            async def create_(r, t):
                return ok(create(t, await json_body(r)), 201)
            route("POST", path, create_)
        if get:
            async def get_(r, t, id):
                return ok(get(t, id))
            route("GET", f"{path}/{item}", get_)
        if put:
            async def put_(r, t, id):
                return ok(put(t, id, await json_body(r)))
            route("PUT", f"{path}/{{id}}", put_)
        if delete:
            async def delete_(r, t, id):
                if not (ctx.faults.active(F.DELETES_IGNORED) and family(r) == str(ctx.faults.param(F.DELETES_IGNORED))):
                    delete(t, id)
                return ok(None, 204)
            route("DELETE", f"{path}/{{id}}", delete_)

    crud("/agent-installs", d.installs.list, create=d.installs.create, delete=d.installs.delete)

    # resources (plus the label helpers, registered first so they win over /resources/{id})
    async def by_label(r, t, method):
        selector = {k: v for k, v in r.query.items() if k not in ("page", "size", "sort")}
        return ok(paged(r, d.resources.by_label(t, selector, method), size))

    async def labels(r, t):
        return ok(d.resources.label_values(t))
    route("GET", "/resources-by-label/{method}", by_label)
    route("GET", "/resource-labels", labels)
    crud("/resources", d.resources.list, create=d.resources.create, get=d.resources.get,
         put=d.resources.update, delete=d.resources.delete)

    # monitors (PATCH takes a JSON patch) and bound monitors
    async def monitor_patch(r, t, id):
        if r.content_type != "application/json-patch+json":
            raise web.HTTPUnsupportedMediaType(text=f"Content type '{r.content_type}' not supported")
        try:
            ops = json.loads(await r.read())
        except ValueError:
            raise BadRequest("JSON parse error: malformed JSON patch") from None
        return ok(d.monitors.patch(t, id, ops))
    crud("/monitors", d.monitors.list, create=d.monitors.create, get=d.monitors.get, put=d.monitors.update,
         delete=d.monitors.delete)
    route("PATCH", "/monitors/{id}", monitor_patch)

    async def bound(r, t):
        items = leak(r, lambda ten: d.bindings.listed(ten, r.query.get("resourceId"), r.query.get("monitorId")))
        return ok(paged(r, items, size))
    route("GET", "/bound-monitors", bound)

    crud("/zones", d.zones.list, create=d.zones.create_private, get=d.zones.get, put=d.zones.update,
         delete=d.zones.delete, item="{id:.+}")
    # envoy tokens: a raw Spring Page on list; the body is only a description
    crud("/envoy-tokens", d.tokens.list, create=lambda t, body: d.tokens.create(t, body.get("description")),
         get=d.tokens.get, put=d.tokens.update, delete=d.tokens.delete, page=spring_page)
    # event tasks (EEM /tasks behind the gateway's /event-tasks)
    crud("/event-tasks", d.tasks.list, create=d.tasks.create, get=d.tasks.get, put=d.tasks.update,
         delete=d.tasks.delete)

    # agent history (AMB)
    async def history(r, t):
        items = leak(r, lambda ten: d.attachments.history(ten, r.query.get("envoyId"), r.query.get("resourceId")))
        return ok(paged(r, items, size))

    async def history_one(r, t, hid):
        return ok(d.attachments.history_entry(t, hid))
    route("GET", "/agent-history", history)
    route("GET", "/agent-history/{hid}", history_one)
    return app
