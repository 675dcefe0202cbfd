"""Typed views of what the Salus platform answers, as steps and fixtures pass them around.

Why typed: steps should read ``release.version``, not dig in raw JSON, and a token's secret value
must never reach a repr, a log line or an assertion message.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Release:
    """An agent release of the catalogue (contract §1.5)."""

    id: str
    type: str
    version: str
    url: str | None
    exe: str | None
    labels: dict[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def from_api(cls, body: dict[str, Any]) -> Release:
        return cls(str(body.get("id")), str(body.get("type")), str(body.get("version")), body.get("url"),
                   body.get("exe"), dict(body.get("labels") or {}))


@dataclass(frozen=True)
class Install:
    """An agent install: a release bound to the resources a label selector picks."""

    id: str
    release_id: str
    selector: dict[str, str]

    @classmethod
    def from_api(cls, body: dict[str, Any]) -> Install:
        return cls(str(body.get("id")), str(body.get("agentReleaseId") or ""), dict(body.get("labelSelector") or {}))


@dataclass(frozen=True)
class EnvoyToken:
    """An envoy token; its secret value is kept out of repr and comparisons."""

    id: str
    description: str
    tenant_id: str | None
    token: str = field(default="", repr=False, compare=False)

    @classmethod
    def from_api(cls, body: dict[str, Any]) -> EnvoyToken:
        return cls(str(body.get("id")), str(body.get("description") or ""),
                   None if body.get("tenantId") is None else str(body.get("tenantId")), str(body.get("token") or ""))


@dataclass
class Monitor:
    """A monitor this run created and the target it checks (so a step can heal the target)."""

    monitor_id: str
    host: str
    port: int
    metric_group: str
    resource_id: str
    extra: dict[str, Any] = field(default_factory=dict)
