"""``python -m sandbox.salus up``: run the Salus sandbox in the foreground until SIGINT/SIGTERM."""
from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path

from sandbox.common.cli import EXIT_CONFIG, EXIT_START, fault_args, log_to, parse_up

from .config import ConfigError, SandboxConfig


def _param(text: str) -> float | str:
    return float(text) if text.replace(".", "", 1).isdigit() else text


def main(argv: list[str] | None = None) -> int:
    args = parse_up("sandbox.salus", "Contract-faithful local Salus", argv,
                    data_dir_help="keep state here (SQLite, PKI, releases) across restarts")
    try:
        cfg = SandboxConfig.load(args.config)
        if args.data_dir:
            cfg.data_dir = Path(args.data_dir)
        from .faults import CATALOG
        cfg.faults.update(fault_args(args.fault, CATALOG, _param))
    except (ConfigError, ValueError) as e:
        print(f"e2et sandbox: {e}", file=sys.stderr)
        return EXIT_CONFIG
    log_to(args.log_file)

    from .app import SalusSandbox
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    sandbox = SalusSandbox(cfg)
    try:
        sandbox.start()
        if args.log_file:
            sandbox.ctx.extra["log_file"] = args.log_file
        sandbox.write_profile(Path(args.profile_out))
    except Exception as e:  # one readable line, then a distinct exit code
        logging.getLogger("sandbox.salus").exception("start failed")
        print(f"e2et sandbox: could not start: {e}", file=sys.stderr)
        sandbox.stop()
        return EXIT_START
    if not args.quiet:
        for name, url in sorted(sandbox.ctx.urls.items()):
            print(f"  {name:<13} {url}")
        print(f"  {'kafka':<13} {sandbox.broker.bootstrap}")
        print(f"profile written to {args.profile_out}; Ctrl-C stops the sandbox", flush=True)
    try:
        stop.wait()
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
