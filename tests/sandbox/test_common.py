"""sandbox/common on its own, the way another stand-in would use it: a catalogue that is not
Salus's, the fault control API on a bare aiohttp app with its own auth hook and error shape, paging,
children that die with their parent."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from aiohttp import web

from sandbox.common.children import Spawner, die_with_parent
from sandbox.common.fault_control import add_fault_control
from sandbox.common.faults import Faults, FaultSpec, UnknownFault, catalog_of
from sandbox.common.http import ServiceError, error_middleware
from sandbox.common.paging import page_request, page_slice
from support.processes import stop_tree
from support.waiting import poll

try:  # works whether or not tests/sandbox is a package
    from .edge_support import AiohttpThread
except ImportError:
    from edge_support import AiohttpThread  # type: ignore[no-redef]

CATALOG = catalog_of(FaultSpec("slow-tokens", "token stream is slow (param: seconds)", 2.0),
                     FaultSpec("wrong-model", "answers name another model"))


def test_registry_defaults_listeners_and_unknown_names() -> None:
    faults, heard = Faults(CATALOG), []
    faults.on_change(lambda name, on, param: heard.append((name, on, param)))
    faults.enable("slow-tokens")
    faults.enable("wrong-model", "x")
    assert faults.snapshot() == {"slow-tokens": 2.0, "wrong-model": "x"}
    assert faults.active("slow-tokens") and faults.param("wrong-model") == "x"
    faults.disable("wrong-model")
    faults.disable("wrong-model")                      # already off: listeners hear nothing
    faults.clear()
    assert heard == [("slow-tokens", True, 2.0), ("wrong-model", True, "x"), ("wrong-model", False, None),
                     ("slow-tokens", False, None)]
    with pytest.raises(UnknownFault, match="known: slow-tokens, wrong-model"):
        faults.enable("nope")
    assert faults.state() == {"active": {}, "catalog": {"slow-tokens": "token stream is slow (param: seconds)",
                                                        "wrong-model": "answers name another model"}}


class Teapot(ServiceError):
    status, error = 418, "I'm a teapot"


@pytest.fixture
def served() -> Iterator[tuple[str, Faults]]:
    faults = Faults(CATALOG)

    def render(request: web.Request, status: int, reason: str, message: str) -> web.Response:
        return web.json_response({"error": {"code": status, "type": reason, "message": message}}, status=status)

    async def broken_on_fault(request: web.Request) -> web.Response | None:
        return web.json_response({"faulted": True}, status=503) if faults.active("wrong-model") else None

    def authorize(request: web.Request) -> None:
        if request.headers.get("Authorization") != "Bearer admin":
            raise web.HTTPUnauthorized(text="admin token required")

    async def teapot(request: web.Request) -> web.Response:
        raise Teapot("short and stout")

    app = web.Application(middlewares=[error_middleware(render, before=broken_on_fault,
                                                        exempt=lambda r: r.path.startswith("/control/"))])
    app.router.add_get("/teapot", teapot)
    add_fault_control(app, faults, "/control/", authorize=authorize)
    server = AiohttpThread(app)
    try:
        yield server.url, faults
    finally:
        server.close()


def test_fault_control_api_with_an_auth_hook(served: tuple[str, Faults]) -> None:
    url, faults = served
    admin = {"Authorization": "Bearer admin"}
    with httpx.Client(base_url=url, timeout=5) as http:
        refused = http.get("/control/faults")
        assert refused.status_code == 401 and refused.json()["error"]["message"] == "admin token required"
        assert http.get("/control/faults", headers=admin).json() == faults.state()
        on = http.put("/control/faults/slow-tokens", json={"param": 0.5}, headers=admin)
        assert on.status_code == 200 and on.json()["active"] == {"slow-tokens": 0.5}
        assert http.put("/control/faults/wrong-model", headers=admin).json()["active"]["wrong-model"] is None
        unknown = http.put("/control/faults/nope", json={}, headers=admin)
        assert unknown.status_code == 404 and "known: slow-tokens" in unknown.json()["error"]["message"]
        bad = http.put("/control/faults/slow-tokens", content=b"[1]", headers=admin)
        assert bad.status_code == 400 and bad.json()["error"]["message"] == "JSON parse error: expected an object"
        # the fault hook applies to the stand-in's routes, never to the control itself
        assert http.get("/teapot").json() == {"faulted": True}
        assert http.delete("/control/faults/wrong-model", headers=admin).json()["active"] == {"slow-tokens": 0.5}
        assert http.delete("/control/faults/nope", headers=admin).status_code == 404
        assert http.delete("/control/faults", headers=admin).json()["active"] == {}
        assert not faults.snapshot()
        assert http.get("/control/faults/", headers=admin).status_code == 404      # no trailing-slash twin


def test_errors_are_rendered_in_the_stand_ins_shape(served: tuple[str, Faults]) -> None:
    url, _ = served
    with httpx.Client(base_url=url, timeout=5) as http:
        tea = http.get("/teapot")
        assert tea.status_code == 418
        assert tea.json() == {"error": {"code": 418, "type": "I'm a teapot", "message": "short and stout"}}
        missing = http.get("/nowhere")
        assert missing.status_code == 404 and missing.json()["error"]["type"] == "Not Found"
        wrong = http.post("/teapot")
        assert wrong.status_code == 405 and wrong.json()["error"]["code"] == 405


@pytest.mark.parametrize("query, expected", [
    ({}, (0, 20)), ({"page": "2", "size": "5"}, (2, 5)), ({"page": "x", "size": "-3"}, (0, 20)),
    ({"size": "0"}, (0, 20)), ({"size": "99999"}, (0, 2000)), ({"page": "-1"}, (0, 20)),
])
def test_page_request(query: dict[str, str], expected: tuple[int, int]) -> None:
    assert page_request(query, 20) == expected


@pytest.mark.parametrize("page, size, expected", [
    (0, 2, ([0, 1], 5, 3)), (2, 2, ([4], 5, 3)), (3, 2, ([], 5, 3)), (0, 10, ([0, 1, 2, 3, 4], 5, 1)),
])
def test_page_slice(page: int, size: int, expected: tuple[list[Any], int, int]) -> None:
    assert page_slice(list(range(5)), page, size) == expected
    assert page_slice([], page, size) == ([], 0, 0)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_children_die_with_the_thread_that_forked_them_unless_the_spawner_forks() -> None:
    """Why ``Spawner``: a child forked from a short-lived thread dies with that thread."""
    spawner, procs = Spawner("test-spawner"), {}

    def fork(name: str, via_spawner: bool) -> None:
        def start() -> subprocess.Popen:
            return subprocess.Popen(["sleep", "30"], preexec_fn=die_with_parent(os.getpid()))
        procs[name] = spawner.run(start) if via_spawner else start()

    for name, via in (("direct", False), ("spawned", True)):
        t = threading.Thread(target=fork, args=(name, via))
        t.start()
        t.join()
    try:
        poll(lambda: procs["direct"].poll() == -signal.SIGKILL, 5, "the directly forked child killed",
             lambda: f"exit code {procs['direct'].poll()}", interval=0.02)
        assert procs["spawned"].poll() is None, "the spawner's child must outlive the short-lived thread"
        assert os.getsid(procs["spawned"].pid) == procs["spawned"].pid, "a child gets its own session"
    finally:
        for p in procs.values():
            stop_tree(p, grace=1)
