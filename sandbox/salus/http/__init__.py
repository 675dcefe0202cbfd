"""The sandbox's HTTP services, one aiohttp application per real service (and port)."""
from __future__ import annotations

from aiohttp import web

from ..context import SandboxContext


def build_apps(ctx: SandboxContext) -> dict[str, web.Application]:
    from .admin_api import build_admin_app
    from .auth_service import build_auth_app
    from .identity import build_identity_app
    from .public_api import build_public_app
    return {"identity": build_identity_app(ctx), "public_api": build_public_app(ctx),
            "admin_api": build_admin_app(ctx), "auth_service": build_auth_app(ctx)}
