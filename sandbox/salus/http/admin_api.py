"""Admin API ``/api/…`` (contract §2) plus the sandbox's own admin-only fault control (``/_sandbox/``)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from sandbox.common.fault_control import add_fault_control

from ..context import SandboxContext
from ..domain import SalusDomain, validation_failed
from .common import error_middleware, json_body, ok, paged, require_user


def family(request: web.Request) -> str:
    parts = request.path.strip("/").split("/")
    return parts[1] if len(parts) > 1 else ""


def build_admin_app(ctx: SandboxContext) -> web.Application:
    d: SalusDomain = ctx.domain
    size = ctx.config.page_size
    app = web.Application(middlewares=[error_middleware(ctx, "salus-telemetry-admin-api", family)])

    def route(method: str, path: str, fn: Callable[..., Any]) -> None:
        async def handler(request: web.Request) -> web.StreamResponse:
            require_user(ctx, request, admin=True)
            return await fn(request, **request.match_info)
        app.router.add_route(method, path, handler)
        app.router.add_route(method, path + "/", handler)   # Spring MVC 5 trailing-slash match

    def crud(path: str, list_items: Callable[[Any], list[Any]], *, create: Callable | None = None,
             get: Callable | None = None, put: Callable | None = None, delete: Callable | None = None) -> None:
        """The admin gateway's usual route set: list (paged), create 201, get/put 200, delete 204."""
        async def list_(r):
            return ok(paged(r, list_items(r), size))
        route("GET", path, list_)
        if create:
            async def create_(r):
                return ok(create(await json_body(r)), 201)
            route("POST", path, create_)
        if get:
            async def get_(r, id):
                return ok(get(id))
            route("GET", f"{path}/{{id}}", get_)
        if put:
            async def put_(r, id):
                return ok(put(id, await json_body(r)))
            route("PUT", f"{path}/{{id}}", put_)
        if delete:
            async def delete_(r, id):
                delete(id)
                return ok(None, 204)
            route("DELETE", f"{path}/{{id}}", delete_)

    crud("/api/agent-releases", lambda r: d.releases.list(r.query.get("type")), create=d.releases.create,
         get=d.releases.get, delete=d.releases.delete)
    crud("/api/monitor-templates", lambda r: d.policies.list_templates(), create=d.policies.create_template,
         get=d.policies.get_template, put=d.policies.update_template, delete=d.policies.delete_template)

    # monitor policies
    async def pol_list(r):
        return ok(paged(r, d.policies.list(), size))

    async def pol_create(r):
        return ok(d.policies.create(await json_body(r)), 201)

    async def pol_opt_out(r):
        return ok(d.policies.create(await json_body(r), opt_out=True), 201)

    async def pol_effective(r, tenant):
        return ok([{"id": p["id"], "scope": p["scope"], "subscope": p["subscope"], "name": p["name"],
                    "monitorId": p["monitorId"]} for p in d.policies.effective(tenant)])

    async def pol_get(r, pid):
        return ok(d.policies.get(pid))

    async def pol_delete(r, pid):
        d.policies.delete(pid)
        return ok(None, 204)
    route("GET", "/api/policies/monitors", pol_list)
    route("POST", "/api/policies/monitors", pol_create)
    route("POST", "/api/policies/monitors/opt-out", pol_opt_out)
    route("GET", "/api/policies/monitors/effective/{tenant}", pol_effective)
    route("GET", "/api/policies/monitors/{pid}", pol_get)
    route("DELETE", "/api/policies/monitors/{pid}", pol_delete)

    # tenant metadata
    async def md_list(r):
        return ok(paged(r, d.tenants.list(), size))

    async def md_create(r):
        body = await json_body(r)
        if not body.get("tenantId"):
            raise validation_failed(["tenantId"])
        return ok(d.tenants.upsert(body["tenantId"], body, create=True), 201)

    async def md_get(r, tenant):
        return ok(d.tenants.get(tenant))

    async def md_put(r, tenant):
        return ok(d.tenants.upsert(tenant, await json_body(r)))

    async def md_delete(r, tenant):
        d.tenants.delete(tenant)
        return ok(None, 204)
    route("GET", "/api/tenant-metadata", md_list)
    route("POST", "/api/tenant-metadata", md_create)
    route("GET", "/api/tenant-metadata/{tenant}", md_get)
    route("PUT", "/api/tenant-metadata/{tenant}", md_put)
    route("DELETE", "/api/tenant-metadata/{tenant}", md_delete)

    # public zones (names contain '/')
    async def zones(r):
        return ok(paged(r, d.zones.list_public(), size))

    async def zone_create(r):
        return ok(d.zones.create_public(await json_body(r)), 201)

    async def zone_get(r, name):
        return ok(d.zones.get(None, name.rstrip("/"), internal=True))

    async def zone_put(r, name):
        return ok(d.zones.update(None, name.rstrip("/"), await json_body(r)))

    async def zone_delete(r, name):
        d.zones.delete(None, name.rstrip("/"))
        return ok(None, 204)
    route("GET", "/api/zones", zones)
    route("POST", "/api/zones", zone_create)
    route("GET", "/api/zones/{name:public/.+}", zone_get)
    route("PUT", "/api/zones/{name:public/.+}", zone_put)
    route("DELETE", "/api/zones/{name:public/.+}", zone_delete)

    # presence partitions, admin lists, tenant delete
    async def parts_get(r):
        return ok(d.partitions.get())

    async def parts_put(r):
        return ok(d.partitions.set((await json_body(r)).get("count")))

    async def admin_monitors(r):
        return ok(paged(r, d.monitors.list(None, admin=True), size))

    async def admin_resources(r):
        return ok(paged(r, d.resources.list(None, view="admin"), size))

    async def tenant_delete(r, tenant):
        d.delete_tenant(tenant)
        return ok(None, 204)
    route("GET", "/api/presence-monitor/partitions", parts_get)
    route("PUT", "/api/presence-monitor/partitions", parts_put)
    route("GET", "/api/monitors", admin_monitors)
    route("GET", "/api/resources", admin_resources)
    route("DELETE", "/api/tenant/{tenant}", tenant_delete)

    # sandbox fault control (not part of Salus; admin-only like the admin API)
    add_fault_control(app, ctx.faults, "/_sandbox/", authorize=lambda r: require_user(ctx, r, admin=True),
                      trailing_slash=True)
    return app
