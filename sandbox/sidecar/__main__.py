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

from sandbox.common.cli import EXIT_CONFIG, EXIT_START, fault_args, log_to, parse_up

from .config import ConfigError, SandboxConfig
from .faults import CATALOG, parse_param


def _config(args: argparse.Namespace) -> SandboxConfig:
    cfg = SandboxConfig.load_file(args.config)
    if args.data_dir:
        cfg.data_dir = Path(args.data_dir)
    try:
        cfg.faults.update(fault_args(args.fault, CATALOG, parse_param))
    except ValueError as e:
        raise ConfigError(str(e)) from None
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
    args = parse_up("sandbox.sidecar", "Contract-faithful local Async Sidecar", argv,
                    data_dir_help="status store, audit log, Redis dir and artifacts (default: a temp dir)")
    try:
        cfg = _config(args)
    except ConfigError as e:
        print(f"e2et sidecar sandbox: {e}", file=sys.stderr)
        return EXIT_CONFIG
    log_to(args.log_file, quiet_loggers=())
    return asyncio.run(_run(args, cfg))


if __name__ == "__main__":
    sys.exit(main())
