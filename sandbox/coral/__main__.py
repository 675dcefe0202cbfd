"""``python -m sandbox.coral up``: the Coral sandbox in the foreground until SIGINT/SIGTERM.

Exit codes: 2 bad input (one line on stderr, nothing created), 3 a failed start (everything it
started is stopped again), 0 after a clean stop. The profile file appears (0600, atomically) only
when every agent is healthy; the fault control listens on 127.0.0.1 in the root namespace.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

EXIT_CONFIG = 2
EXIT_START = 3


class Interrupted(Exception):
    pass


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="sandbox.coral", description="Local Coral mesh: namespace hosts, "
                                "WireGuard tunnels, contract-faithful discovery/colony/agents")
    sub = p.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start the sandbox in the foreground")
    up.add_argument("--profile-out", required=True, help="where to write the profile the suite loads (0600)")
    up.add_argument("--log-file", help="append the supervisor log here")
    up.add_argument("--data-dir", help="keep host state here (not removed at stop)")
    up.add_argument("--config", help="YAML overrides of the sandbox config (sandbox/coral/config.py)")
    up.add_argument("--fault", action="append", default=[], metavar="NAME[=PARAM]",
                    help="start with a fault switched on (repeatable; PARAM may be JSON)")
    up.add_argument("--quiet", action="store_true")
    return p.parse_args(argv)


def write_profile(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".profile-")
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as f:
        yaml.safe_dump(data, f, sort_keys=False)
    os.replace(tmp, path)


def control_app(sandbox: Any) -> web.Application:
    from .faults import UnknownFault

    async def get_faults(_: web.Request) -> web.Response:
        return web.json_response(sandbox.snapshot())

    async def put_fault(request: web.Request) -> web.Response:
        try:
            body = await request.json() if request.can_read_body else {}
        except ValueError:
            return web.json_response({"error": "body must be JSON like {\"param\": ...}"}, status=400)
        try:
            sandbox.set_fault(request.match_info["name"], (body or {}).get("param"))
        except UnknownFault as e:
            return web.json_response({"error": str(e)}, status=404)
        except Exception as e:   # noqa: BLE001 — report, keep serving
            return web.json_response({"error": f"{type(e).__name__}: {e}"}, status=500)
        return web.json_response(sandbox.snapshot())

    async def delete_fault(request: web.Request) -> web.Response:
        try:
            sandbox.clear_fault(request.match_info["name"])
        except UnknownFault as e:
            return web.json_response({"error": str(e)}, status=404)
        return web.json_response(sandbox.snapshot())

    async def delete_all(_: web.Request) -> web.Response:
        sandbox.clear_all()
        return web.json_response(sandbox.snapshot())

    async def components(_: web.Request) -> web.Response:
        return web.json_response({n: {"pid": c.proc.pid if c.running() else None, "netns": c.host.netns,
                                      "address": c.host.address, "role": c.role}
                                  for n, c in sandbox.components.items()})

    app = web.Application()
    app.router.add_get("/faults", get_faults)
    app.router.add_put("/faults/{name}", put_fault)
    app.router.add_delete("/faults/{name}", delete_fault)
    app.router.add_delete("/faults", delete_all)
    app.router.add_get("/components", components)
    return app


async def serve(sandbox: Any, args: argparse.Namespace, stop: asyncio.Event) -> None:
    from support.net import free_port

    port = free_port()
    runner = web.AppRunner(control_app(sandbox), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    write_profile(Path(args.profile_out), sandbox.profile(f"http://127.0.0.1:{port}/", args.log_file))
    logging.getLogger("sandbox.coral").info("profile written to %s; control on 127.0.0.1:%s", args.profile_out, port)
    parent = os.getppid()
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), 0.5)
        except TimeoutError:
            if os.getppid() != parent:     # the runner died (even by SIGKILL): take everything down
                logging.getLogger("sandbox.coral").warning("parent %s gone: stopping", parent)
                break
    await runner.cleanup()


def unavailable(args: argparse.Namespace, problem: str) -> int:
    """This machine cannot host the mesh: say so in the profile (every @coral scenario then skips with
    the reason, never red) and idle until stopped. Nothing is created."""
    print(f"e2et coral sandbox: cannot run here: {problem}; the profile marks Coral unavailable", file=sys.stderr)
    write_profile(Path(args.profile_out), {"coral": {"unavailable": problem, "implementation": "none",
                                                     "sandbox": {"pid": os.getpid(), "log_file": args.log_file}}})
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    parent = os.getppid()
    while not stop.wait(0.5) and os.getppid() == parent:
        pass
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    from .config import ConfigError, SandboxConfig, host_problem
    from .faults import UnknownFault, parse_cli
    try:
        cfg = SandboxConfig.load(args.config)
        if args.data_dir:
            cfg.data_dir = Path(args.data_dir)
        initial = dict(parse_cli(item) for item in args.fault)
    except (ConfigError, UnknownFault) as e:
        print(f"e2et coral sandbox: {e}", file=sys.stderr)
        return EXIT_CONFIG

    handlers: list[logging.Handler] = [] if args.quiet else [logging.StreamHandler(sys.stderr)]
    if args.log_file:
        Path(args.log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(args.log_file))
    logging.basicConfig(level=logging.INFO, handlers=handlers or [logging.NullHandler()],
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    log = logging.getLogger("sandbox.coral")

    problem = host_problem()
    if problem:
        return unavailable(args, problem)

    from .app import CoralSandbox
    from .ledger import LockBusy
    sandbox = CoralSandbox(cfg)
    starting = True
    loop_stop: dict[str, Any] = {}

    def on_signal(signum: int, _frame: object) -> None:
        if starting:
            raise Interrupted(signal.Signals(signum).name)
        ev, loop = loop_stop.get("event"), loop_stop.get("loop")
        if ev is not None and loop is not None:
            loop.call_soon_threadsafe(ev.set)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    t0 = time.monotonic()
    code = 0
    try:
        try:
            sandbox.up(initial)
        except Interrupted as e:
            log.warning("interrupted by %s while starting", e)
            return 130 if str(e) == "SIGINT" else 143
        except (LockBusy, Exception) as e:
            print(f"e2et coral sandbox: start failed: {type(e).__name__}: {e}", file=sys.stderr)
            log.exception("start failed")
            return EXIT_START
        log.info("coral sandbox %s up in %.1fs", sandbox.run_id, time.monotonic() - t0)

        async def run() -> None:
            loop_stop["event"], loop_stop["loop"] = asyncio.Event(), asyncio.get_running_loop()
            await serve(sandbox, args, loop_stop["event"])
        starting = False
        asyncio.run(run())
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)     # teardown must not be cut short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        sandbox.down()
    return code


if __name__ == "__main__":
    sys.exit(main())
