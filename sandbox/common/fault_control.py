"""The fault control API of a stand-in, as an aiohttp route set (the sandbox ↔ suite contract):

- ``GET {base}faults``            → 200 ``{"active": {name: param}, "catalog": {name: description}}``
- ``PUT {base}faults/{name}``     body ``{"param": …}`` (optional) → 200, same shape
- ``DELETE {base}faults/{name}``  → 200, same shape
- ``DELETE {base}faults``         → 200, every fault cleared

An unknown name is ``404`` (``HTTPNotFound`` naming the known ones). ``authorize(request)`` runs
before each handler and raises an aiohttp HTTP error to refuse (e.g. without an admin token).
"""
from __future__ import annotations

import json
from collections.abc import Callable

from aiohttp import web

from .faults import Faults, UnknownFault
from .http import Handler, read_json_object


def _json(body: object) -> web.Response:
    return web.json_response(body, dumps=lambda o: json.dumps(o, separators=(",", ":")))


def add_fault_control(app: web.Application, faults: Faults, base: str = "/_sandbox/",
                      authorize: Callable[[web.Request], object] | None = None,
                      trailing_slash: bool = False) -> None:
    """Register the four routes under ``base`` (which ends in ``/``); ``trailing_slash`` also
    accepts each path with a ``/`` appended (as Spring MVC 5 does)."""
    async def get_all(request: web.Request) -> web.StreamResponse:
        return _json(faults.state())

    async def clear(request: web.Request) -> web.StreamResponse:
        faults.clear()
        return _json(faults.state())

    async def put_one(request: web.Request) -> web.StreamResponse:
        body = await read_json_object(request) if request.can_read_body else {}
        try:
            faults.enable(request.match_info["name"], body.get("param"))
        except UnknownFault as e:
            raise web.HTTPNotFound(text=str(e)) from None
        return _json(faults.state())

    async def delete_one(request: web.Request) -> web.StreamResponse:
        try:
            faults.disable(request.match_info["name"])
        except UnknownFault as e:
            raise web.HTTPNotFound(text=str(e)) from None
        return _json(faults.state())

    def guarded(fn: Handler) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            if authorize is not None:
                authorize(request)
            return await fn(request)
        return handler

    for method, path, fn in (("GET", "faults", get_all), ("DELETE", "faults", clear),
                             ("PUT", "faults/{name}", put_one), ("DELETE", "faults/{name}", delete_one)):
        app.router.add_route(method, base + path, guarded(fn))
        if trailing_slash:
            app.router.add_route(method, base + path + "/", guarded(fn))
