"""Rackspace Identity v2.0 stand-in: ``POST /v2.0/tokens`` with API-key or password bodies (§3)."""
from __future__ import annotations

import json

from aiohttp import web

from ..context import SandboxContext
from .common import error_middleware


def _unauthorized(message: str) -> web.Response:
    return web.json_response({"unauthorized": {"code": 401, "message": message}}, status=401)


def build_identity_app(ctx: SandboxContext) -> web.Application:
    app = web.Application(middlewares=[error_middleware(ctx, "identity", lambda r: "tokens")])

    async def tokens(request: web.Request) -> web.Response:
        try:
            auth = json.loads(await request.read() or b"{}")["auth"]
        except (ValueError, KeyError, TypeError):
            return web.json_response({"badRequest": {"code": 400, "message": "Invalid json request body"}},
                                     status=400)
        key = auth.get("RAX-KSKEY:apiKeyCredentials") if isinstance(auth, dict) else None
        pw = auth.get("passwordCredentials") if isinstance(auth, dict) else None
        creds = key if key is not None else pw
        if not isinstance(creds, dict) or not all(isinstance(creds.get(f), str) for f in
                                                  ("username", "apiKey" if key is not None else "password")):
            return web.json_response({"badRequest": {"code": 400, "message": "Invalid json request body"}},
                                     status=400)
        if key:
            result = ctx.domain.identity.authenticate(str(key.get("username")), api_key=str(key.get("apiKey")))
        elif pw:
            result = ctx.domain.identity.authenticate(str(pw.get("username")), password=str(pw.get("password")))
        else:
            return web.json_response({"badRequest": {"code": 400, "message": "Invalid json request body"}},
                                     status=400)
        if result is None:
            return _unauthorized("Unable to authenticate user with credentials provided.")
        token, user = result["token"], result["user"]
        tenant = user.tenants[0] if user.tenants else None
        roles = [{"id": str(i), "name": r, "description": r, "tenantId": tenant}
                 for i, r in enumerate(user.roles)]
        return web.json_response({"access": {
            "token": {"id": token["id"], "expires": token["expires"],
                      "tenant": {"id": tenant, "name": tenant} if tenant else None,
                      "RAX-AUTH:authenticatedBy": ["APIKEY" if key else "PASSWORD"]},
            "user": {"id": user.user_id or user.username, "name": user.username, "roles": roles,
                     "RAX-AUTH:defaultRegion": "LOCAL"},
            "serviceCatalog": [{"name": "cloudMonitoring", "type": "rax:monitor",
                                "endpoints": [{"tenantId": t, "region": "LOCAL",
                                               "publicURL": f"{ctx.urls.get('public_api', '')}/v1.0/tenant/{t}"}
                                              for t in user.tenants]}]}})

    app.router.add_post("/v2.0/tokens", tokens)
    return app
