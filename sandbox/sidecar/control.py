"""The fault control (sandbox ↔ suite contract): ``GET/PUT/DELETE {control_url}faults[/name]``,
on 127.0.0.1 only. Runtime faults go to the shared fault file; artifact faults rewrite the
sandbox's copy of the deploy artifacts."""
from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .artifact_copy import ArtifactCopy
from .faults import CATALOG, FaultBoard


class Control:
    def __init__(self, board: FaultBoard, artifacts: ArtifactCopy, initial: dict[str, Any]) -> None:
        self.board = board
        self.artifacts = artifacts
        self.active: dict[str, Any] = {}
        self.set_all(initial)

    def set_all(self, active: dict[str, Any]) -> None:
        self.board.write(active)
        self.active = dict(active)
        self.artifacts.apply({n for n in active if CATALOG[n].artifact})

    def body(self) -> dict[str, Any]:
        return {"active": dict(self.active), "catalog": {n: f.description for n, f in sorted(CATALOG.items())}}

    def app(self) -> web.Application:
        app = web.Application()

        async def get(_: web.Request) -> web.Response:
            return web.json_response(self.body())

        async def put(request: web.Request) -> web.Response:
            name = request.match_info["name"]
            if name not in CATALOG:
                return web.json_response({"error": f"unknown fault {name!r}", "catalog": sorted(CATALOG)}, status=404)
            try:
                raw = await request.read()
                param = json.loads(raw).get("param") if raw else None
            except (ValueError, AttributeError):
                return web.json_response({"error": 'body must be JSON like {"param": …}'}, status=400)
            self.set_all({**self.active, name: param if param is not None else CATALOG[name].default_param})
            return web.json_response(self.body())

        async def delete_one(request: web.Request) -> web.Response:
            name = request.match_info["name"]
            if name not in CATALOG:
                return web.json_response({"error": f"unknown fault {name!r}"}, status=404)
            self.set_all({k: v for k, v in self.active.items() if k != name})
            return web.json_response(self.body())

        async def delete_all(_: web.Request) -> web.Response:
            self.set_all({})
            return web.json_response(self.body())

        app.router.add_get("/faults", get)
        app.router.add_put("/faults/{name}", put)
        app.router.add_delete("/faults/{name}", delete_one)
        app.router.add_delete("/faults", delete_all)
        return app
