"""Profiles → typed settings.

`local` (default) means "a sandbox": its settings come from the profile file the sandbox writes
(``E2ET_SANDBOX_PROFILE``; the run lifecycle starts the sandbox and sets it). `dev`, `staging`,
`prod` come from ``profiles/<name>.yaml``; ``E2ET_CONFIG`` names any other YAML file.

On top, environment variables override everything: ``E2ET_<SECTION>__<KEY>`` (e.g.
``E2ET_EVENTS__TIMEOUT=60``) and the earlier Go tool's names (``E2ET_PUBLIC_API_URL``,
``E2ET_REGULAR_API_KEY`` …, contract §8), whose dotted YAML keys (flat ``public.api.url: …`` or
nested the way viper reads them) are accepted in files too — so existing configs keep working.

Secrets come only from the environment, ``*_file`` keys, or the sandbox-written profile: a real
profile is committed to git, so a literal secret there is refused with a ConfigError.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Mapping

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from .errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[1]
PROFILE_DIR = REPO_ROOT / "profiles"
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
#: Dotted prefixes under which a nested (viper-style) YAML may hold a legacy key.
_LEGACY_PREFIXES = {".".join(k.split(".")[:i]) for k in LEGACY_KEYS for i in range(1, k.count(".") + 1)}

#: The env var to name when a key is missing or wrong (the Go tool's names where they exist).
ENV_HINT = {f"{s}.{k}": e for e, (s, k) in LEGACY_ENV.items() if s != "legacy"}


def env_name(section: str, key: str) -> str:
    """The env var a user should set for a key: the Go tool's flat name, else the nested one."""
    return ENV_HINT.get(f"{section}.{key}", f"E2ET_{section.upper()}__{key.upper()}")


def go_duration(value: Any) -> float:
    """``5m``, ``30s``, ``1h30m``, ``500ms`` or a plain number of seconds (Go-e2et used durations)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    s = str(value).strip()
    try:
        return float(s)
    except ValueError:
        pass
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", s)
    if not parts or "".join(a + b for a, b in parts) != s:
        raise ValueError(f"not a duration: {value!r} (use seconds, or e.g. 30s, 5m)")
    mult = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * mult[u] for n, u in parts)


Seconds = Annotated[float, BeforeValidator(go_duration)]
"""A duration setting: seconds, or a Go duration string as the earlier tool's files carry them."""


class _M(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Tenant(_M):
    id: str
    dedicated: bool = False
    account_type: str = "e2et_managed"

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, v: Any) -> str:
        # YAML reads 123456 as an int; tenant ids are strings (numeric or ``type:number``, §1.1).
        v = str(v).strip() if v is not None else ""
        if not re.fullmatch(r"[A-Za-z]+:\d+|\d+|[A-Za-z0-9_:-]+", v):
            raise ValueError(f"tenant id {v!r} is not numeric or type:number")
        return v


class Url(_M):
    url: str

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not re.match(r"^https?://[^/\s:]+(:\d+)?(/\S*)?$", v or ""):
            raise ValueError(f"not an http(s) URL: {v!r}")
        # Go-e2et's URLs end with "/" and paths are appended: keep that invariant.
        return v if v.endswith("/") else v + "/"


class User(_M):
    username: str = ""
    api_key: SecretStr | None = None
    password: SecretStr | None = None

    @field_validator("api_key", "password", mode="before")
    @classmethod
    def _blank(cls, v: Any) -> Any:
        return None if v in ("", None) else v


class Ambassador(_M):
    address: str

    @field_validator("address")
    @classmethod
    def _address(cls, v: str) -> str:
        if not re.fullmatch(r"[^:\s/]+:\d{1,5}", v or ""):
            raise ValueError(f"ambassador address {v!r} is not host:port")
        return v


