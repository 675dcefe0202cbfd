"""The ``salus:`` section of a profile: every Salus endpoint, user and timing the pack needs.

Profiles written before packs existed keep working unchanged: their top-level sections
(``tenant:``, ``public_api:``, ``kafka:`` …) and the earlier Go tool's keys (``public.api.url``,
``E2ET_REGULAR_API_KEY`` …, contract §8) are this pack's legacy aliases (``LEGACY`` below).
"""
from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, field_validator, model_validator

from ..durations import Seconds, go_duration
from ..kafka import KafkaSettings
from ..packs import Legacy, PackSettings


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


class SalusSettings(PackSettings):
    tenant: Tenant
    identity: Url
    regular: User
    admin: User | None = None
    public_api: Url
    admin_api: Url | None = None
    auth_service: Url
    ambassador: Ambassador
    kafka: KafkaSettings
    topics: Topics = Field(default_factory=Topics)
    events: Events = Field(default_factory=Events)
    presence: Presence = Field(default_factory=Presence)
    agent_release: AgentRelease = Field(default_factory=AgentRelease)
    envoy: Envoy = Field(default_factory=Envoy)
    zones: Zones = Field(default_factory=Zones)
    monitors: Monitors = Field(default_factory=Monitors)

    def has_admin(self) -> bool:
        a = self.admin
        return bool(a and a.username and (a.api_key or a.password) and self.admin_api)


#: Configuration written before packs existed (every existing Salus profile and the Go tool's keys).
LEGACY = Legacy(
    sections=frozenset(set(SalusSettings.model_fields)),
    keys={
        "tenant.id": ("tenant", "id"), "regular.id": ("regular", "username"), "admin.id": ("admin", "username"),
        "regular.api.key": ("regular", "api_key"), "admin.api.key": ("admin", "api_key"),
        "admin.password": ("admin", "password"), "public.api.url": ("public_api", "url"),
        "admin.api.url": ("admin_api", "url"), "identity.url": ("identity", "url"),
        "auth.url": ("auth_service", "url"), "ambassador.address": ("ambassador", "address"),
        "kafka.brokers": ("kafka", "brokers"), "event.topic": ("events", "topic"),
        "event.timeout": ("events", "timeout"), "cert.file": ("kafka", "ssl_certfile"),
        "key.file": ("kafka", "ssl_keyfile"), "ca.file": ("kafka", "ssl_cafile"), "cert.dir": ("kafka", "cert_dir"),
        "envoy.tarball.linux": ("envoy", "tarball_url_linux"), "envoy.tarball.darwin": ("envoy", "tarball_url_darwin"),
        "telegraf.version": ("agent_release", "version"), "mode": None,
    })
