"""``telemetry-envoy`` stand-in CLI: ``run --config=FILE.yml|.yaml`` with the real keys (§5.1–5.2)."""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

import yaml


def _set(cfg: dict[str, Any], dotted: str, value: Any) -> None:
    node = cfg
    parts = dotted.split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = value


def load_config(args: argparse.Namespace) -> dict[str, Any]:
    if not args.config.endswith((".yml", ".yaml")):
        raise SystemExit(f"telemetry-envoy: config file {args.config} must end in .yml or .yaml")
    cfg = yaml.safe_load(Path(args.config).read_text()) or {}
    for key, env in (("resource_id", "ENVOY_RESOURCE_ID"), ("zone", "ENVOY_ZONE"),
                     ("auth_token", "ENVOY_AUTH_TOKEN"), ("agents.dataPath", "ENVOY_AGENTS_DATAPATH")):
        if os.environ.get(env):
            _set(cfg, key, os.environ[env])
    for key, val in (("resource_id", args.resource_id), ("zone", args.zone), ("auth_token", args.auth_token),
                     ("agents.dataPath", args.data_path)):
        if val:
            _set(cfg, key, val)
    if not cfg.get("resource_id"):
        raise SystemExit("telemetry-envoy: resource_id is required")
    bad = [k for k in (cfg.get("labels") or {}) if str(k).startswith("discovered_")]
    if bad:
        raise SystemExit(f"telemetry-envoy: labels may not start with discovered_: {bad}")
    return cfg


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="telemetry-envoy")
    p.add_argument("--debug", "-d", action="store_true")
    sub = p.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run")
    run.add_argument("--config", required=True)
    for flag in ("--resource-id", "--zone", "--auth-token", "--data-path"):
        run.add_argument(flag)
    sub.add_parser("version")
    args = p.parse_args(argv)
    if args.cmd == "version":
        from .connection import VERSION
        print(VERSION)
        return 0
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cfg = load_config(args)
    from .connection import Envoy
    envoy = Envoy(cfg)
    signal.signal(signal.SIGTERM, lambda *_: envoy.request_stop())
    signal.signal(signal.SIGINT, lambda *_: envoy.request_stop())
    return envoy.run()


if __name__ == "__main__":
    sys.exit(main())
