"""Auth service: ``GET /v1.0/cert`` trades an envoy token for a client certificate (§5.3)."""
from __future__ import annotations

import asyncio

from aiohttp import web

from ..context import SandboxContext
from .common import error_middleware


def build_auth_app(ctx: SandboxContext) -> web.Application:
    app = web.Application(middlewares=[error_middleware(ctx, "salus-telemetry-auth-service", lambda r: "cert")])

    async def cert(request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header.startswith("Bearer ") else ""
        tenant = ctx.domain.tokens.tenant_for(token) if token else None
        if tenant is None:
            raise web.HTTPUnauthorized(reason="Unauthorized", text="Invalid or missing envoy token")
        cert_pem, key_pem, ca_pem = await asyncio.get_running_loop().run_in_executor(
            None, ctx.pki.issue_client_cert, tenant)
        return web.json_response({"certificate": cert_pem, "privateKey": key_pem, "issuingCaCertificate": ca_pem})

    app.router.add_get("/v1.0/cert", cert)
    return app
