"""Profiles → typed settings.

`local` (default) means "a sandbox": its settings come from the profile file the sandbox writes
(``E2ET_SANDBOX_PROFILE``). `dev`, `staging`, `prod` come from ``profiles/<name>.yaml``;
``E2ET_CONFIG`` names any other YAML file. On top, environment variables override everything:
``E2ET_<SECTION>__<KEY>`` (e.g. ``E2ET_EVENTS__TIMEOUT=60``) and the earlier Go tool's names
(``E2ET_PUBLIC_API_URL``, ``E2ET_REGULAR_API_KEY`` …), whose dotted YAML keys are accepted too.
Secrets come only from the environment, ``*_file`` keys, or the sandbox-written profile.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal, Mapping

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from .errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[1]
PROFILES = ("local", "dev", "staging", "prod")
SECRET_KEYS = {("regular", "api_key"), ("admin", "api_key"), ("admin", "password"), ("kafka", "sasl_password")}

#: The earlier Go tool's keys (contract §8) → our nested keys.
LEGACY_KEYS: dict[str, tuple[str, str]] = {
    "tenant.id": ("tenant", "id"), "regular.id": ("regular", "username"), "admin.id": ("admin", "username"),
    "regular.api.key": ("regular", "api_key"), "admin.api.key": ("admin", "api_key"),
    "admin.password": ("admin", "password"), "public.api.url": ("public_api", "url"),
    "admin.api.url": ("admin_api", "url"), "identity.url": ("identity", "url"), "auth.url": ("auth_service", "url"),
    "ambassador.address": ("ambassador", "address"), "kafka.brokers": ("kafka", "brokers"),
    "event.topic": ("events", "topic"), "event.timeout": ("events", "timeout"),
    "cert.file": ("kafka", "ssl_certfile"), "key.file": ("kafka", "ssl_keyfile"), "ca.file": ("kafka", "ssl_cafile"),
    "cert.dir": ("kafka", "cert_dir"), "envoy.tarball.linux": ("envoy", "tarball_url_linux"),
    "envoy.tarball.darwin": ("envoy", "tarball_url_darwin"), "telegraf.version": ("agent_release", "version"),
    "mode": ("legacy", "mode"),
}
LEGACY_ENV = {"E2ET_" + k.upper().replace(".", "_").replace("-", "_"): v for k, v in LEGACY_KEYS.items()}


def go_duration(value: Any) -> float:
    """``5m``, ``30s``, ``1h30m``, ``500ms`` or a number of seconds."""
    if isinstance(value, (int, float)):
        return float(value)
    s = str(value).strip()
    try:
        return float(s)
    except ValueError:
        pass
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", s)
    if not parts or "".join(a + b for a, b in parts) != s:
        raise ValueError(f"not a duration: {value!r} (use e.g. 30s, 5m)")
    mult = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * mult[u] for n, u in parts)


class _M(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Tenant(_M):
    id: str
    dedicated: bool = False
    account_type: str = "e2et_managed"


class Url(_M):
    url: str

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not re.match(r"^https?://[^/\s]+", v or ""):
            raise ValueError(f"not an http(s) URL: {v!r}")
        return v if v.endswith("/") else v + "/"


class User(_M):
    username: str = ""
    api_key: SecretStr | None = None
    password: SecretStr | None = None


class Ambassador(_M):
    address: str


class Kafka(_M):
    brokers: list[str]
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_SSL", "SASL_PLAINTEXT"] = "PLAINTEXT"
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    cert_dir: str | None = None
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None

    @field_validator("brokers", mode="before")
    @classmethod
    def _brokers(cls, v: Any) -> list[str]:
        items = v.split(",") if isinstance(v, str) else list(v or [])
        items = [str(b).strip() for b in items if str(b).strip()]
        for b in items:
            if not re.match(r"^[^:\s]+:\d+$", b):
                raise ValueError(f"broker {b!r} is not host:port")
        if not items:
            raise ValueError("at least one broker host:port is needed")
        return items


class Topics(_M):
    metrics: str = "telemetry.metrics.json"
    attaches: str = "telemetry.attaches.json"


class Events(_M):
    topic: str = "salus.event-notifications.json"
    format: Literal["notification", "state-change", "kapacitor"] = "notification"
    timeout: float = 60.0

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout(cls, v: Any) -> float:
        return go_duration(v)


class AgentRelease(_M):
    type: str = "TELEGRAF"
    version: str | None = None
    url: str | None = None
    exe: str = "./telegraf/telegraf"


class Envoy(_M):
    executable: str | None = None
    command: list[str] | None = None
    tarball_url_linux: str | None = None
    tarball_url_darwin: str | None = None
    extra_config: dict[str, Any] = Field(default_factory=dict)


class Zones(_M):
    public: str = "public/us_central_1"


class Monitors(_M):
    interval: int = 30
    probe_host: str = "127.0.0.1"


class Http(_M):
    timeout: float = 10.0


class SandboxInfo(_M):
    control_url: str | None = None
    log_file: str | None = None
    data_dir: str | None = None
    pid: int | None = None


class Settings(_M):
    profile: str = "local"
    tenant: Tenant
    identity: Url
    regular: User
    admin: User | None = None
    public_api: Url
    admin_api: Url | None = None
    auth_service: Url
    ambassador: Ambassador
    kafka: Kafka
    topics: Topics = Field(default_factory=Topics)
    events: Events = Field(default_factory=Events)
    agent_release: AgentRelease = Field(default_factory=AgentRelease)
    envoy: Envoy = Field(default_factory=Envoy)
    zones: Zones = Field(default_factory=Zones)
    monitors: Monitors = Field(default_factory=Monitors)
    http: Http = Field(default_factory=Http)
    sandbox: SandboxInfo | None = None

    def capabilities(self) -> set[str]:
        caps = {"public_api", "kafka"}
        if self.admin and self.admin.username and (self.admin.api_key or self.admin.password) and self.admin_api:
            caps.add("admin")
        if self.zones.public:
            caps.add("public_zone")
        if self.kafka.security_protocol in ("SSL", "SASL_SSL"):
            caps.add("kafka_tls")
        if self.sandbox and self.sandbox.control_url:
            caps.add("faults")
        return caps

    def secrets(self) -> list[str]:
        vals = []
        for user in (self.regular, self.admin):
            if user:
                vals += [s.get_secret_value() for s in (user.api_key, user.password) if s]
        if self.kafka.sasl_password:
            vals.append(self.kafka.sasl_password.get_secret_value())
        return [v for v in vals if v]

    def redacted_dict(self) -> dict[str, Any]:
        """Everything but secrets (for environment.properties, logs and reports)."""
        data = self.model_dump(mode="json")
        for section, key in SECRET_KEYS:
            if isinstance(data.get(section), dict) and data[section].get(key):
                data[section][key] = "***"
        return data


# ----------------------------------------------------------------------------- loading
def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found: create it or point E2ET_CONFIG at an existing file") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where} is not valid YAML ({getattr(e, 'problem', e)}): fix the syntax") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} must be a YAML mapping of settings, not {type(raw).__name__}")
    return raw


def _put(data: dict[str, Any], section: str, key: str, value: Any) -> None:
    node = data.setdefault(section, {})
    if not isinstance(node, dict):
        node = data[section] = {}
    node[key] = value


def _normalise(raw: dict[str, Any], source: str, allow_inline_secrets: bool) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for k, v in raw.items():
        if k in LEGACY_KEYS:
            section, key = LEGACY_KEYS[k]
            _put(data, section, key, v)
        elif isinstance(v, dict) and isinstance(data.get(k), dict):
            data[k].update(v)
        else:
            data[k] = v
    for section, key in SECRET_KEYS:
        node = data.get(section)
        if isinstance(node, dict):
            file_key = f"{key}_file"
            if node.get(file_key):
                try:
                    node[key] = Path(node.pop(file_key)).read_text().strip()
                except OSError as e:
                    raise ConfigError(f"{source}: {section}.{file_key} unreadable ({e.strerror}): fix the path") from None
            elif node.get(key) and not allow_inline_secrets:
                env = f"E2ET_{section.upper()}__{key.upper()}"
                raise ConfigError(f"{source}: {section}.{key} is a secret and must not be written in a config "
                                  f"file: set {env} or {section}.{file_key} instead")
    return data


def _apply_env(data: dict[str, Any], env: Mapping[str, str]) -> None:
    for name, value in env.items():
        if name in LEGACY_ENV:
            _put(data, *LEGACY_ENV[name], value)
        elif name.startswith("E2ET_") and "__" in name:
            section, _, key = name[5:].lower().partition("__")
            if key.endswith("_file") and (section, key[:-5]) in SECRET_KEYS:
                try:
                    _put(data, section, key[:-5], Path(value).read_text().strip())
                except OSError as e:
                    raise ConfigError(f"{name}={value} unreadable ({e.strerror}): fix the path") from None
            else:
                _put(data, section, key, value)


ENV_HINT = {
    ("identity", "url"): "E2ET_IDENTITY_URL", ("public_api", "url"): "E2ET_PUBLIC_API_URL",
    ("admin_api", "url"): "E2ET_ADMIN_API_URL", ("auth_service", "url"): "E2ET_AUTH_URL",
    ("ambassador", "address"): "E2ET_AMBASSADOR_ADDRESS", ("kafka", "brokers"): "E2ET_KAFKA_BROKERS",
    ("tenant", "id"): "E2ET_TENANT_ID", ("regular", "api_key"): "E2ET_REGULAR_API_KEY",
}


def load_settings(profile: str | None = None, env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    profile = (profile or env.get("E2ET_PROFILE") or "local").strip()
    if profile not in PROFILES and not env.get("E2ET_CONFIG"):
        raise ConfigError(f"unknown profile {profile!r}: choose one of {', '.join(PROFILES)} "
                          "(or set E2ET_CONFIG to a YAML file)")
    if env.get("E2ET_CONFIG"):
        path = Path(env["E2ET_CONFIG"])
        data = _normalise(_read_yaml(path), str(path), allow_inline_secrets=False)
    elif profile == "local":
        if not env.get("E2ET_SANDBOX_PROFILE"):
            raise ConfigError("profile local needs a sandbox: run through behave/e2et (which start one) or set "
                              "E2ET_SANDBOX_PROFILE to the profile file `e2et sandbox up` wrote")
        path = Path(env["E2ET_SANDBOX_PROFILE"])
        data = _normalise(_read_yaml(path), str(path), allow_inline_secrets=True)
    else:
        path = REPO_ROOT / "profiles" / f"{profile}.yaml"
        data = _normalise(_read_yaml(path), str(path), allow_inline_secrets=False)
    data["profile"] = profile
    _apply_env(data, env)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        loc = tuple(str(x) for x in err["loc"])
        key = ".".join(loc)
        hint = ENV_HINT.get(loc[:2]) if len(loc) >= 2 else None
        fix = f"set it in {path} or {hint}" if hint else f"fix it in {path}"
        if err["type"] == "missing":
            raise ConfigError(f"profile {profile}: {key} is missing: {fix}") from None
        raise ConfigError(f"profile {profile}: {key}: {err['msg']}: {fix}") from None
    if profile != "local" and not settings.regular.api_key:
        raise ConfigError(f"profile {profile}: the regular user's API key is missing: set E2ET_REGULAR_API_KEY")
    return settings
