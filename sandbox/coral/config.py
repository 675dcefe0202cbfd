"""Typed configuration of the Coral sandbox; a YAML file (``--config``) may override any field.

Timings are shortened where the suite's wall-clock budget needs it and the profile says so
(the pack asserts against what the profile reports): heartbeat interval (HEAD's
``CORAL_HEARTBEAT_INTERVAL``; Coral's own e2e uses 5 s), discovery TTL (HEAD's e2e uses 10 s),
the colony's re-register period and health thresholds.
"""
from __future__ import annotations

import ipaddress
import shutil
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from support.durations import Seconds

from .netplan import check_address


class ConfigError(ValueError):
    """Bad sandbox input: one line naming the problem and the fix (exit 2)."""


class SandboxConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agents: int = Field(3, ge=1, le=20)
    spare_agents: int = Field(1, ge=0, le=5)
    version: Literal["plan", "head"] = "plan"
    discovery_flavour: Literal["go", "workers"] = "go"
    secret_check: bool | None = None           # default: on for plan, off for head (62c0718)
    status_layout: Literal["plan", "head"] | None = None
    mesh_subnet: str = "100.64.0.0/10"
    app_name: str = "e2et"
    environment: str = "sandbox"
    heartbeat_interval: Seconds = 3.0
    ttl: Seconds = 10.0
    cleanup_interval: Seconds = 5.0
    register_interval: Seconds = 3.0
    healthy_threshold: Seconds = 10.0
    degraded_threshold: Seconds = 20.0
    ready_timeout: Seconds = 60.0
    telemetry_poll_interval: Seconds = 5.0
    system_metrics_poll_interval: Seconds = 5.0
    system_metrics_interval: Seconds = 2.0
    sample_rate: float = Field(1.0, ge=0.0, le=1.0)
    apps: bool = True
    data_dir: Path | None = None

    @field_validator("mesh_subnet")
    @classmethod
    def _mesh(cls, v: str) -> str:
        net = ipaddress.ip_network(v, strict=False)
        if net.prefixlen > 24:
            raise ValueError(f"mesh subnet {v} must be /24 or larger (Coral's rule)")
        check_address(str(net), "mesh subnet")
        return str(net)

    def model_post_init(self, _ctx: object) -> None:
        if self.secret_check is None:
            self.secret_check = self.version == "plan"
        if self.status_layout is None:
            self.status_layout = self.version
        if self.register_interval >= self.ttl:
            raise ValueError(f"register_interval {self.register_interval:g}s must be shorter than ttl {self.ttl:g}s "
                             "or the colony's own lease lapses")
        if self.healthy_threshold <= self.heartbeat_interval or self.degraded_threshold <= self.healthy_threshold:
            raise ValueError("thresholds must grow: heartbeat_interval < healthy_threshold < degraded_threshold")

    @classmethod
    def load(cls, path: str | None) -> SandboxConfig:
        data: dict = {}
        if path:
            try:
                data = yaml.safe_load(Path(path).read_text()) or {}
            except (OSError, yaml.YAMLError) as e:
                raise ConfigError(f"cannot read sandbox config {path}: {e}; pass a readable YAML file") from None
            if not isinstance(data, dict):
                raise ConfigError(f"sandbox config {path} must be a YAML mapping of settings")
        try:
            return cls(**data)
        except (ValidationError, ValueError) as e:
            first = e.errors()[0] if isinstance(e, ValidationError) else {"loc": (), "msg": str(e)}
            where = ".".join(str(p) for p in first["loc"]) or "config"
            raise ConfigError(f"sandbox config: {where}: {first['msg']}; fix it in {path or 'the defaults'}") from None


REQUIRED_TOOLS = {"ip": "iproute2", "nsenter": "util-linux", "unshare": "util-linux", "wg": "wireguard-tools",
                  "wireguard-go": "wireguard-go", "ping": "iputils-ping"}


def host_problem() -> str | None:
    """What this machine lacks for the sandbox's hosts (root, /dev/net/tun, the tools), or None."""
    import os
    if os.geteuid() != 0:
        return "the Coral sandbox needs root (network namespaces, WireGuard): run it as root"
    if not Path("/dev/net/tun").exists():
        return "/dev/net/tun is missing: load the tun module or run on a host that has it"
    missing = [f"{tool} ({pkg})" for tool, pkg in REQUIRED_TOOLS.items() if shutil.which(tool) is None]
    if missing:
        return f"missing tools: {', '.join(missing)}; run `bash scripts/setup.sh` to install them"
    return None
