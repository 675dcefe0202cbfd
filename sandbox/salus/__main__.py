"""``python -m sandbox.salus up``: run the Salus sandbox in the foreground until SIGINT/SIGTERM."""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from .config import ConfigError, SandboxConfig

EXIT_CONFIG = 2
EXIT_START = 3


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="sandbox.salus", description="Contract-faithful local Salus")
    sub = p.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start the sandbox in the foreground")
    up.add_argument("--config", help="YAML overrides of the sandbox config")
    up.add_argument("--profile-out", default="reports/sandbox/profile.yaml",
                    help="where to write the profile the suite loads (0600)")
    up.add_argument("--data-dir", help="keep state here (SQLite, PKI, releases) across restarts")
    up.add_argument("--log-file", help="append the sandbox log here")
    up.add_argument("--fault", action="append", default=[], metavar="NAME[=PARAM]",
                    help="start with a fault switched on (repeatable)")
    up.add_argument("--quiet", action="store_true")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    try:
        cfg = SandboxConfig.load(args.config)
        if args.data_dir:
            cfg.data_dir = Path(args.data_dir)
        from .faults import CATALOG
        for item in args.fault:
            name, _, param = item.partition("=")
            if name not in CATALOG:
                raise ConfigError(f"unknown fault {name!r}: choose one of {', '.join(sorted(CATALOG))}")
            cfg.faults[name] = float(param) if param.replace(".", "", 1).isdigit() else (param or None)
    except ConfigError as e:
        print(f"e2et sandbox: {e}", file=sys.stderr)
        return EXIT_CONFIG

    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if args.log_file:
        Path(args.log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(args.log_file))
    logging.basicConfig(level=logging.INFO, handlers=handlers,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("kafka").setLevel(logging.ERROR)

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
