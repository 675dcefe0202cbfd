"""``python -m sandbox.sidecar up``: run the Async Sidecar stand-in in the foreground until
SIGINT/SIGTERM (sandbox ↔ suite contract: profile file 0600, exit 2 bad input, exit 3 failed start)."""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

from .config import ConfigError, SandboxConfig
from .faults import CATALOG, parse_param

EXIT_CONFIG = 2
EXIT_START = 3


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:         # one line, exit 2 (argparse prints usage otherwise)
        print(f"e2et sidecar sandbox: {message}: see `python -m sandbox.sidecar up --help`", file=sys.stderr)
        sys.exit(EXIT_CONFIG)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = _Parser(prog="sandbox.sidecar", description="Contract-faithful local Async Sidecar")
    sub = p.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start the stand-in in the foreground")
    up.error = p.error  # type: ignore[method-assign]
    up.add_argument("--profile-out", required=True, help="where to write the profile the suite loads (0600)")
    up.add_argument("--log-file", help="append the stand-in's log here")
    up.add_argument("--data-dir", help="status store, audit log, Redis dir and artifacts (default: a temp dir)")
    up.add_argument("--config", help="YAML overrides of the stand-in config (sandbox/sidecar/config.py)")
    up.add_argument("--fault", action="append", default=[], metavar="NAME[=PARAM]",
                    help="start with a fault switched on (repeatable)")
    up.add_argument("--quiet", action="store_true")
    return p.parse_args(argv)


def _config(args: argparse.Namespace) -> SandboxConfig:
    cfg = SandboxConfig.load_file(args.config)
    if args.data_dir:
        cfg.data_dir = Path(args.data_dir)
    for item in args.fault:
        name, _, param = item.partition("=")
        if name not in CATALOG:
            raise ConfigError(f"unknown fault {name!r}: choose one of {', '.join(sorted(CATALOG))}")
        cfg.faults[name] = parse_param(param) if param else CATALOG[name].default_param
    out = Path(args.profile_out)
    if out.exists() and out.is_dir():
        raise ConfigError(f"--profile-out {out} is a directory: name a file")
    return cfg


async def _run(args: argparse.Namespace, cfg: SandboxConfig) -> int:
    from .app import SidecarSandbox

    sandbox = SidecarSandbox(cfg, Path(args.log_file) if args.log_file else None)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await sandbox.start()
        sandbox.write_profile(Path(args.profile_out))
    except Exception as e:  # one readable line, then a distinct exit code; everything started is stopped
        logging.getLogger("sandbox.sidecar").exception("start failed")
        print(f"e2et sidecar sandbox: could not start: {e}", file=sys.stderr)
        await sandbox.stop()
        return EXIT_START
    if not args.quiet:
        for name, url in sorted(sandbox.urls.items()):
            print(f"  {name:<18} {url}")
        print(f"profile written to {args.profile_out}; Ctrl-C stops the sandbox", flush=True)
    watchdog = asyncio.create_task(_orphan_watch(stop))
    try:
        await stop.wait()
    finally:
        watchdog.cancel()
        await sandbox.stop()
    return 0


async def _orphan_watch(stop: asyncio.Event, every: float = 0.5) -> None:
    """Stop when the process that started us is gone (a suite killed by SIGKILL or a broken pipe
    runs no cleanup): an orphaned stand-in would otherwise keep its ports and children forever."""
    parent = os.getppid()
    while not stop.is_set():
        await asyncio.sleep(every)
        if os.getppid() != parent:
            logging.getLogger("sandbox.sidecar").warning("parent %s is gone: stopping", parent)
            stop.set()


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    try:
        cfg = _config(args)
    except ConfigError as e:
        print(f"e2et sidecar sandbox: {e}", file=sys.stderr)
        return EXIT_CONFIG
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if args.log_file:
        Path(args.log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(args.log_file))
    logging.basicConfig(level=logging.INFO, handlers=handlers,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return asyncio.run(_run(args, cfg))


if __name__ == "__main__":
    sys.exit(main())
