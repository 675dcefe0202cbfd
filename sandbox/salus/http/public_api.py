"""Public (tenant) API: ``/v1.0/tenant/{tenantId}/…`` exactly as the gateway exposes it (contract §1.4)."""
from __future__ import annotations

import json
from typing import Any, Callable

from aiohttp import web

from .. import faults as F
from ..context import SandboxContext
from ..domain import BadRequest
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
    d = ctx.domain
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
        return ok(paged(r, d.list_releases(r.query.get("type")), size))
    route("GET", "/agent-releases", releases)

    async def release_one(r, t, rid):
        return ok(d.get_release(rid))
    route("GET", "/event-tasks/agent-releases/{rid}", release_one)   # the gateway's path, bug included

    # agent installs
    async def installs(r, t):
        return ok(paged(r, leak(r, d.list_installs), size))

    async def install_create(r, t):
        return ok(d.create_install(t, await json_body(r)), 201)

    async def install_delete(r, t, iid):
        d.delete_install(t, iid)
        return ok(None, 204)
    route("GET", "/agent-installs", installs)
    route("POST", "/agent-installs", install_create)
    route("DELETE", "/agent-installs/{iid}", install_delete)

    # resources
    async def resources(r, t):
        return ok(paged(r, leak(r, d.list_resources), size))

    async def resource_create(r, t):
        return ok(d.create_resource(t, await json_body(r)), 201)

    async def resource_get(r, t, rid):
        return ok(d.get_resource(t, rid))

    async def resource_put(r, t, rid):
        return ok(d.update_resource(t, rid, await json_body(r)))

    async def resource_delete(r, t, rid):
        d.delete_resource(t, rid)
        return ok(None, 204)
    async def by_label(r, t, method):
        selector = {k: v for k, v in r.query.items() if k not in ("page", "size", "sort")}
        return ok(paged(r, d.resources_by_label(t, selector, method), size))

    async def labels(r, t):
        return ok(d.label_values(t))
    route("GET", "/resources-by-label/{method}", by_label)
    route("GET", "/resource-labels", labels)
    route("GET", "/resources", resources)
    route("POST", "/resources", resource_create)
    route("GET", "/resources/{rid}", resource_get)
    route("PUT", "/resources/{rid}", resource_put)
    route("DELETE", "/resources/{rid}", resource_delete)

    # monitors and bound monitors
    async def monitors(r, t):
        return ok(paged(r, leak(r, d.list_monitors), size))

    async def monitor_create(r, t):
        return ok(d.create_monitor(t, await json_body(r)), 201)

    async def monitor_get(r, t, mid):
        return ok(d.get_monitor(t, mid))

    async def monitor_put(r, t, mid):
        return ok(d.update_monitor(t, mid, await json_body(r)))

    async def monitor_patch(r, t, mid):
        if r.content_type != "application/json-patch+json":
            raise web.HTTPUnsupportedMediaType(text=f"Content type '{r.content_type}' not supported")
        try:
            ops = json.loads(await r.read())
        except ValueError:
            raise BadRequest("JSON parse error: malformed JSON patch") from None
        return ok(d.patch_monitor(t, mid, ops))

    async def monitor_delete(r, t, mid):
        d.delete_monitor(t, mid)
        return ok(None, 204)

    async def bound(r, t):
        items = leak(r, lambda ten: d.list_bound_monitors(ten, r.query.get("resourceId"), r.query.get("monitorId")))
        return ok(paged(r, items, size))
    route("GET", "/monitors", monitors)
    route("POST", "/monitors", monitor_create)
    route("GET", "/monitors/{mid}", monitor_get)
    route("PUT", "/monitors/{mid}", monitor_put)
    route("PATCH", "/monitors/{mid}", monitor_patch)
    route("DELETE", "/monitors/{mid}", monitor_delete)
    route("GET", "/bound-monitors", bound)

    # zones
    async def zones(r, t):
        return ok(paged(r, leak(r, d.list_zones), size))

    async def zone_create(r, t):
        return ok(d.create_private_zone(t, await json_body(r)), 201)

    async def zone_get(r, t, name):
        return ok(d.get_zone(t, name))

    async def zone_put(r, t, name):
        return ok(d.update_zone(t, name, await json_body(r)))

    async def zone_delete(r, t, name):
        d.delete_zone(t, name)
        return ok(None, 204)
    route("GET", "/zones", zones)
    route("POST", "/zones", zone_create)
    route("GET", "/zones/{name:.+}", zone_get)
    route("PUT", "/zones/{name}", zone_put)
    route("DELETE", "/zones/{name}", zone_delete)

    # envoy tokens (raw Spring Page)
    async def tokens(r, t):
        return ok(spring_page(r, leak(r, d.list_envoy_tokens), size))

    async def token_create(r, t):
        body = await json_body(r)
        return ok(d.create_envoy_token(t, body.get("description")), 201)

    async def token_get(r, t, tid):
        return ok(d.get_envoy_token(t, tid))

    async def token_put(r, t, tid):
        return ok(d.update_envoy_token(t, tid, await json_body(r)))

    async def token_delete(r, t, tid):
        d.delete_envoy_token(t, tid)
        return ok(None, 204)
    route("GET", "/envoy-tokens", tokens)
    route("POST", "/envoy-tokens", token_create)
    route("GET", "/envoy-tokens/{tid}", token_get)
    route("PUT", "/envoy-tokens/{tid}", token_put)
    route("DELETE", "/envoy-tokens/{tid}", token_delete)

    # event tasks (EEM /tasks behind the gateway's /event-tasks)
    async def tasks(r, t):
        return ok(paged(r, leak(r, d.list_tasks), size))

    async def task_create(r, t):
        return ok(d.create_task(t, await json_body(r)), 201)

    async def task_get(r, t, tid):
        return ok(d.get_task(t, tid))

    async def task_put(r, t, tid):
        return ok(d.update_task(t, tid, await json_body(r)))

    async def task_delete(r, t, tid):
        d.delete_task(t, tid)
        return ok(None, 204)
    route("GET", "/event-tasks", tasks)
    route("POST", "/event-tasks", task_create)
    route("GET", "/event-tasks/{tid}", task_get)
    route("PUT", "/event-tasks/{tid}", task_put)
    route("DELETE", "/event-tasks/{tid}", task_delete)

    # agent history (AMB)
    async def history(r, t):
        items = leak(r, lambda ten: d.list_history(ten, r.query.get("envoyId"), r.query.get("resourceId")))
        return ok(paged(r, items, size))

    async def history_one(r, t, hid):
        return ok(d.get_history(t, hid))
    route("GET", "/agent-history", history)
    route("GET", "/agent-history/{hid}", history_one)
    return app
