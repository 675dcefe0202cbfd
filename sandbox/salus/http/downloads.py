"""Serves the agent release tarballs the sandbox builds (what a release ``url`` points at)."""
from __future__ import annotations

from pathlib import Path

from aiohttp import web


def build_downloads_app(directory: Path) -> web.Application:
    app = web.Application()
    app.router.add_static("/releases/", str(directory), show_index=False)
    return app
