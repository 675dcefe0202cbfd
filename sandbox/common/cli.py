"""The ``python -m sandbox.<pack> up`` contract, once: options, bad input, logging, the profile file.

Every stand-in is started the same way by the suite (docs/adding-a-system.md §3): ``up
--profile-out FILE [--log-file F] [--data-dir D] [--config C] [--fault NAME[=PARAM]]… [--quiet]``;
bad input is one line and exit 2, a failed start exit 3; the profile is written atomically with
mode 0600 (it holds the stand-in's generated secrets). This module is that contract's one copy.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

EXIT_CONFIG = 2
EXIT_START = 3


class _OneLineParser(argparse.ArgumentParser):
    """argparse that reports bad input as one line with the fix, and exit code 2."""

    def error(self, message: str) -> None:   # type: ignore[override]
        print(f"e2et sandbox ({self.prog}): {message}: see `python -m {self.prog} up --help`", file=sys.stderr)
        sys.exit(EXIT_CONFIG)


def parse_up(prog: str, description: str, argv: list[str] | None = None,
             data_dir_help: str = "keep state here across restarts (default: a temp dir)") -> argparse.Namespace:
    """The standard ``up`` options (``prog`` is the module, e.g. ``sandbox.<pack>``)."""
    p = _OneLineParser(prog=prog, description=description)
    sub = p.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start the stand-in in the foreground until SIGINT/SIGTERM")
    up.error = p.error  # type: ignore[method-assign]
    up.add_argument("--profile-out", required=True, help="where to write the profile the suite loads (0600)")
    up.add_argument("--log-file", help="append the stand-in's log here")
    up.add_argument("--data-dir", help=data_dir_help)
    up.add_argument("--config", help="YAML overrides of the stand-in's configuration")
    up.add_argument("--fault", action="append", default=[], metavar="NAME[=PARAM]",
                    help="start with a fault switched on (repeatable)")
    up.add_argument("--quiet", action="store_true", help="print nothing once started")
    args = p.parse_args(argv)
    out = Path(args.profile_out)
    if out.is_dir():
        p.error(f"--profile-out {out} is a directory: name a file")
    return args


def fault_args(items: list[str], catalog: Mapping[str, Any],
               parse_param: Callable[[str], Any] | None = None) -> dict[str, Any]:
    """``--fault NAME[=PARAM]`` options → {name: param}; ``ValueError`` naming an unknown fault."""
    out: dict[str, Any] = {}
    for item in items:
        name, _, param = item.partition("=")
        if name not in catalog:
            raise ValueError(f"unknown fault {name!r}: choose one of {', '.join(sorted(catalog))}")
        if param:
            out[name] = parse_param(param) if parse_param else param
        else:
            out[name] = getattr(catalog[name], "default_param", None)
    return out


def log_to(log_file: str | None, level: int = logging.INFO, quiet_loggers: tuple[str, ...] = ("kafka",)) -> None:
    """Log to stderr and, when given, append to ``log_file`` (the suite attaches its tail as evidence)."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file))
    logging.basicConfig(level=level, handlers=handlers, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in quiet_loggers:
        logging.getLogger(name).setLevel(logging.ERROR)


def write_profile(path: Path | str, data: Mapping[str, Any]) -> None:
    """Atomically write the profile YAML with mode 0600: the suite polls for the file, so it must
    appear whole, and it holds the stand-in's generated secrets."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        yaml.safe_dump(dict(data), fh, sort_keys=False)
    os.replace(tmp, path)
