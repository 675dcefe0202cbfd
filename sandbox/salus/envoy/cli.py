"""``telemetry-envoy`` stand-in CLI: ``run --config=FILE.yml|.yaml`` with the real keys (contract §5.1–5.2).

Precedence follows viper as the real envoy uses it: flag > ``ENVOY_*`` environment > config file.
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

import yaml

#: Config keys an ``ENVOY_<KEY>`` variable may override (``.``/``-`` → ``_``, upper-cased).
ENV_KEYS = ("resource_id", "zone", "auth_token", "tls.auth_service.url", "tls.provided.cert",
            "tls.provided.key", "tls.provided.ca", "ambassador.address", "ambassador.keepAliveInterval",
            "agents.dataPath", "agents.terminationTimeout", "agents.restartDelay",
            "agents.defaultMonitoringInterval", "agents.maxFlushInterval", "ingest.telegraf.json.bind")


def env_name(key: str) -> str:
    return "ENVOY_" + key.replace(".", "_").replace("-", "_").upper()


def _set(cfg: dict[str, Any], dotted: str, value: Any) -> None:
    node = cfg
    parts = dotted.split(".")
    for p in parts[:-1]:
        nxt = node.get(p)
        if not isinstance(nxt, dict):
            nxt = node[p] = {}
        node = nxt
    node[parts[-1]] = value


def load_config(args: argparse.Namespace) -> dict[str, Any]:
    """Read, override and validate the config; ``SystemExit`` with one line naming the fix."""
    if not str(args.config).endswith((".yml", ".yaml")):
        raise SystemExit(f"telemetry-envoy: config file {args.config} must end in .yml or .yaml")
    try:
        cfg = yaml.safe_load(Path(args.config).read_text()) or {}
    except OSError as e:
        raise SystemExit(f"telemetry-envoy: cannot read config {args.config}: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise SystemExit(f"telemetry-envoy: config {args.config} is not valid YAML: "
                         f"{str(e).splitlines()[0]}") from None
    if not isinstance(cfg, dict):
        raise SystemExit(f"telemetry-envoy: config {args.config} must be a YAML mapping")
    for key in ENV_KEYS:
        if os.environ.get(env_name(key)):
            _set(cfg, key, os.environ[env_name(key)])
    for key, val in (("resource_id", args.resource_id), ("zone", args.zone), ("auth_token", args.auth_token),
                     ("agents.dataPath", args.data_path)):
        if val:
            _set(cfg, key, val)
    if not cfg.get("resource_id"):
        raise SystemExit("telemetry-envoy: resource_id is required (config, --resource-id or ENVOY_RESOURCE_ID)")
    bad = sorted(str(k) for k in (cfg.get("labels") or {}) if str(k).startswith("discovered_"))
    if bad:
        raise SystemExit(f"telemetry-envoy: labels may not start with discovered_: {', '.join(bad)}")
    return cfg


def main(argv: list[str] | None = None) -> int:
    # gRPC's C core logs handshake details at INFO when asked to; errors are enough here (and
    # our own log lines say what failed). Must be set before grpc is first imported.
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    p = argparse.ArgumentParser(prog="telemetry-envoy")
    p.add_argument("--debug", "-d", action="store_true")
    sub = p.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run", help="attach to the ambassador and run agents")
    run.add_argument("--config", required=True, help="YAML config file (.yml or .yaml)")
    run.add_argument("--debug", "-d", action="store_true", default=argparse.SUPPRESS)
    for flag in ("--resource-id", "--zone", "--auth-token", "--data-path"):
        run.add_argument(flag)
    sub.add_parser("version", help="print the version")
    args = p.parse_args(argv)
    if args.cmd == "version":
        from .connection import VERSION
        print(VERSION)
        return 0
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # gRPC's own debug logging can echo metadata; keep it quiet whatever --debug says.
    logging.getLogger("grpc").setLevel(logging.WARNING)
    cfg = load_config(args)
    from .connection import Envoy
    envoy = Envoy(cfg)
    signal.signal(signal.SIGTERM, lambda *_: envoy.request_stop())
    signal.signal(signal.SIGINT, lambda *_: envoy.request_stop())
    return envoy.run()


if __name__ == "__main__":
    sys.exit(main())