class Kafka(_M):
    brokers: list[str]
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_SSL", "SASL_PLAINTEXT"] = "PLAINTEXT"
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    cert_dir: str | None = None
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    #: Ignore records stamped this long before the watch started. Off for real brokers, whose
    #: ``end_offsets()`` are exact (a guard there only adds clock-skew risk between hosts); the
    #: sandbox profile turns it on for Tansu, whose end offsets can re-deliver a batch (support/kafka.py).
    stale_record_guard: Seconds | None = None

    @model_validator(mode="before")
    @classmethod
    def _infer(cls, data: Any) -> Any:
        """Go-e2et had no protocol key: TLS files given (``cert.file``…) meant TLS; relative file
        names were relative to ``cert.dir``."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        base = data.get("cert_dir")
        for k in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
            if base and data.get(k) and not os.path.isabs(str(data[k])):
                data[k] = os.path.join(str(base), str(data[k]))
        if not data.get("security_protocol"):
            data["security_protocol"] = "SSL" if (data.get("ssl_cafile") or data.get("ssl_certfile")) else "PLAINTEXT"
        else:
            data["security_protocol"] = str(data["security_protocol"]).upper()
        return data

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


EventFormat = Literal["notification", "state-change", "kapacitor"]
#: Each era's event topic (contract §4.1) → the format its messages have.
ERA_TOPICS: dict[str, EventFormat] = {"salus.events.json": "kapacitor",
                                      "salus.state-change-events.json": "state-change",
                                      "salus.event-notifications.json": "notification"}


class Events(_M):
    topic: str = "salus.event-notifications.json"
    format: EventFormat = "notification"
    timeout: Seconds = 60.0

    @model_validator(mode="before")
    @classmethod
    def _era(cls, data: Any) -> Any:
        """A Go-e2et config names only ``event.topic`` (``salus.events.json``, Kapacitor alerts):
        the format follows a known era topic unless given; a known topic with another era's
        format is a mistake that would make every event step time out, so it is refused."""
        if not isinstance(data, dict) or data.get("topic") not in ERA_TOPICS:
            return data
        era = ERA_TOPICS[data["topic"]]
        if not data.get("format"):
            return {**data, "format": era}
        if data["format"] != era and data["format"] in ERA_TOPICS.values():
            raise ValueError(f"topic {data['topic']} carries {era} events but format is {data['format']}: "
                             f"set E2ET_EVENTS__FORMAT={era} (or name the topic your deployment uses)")
        return data


class Presence(_M):
    """How long the platform may take to show an envoy: attach (agent history, attach event, the
    auto-created resource) and the presence metric, published every ``exportPeriod`` (code
    default 60 s, contract §7) — waits end as soon as the evidence arrives."""

    attach_timeout: Seconds = 30.0
    timeout: Seconds = 90.0


class AgentRelease(_M):
    """The release to create when the catalog has no valid one for this os/arch (admin needed)."""

    type: str = "TELEGRAF"
    version: str | None = None
    url: str | None = None
    exe: str = "./telegraf/telegraf"


class Envoy(_M):
    executable: str | None = None
    command: list[str] | None = None
    tarball_url: str | None = None
    tarball_url_linux: str | None = None
    tarball_url_darwin: str | None = None
    extra_config: dict[str, Any] = Field(default_factory=dict)


class Zones(_M):
    public: str | None = "public/us_central_1"


class Monitors(_M):
    interval: Annotated[int, BeforeValidator(lambda v: max(1, int(go_duration(v))))] = 30
    probe_host: str = "127.0.0.1"


class Http(_M):
    timeout: Seconds = 10.0


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
    presence: Presence = Field(default_factory=Presence)
    agent_release: AgentRelease = Field(default_factory=AgentRelease)
    envoy: Envoy = Field(default_factory=Envoy)
    zones: Zones = Field(default_factory=Zones)
    monitors: Monitors = Field(default_factory=Monitors)
    http: Http = Field(default_factory=Http)
    sandbox: SandboxInfo | None = None

    def capabilities(self) -> set[str]:
        """What this profile can exercise; scenarios needing a missing one are skipped, not failed."""
        caps = {"public_api", "kafka"}
        if self.admin and self.admin.username and (self.admin.api_key or self.admin.password) and self.admin_api:
            caps.add("admin")
        if self.zones.public:
            caps.add("public_zone")
        if self.kafka.security_protocol in ("SSL", "SASL_SSL"):
            caps.add("kafka_tls")
        if self.kafka.security_protocol.startswith("SASL"):
            caps.add("kafka_sasl")
        if self.sandbox and self.sandbox.control_url:
            caps.add("faults")
        if self.envoy.executable or self.envoy.command or self.envoy.tarball_url or self.envoy.tarball_url_linux \
                or self.envoy.tarball_url_darwin:
            caps.add("envoy")
        return caps

    def secrets(self) -> list[str]:
        """Every secret value, for redaction filters (logs, curl evidence, reports)."""
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
            if isinstance(data.get(section), dict) and key in data[section]:
                data[section][key] = "***" if data[section][key] else None
        return data


# ----------------------------------------------------------------------------- loading
def known_profiles() -> list[str]:
    extra = sorted(p.stem for p in PROFILE_DIR.glob("*.yaml") if p.stem not in PROFILES) if PROFILE_DIR.is_dir() else []
    return list(PROFILES) + extra


def _read_yaml(path: Path, hint: str) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found: {hint}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where} is not valid YAML ({getattr(e, 'problem', None) or e}): "
                          "fix the syntax there") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} must be a YAML mapping of settings, not a {type(raw).__name__}: "
                          "see profiles/dev.yaml for the shape")
    return raw


def _put(data: dict[str, Any], path: list[str], value: Any) -> None:
    node = data
    for part in path[:-1]:
        nxt = node.get(part)
        if not isinstance(nxt, dict):
            nxt = node[part] = {}
        node = nxt
    node[path[-1]] = value


def _flatten_legacy(raw: dict[str, Any]) -> dict[str, Any]:
    """Our nested shape from a file mixing it with Go-e2et keys (flat dotted or viper-nested)."""
    data: dict[str, Any] = {}

    def walk(node: dict[str, Any], prefix: str) -> None:
        for k, v in node.items():
            path = f"{prefix}.{k}" if prefix else str(k)
            if path in LEGACY_KEYS and not isinstance(v, dict):
                _put(data, list(LEGACY_KEYS[path]), v)
            elif isinstance(v, dict) and (path in _LEGACY_PREFIXES or path in Settings.model_fields):
                walk(v, path)
            else:
                _put(data, path.split("."), v)
    walk(raw, "")
    return data


def _read_secret_file(where: str, path: str) -> str:
    try:
        return Path(path).expanduser().read_text().strip()
    except OSError as e:
        raise ConfigError(f"{where}: secret file {path} unreadable ({e.strerror}): fix the path") from None


def _normalise(raw: dict[str, Any], source: str, allow_inline_secrets: bool) -> dict[str, Any]:
    data = _flatten_legacy(raw)
    unknown = sorted(k for k in data if k not in Settings.model_fields and k != "legacy")
    if unknown:
        raise ConfigError(f"{source}: unknown key {unknown[0]!r}: remove it or use one of "
                          f"{', '.join(Settings.model_fields)}")
    for section, key in SECRET_KEYS:
        node = data.get(section)
        if not isinstance(node, dict):
            continue
        file_key = f"{key}_file"
        if node.get(file_key):
            node[key] = _read_secret_file(f"{source} {section}.{file_key}", str(node.pop(file_key)))
        elif node.get(key) and not allow_inline_secrets:
            raise ConfigError(f"{source}: {section}.{key} is a secret and must not be written in a config "
                              f"file: set {env_name(section, key)} or {section}.{file_key} instead")
    return data


def _apply_env(data: dict[str, Any], env: Mapping[str, str]) -> None:
    for name, value in sorted(env.items()):
        if name in LEGACY_ENV:
            _put(data, list(LEGACY_ENV[name]), value)
        elif name.startswith("E2ET_") and "__" in name:
            path = name[5:].lower().split("__")
            if path[0] not in Settings.model_fields:
                raise ConfigError(f"{name}: unknown setting section {path[0]!r}: use one of "
                                  f"{', '.join(Settings.model_fields)}")
            if len(path) == 2 and path[1].endswith("_file") and (path[0], path[1][:-5]) in SECRET_KEYS:
                _put(data, [path[0], path[1][:-5]], _read_secret_file(name, value))
            else:
                _put(data, path, value)


_MAIN_KEY = {"identity": "url", "public_api": "url", "admin_api": "url", "auth_service": "url",
             "ambassador": "address", "kafka": "brokers", "tenant": "id", "regular": "username"}


def _validation_error(e: ValidationError, profile: str, source: str) -> ConfigError:
    err = e.errors()[0]
    loc = [str(x) for x in err["loc"]]
    if len(loc) == 1 and loc[0] in _MAIN_KEY:         # a whole section missing: name its key
        loc.append(_MAIN_KEY[loc[0]])
    key = ".".join(loc)
    hint = env_name(loc[0], loc[1]) if len(loc) >= 2 else f"E2ET_{loc[0].upper()}__…" if loc else ""
    if err["type"] == "missing":
        return ConfigError(f"profile {profile}: {key} is missing: set it in {source} or set {hint}")
    msg = str(err["msg"]).removeprefix("Value error, ")
    return ConfigError(f"profile {profile}: {key}: {msg}: fix it in {source} or set {hint}")


def load_settings(profile: str | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """The run's settings: profile file (or sandbox file, or ``E2ET_CONFIG``) + env overrides.

    Every problem is a one-line ``ConfigError`` naming the key and how to fix it.
    """
    env = os.environ if env is None else env
    profile = (profile or env.get("E2ET_PROFILE") or "local").strip()
    if env.get("E2ET_CONFIG"):
        path = Path(env["E2ET_CONFIG"])
        data = _normalise(_read_yaml(path, "fix E2ET_CONFIG"), str(path), allow_inline_secrets=False)
    elif profile == "local":
        if not env.get("E2ET_SANDBOX_PROFILE"):
            raise ConfigError("profile local needs a sandbox: run through behave/e2et (which start one) or set "
                              "E2ET_SANDBOX_PROFILE to the profile file `e2et sandbox up` wrote")
        path = Path(env["E2ET_SANDBOX_PROFILE"])
        data = _normalise(_read_yaml(path, "start the sandbox (`e2et sandbox up`) or fix E2ET_SANDBOX_PROFILE"),
                          str(path), allow_inline_secrets=True)
    elif profile in known_profiles():
        path = PROFILE_DIR / f"{profile}.yaml"
        data = _normalise(_read_yaml(path, f"create profiles/{profile}.yaml (copy profiles/dev.yaml)"), str(path),
                          allow_inline_secrets=False)
    else:
        raise ConfigError(f"unknown profile {profile!r}: choose one of {', '.join(known_profiles())} "
                          "(or set E2ET_CONFIG to a YAML file)")
    data.pop("legacy", None)
    data["profile"] = profile
    _apply_env(data, env)
    data.pop("legacy", None)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as e:
        raise _validation_error(e, profile, str(path)) from None
    if profile != "local" and not settings.regular.api_key:
        raise ConfigError(f"profile {profile}: the regular user's API key is missing: set E2ET_REGULAR_API_KEY "
                          "(or E2ET_REGULAR__API_KEY_FILE)")
    if profile != "local" and not settings.regular.username:
        raise ConfigError(f"profile {profile}: regular.username is missing: set it in {path} or E2ET_REGULAR_ID")
    if settings.kafka.security_protocol.startswith("SASL") and not (settings.kafka.sasl_username
                                                                    and settings.kafka.sasl_password):
        raise ConfigError(f"profile {profile}: kafka.security_protocol {settings.kafka.security_protocol} needs "
                          "kafka.sasl_username and a password: set E2ET_KAFKA__SASL_PASSWORD")
    return settings
