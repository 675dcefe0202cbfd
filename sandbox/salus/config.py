"""Typed configuration of the Salus sandbox: users, tenants, ports, timings, event era.

Defaults describe a complete local Salus; a YAML file may override any field. Secrets are
generated per sandbox unless given, and are only ever written to the sandbox's profile file
(mode 0600), never to its log.
"""
from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator

EventFormat = Literal["notification", "state-change", "kapacitor"]


def _secret() -> SecretStr:
    return SecretStr(secrets.token_urlsafe(24))


class SandboxUser(BaseModel):
    username: str
    api_key: SecretStr | None = Field(default_factory=_secret)
    password: SecretStr | None = None
    tenants: list[str] = Field(default_factory=list)
    roles: list[str] = Field(default_factory=lambda: ["identity:default"])
    user_id: str = ""


class PublicZone(BaseModel):
    name: str
    provider: str = "sandbox"
    providerRegion: str = "local"
    sourceIpAddresses: list[str] = Field(default_factory=lambda: ["127.0.0.1/32"])
    pollerTimeout: int = 300
    state: Literal["ACTIVE", "INACTIVE", "MAINTENANCE"] = "ACTIVE"


class Ports(BaseModel):
    """0 = pick a free loopback port at start."""

    identity: int = 0
    public_api: int = 0
    admin_api: int = 0
    auth_service: int = 0
    ambassador: int = 0
    downloads: int = 0
    kafka: int = 0


class SandboxConfig(BaseModel):
    host: str = "127.0.0.1"
    data_dir: Path | None = None          # None = fresh temp dir, removed on stop
    ports: Ports = Field(default_factory=Ports)

    tenant_id: str = "123456"             # the dedicated e2et tenant
    other_tenant_id: str = "654321"       # a second tenant with its own data (isolation checks)
    account_type: str = "e2et_managed"    # tenant-metadata accountType of the e2et tenant
    public_zone_tenant: str = "aaaaaa"    # salus.ambassador.public-zone-tenants (dev value)
    public_zones: list[PublicZone] = Field(default_factory=lambda: [PublicZone(name="public/us_central_1")])
    public_poller: bool = True            # run an envoy stand-in attached to each public zone

    users: list[SandboxUser] = Field(default_factory=list)

    presence_export_period: float = 0.5   # seconds (real default 5 s in application.yml)
    min_monitor_interval: int = 1         # seconds
    #: agents.maxFlushInterval the profile asks envoys for (telegraf's flush_interval; the real
    #: envoy adds flush_jitter = 2 s): the profile's event budgets are derived from it
    envoy_max_flush_interval: float = 0.1
    page_size: int = 20                   # Spring Data default
    partitions: int = 6
    event_topic: str = "salus.event-notifications.json"
    event_format: EventFormat = "notification"
    faults: dict[str, object] = Field(default_factory=dict)   # faults active from the start

    @field_validator("host")
    @classmethod
    def _loopback(cls, v: str) -> str:
        """Every service listens, and every URL the sandbox seeds points, at this host: loopback only."""
        import ipaddress
        try:
            loopback = ipaddress.ip_address(v).is_loopback
        except ValueError:
            loopback = v == "localhost"
        if not loopback:
            raise ValueError("the sandbox serves loopback only: use 127.0.0.1 (or another 127.0.0.0/8 address)")
        return v

    @field_validator("tenant_id", "other_tenant_id")
    @classmethod
    def _tenant_shape(cls, v: str) -> str:
        import re
        if not re.fullmatch(r"\d+|[a-zA-Z]+:\d+", v):
            raise ValueError("tenant ids are numeric or 'type:number' (Repose url-extractor)")
        return v

    def model_post_init(self, __context: object) -> None:
        if not self.users:
            self.users = [
                SandboxUser(username="e2et-regular", tenants=[self.tenant_id], user_id="u-regular"),
                SandboxUser(username="e2et-admin", password=_secret(), tenants=[],
                            roles=["monitoring:service-admin"], user_id="u-admin"),
                SandboxUser(username="other-regular", tenants=[self.other_tenant_id], user_id="u-other"),
            ]

    def user(self, username: str) -> SandboxUser:
        for u in self.users:
            if u.username == username:
                return u
        raise KeyError(username)

    @classmethod
    def load(cls, path: str | Path | None) -> SandboxConfig:
        """Load YAML overrides; raises ``ConfigError`` with one readable line on bad input."""
        if path is None:
            return cls()
        p = Path(path)
        try:
            raw = yaml.safe_load(p.read_text()) or {}
        except FileNotFoundError:
            raise ConfigError(f"sandbox config {p} not found: pass an existing YAML file or omit --config") from None
        except yaml.YAMLError as e:
            raise ConfigError(f"sandbox config {p} is not valid YAML ({str(e).splitlines()[0]}): "
                              "fix the syntax") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"sandbox config {p} must be a YAML mapping of settings")
        try:
            return cls.model_validate(raw)
        except ValidationError as e:
            err = e.errors()[0]
            loc = ".".join(str(x) for x in err["loc"])
            raise ConfigError(f"sandbox config {p}: {loc}: {err['msg']} (fix that key)") from None


class ConfigError(Exception):
    """A sandbox configuration problem, phrased as one line naming the problem and the fix."""
