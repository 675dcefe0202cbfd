"""Seams between the sandbox's components (one Protocol per collaborator).

The HTTP services, the ambassador, the presence monitor and the event engine each get the
collaborators they need through these Protocols, wired together in ``sandbox.salus.app``.
Entities are plain JSON-able dicts shaped exactly like the contract's DTOs (camelCase keys),
so what the HTTP layer returns and what the gRPC/Kafka side sees never drift apart.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class AttachedEnvoy:
    """An envoy currently attached to the ambassador (what etcd holds in the real system)."""

    envoy_id: str
    tenant_id: str
    resource_id: str
    zone: str | None            # private zone name, "public/..." for pollers, None for plain envoys
    labels: dict[str, str]      # already ``agent_``-prefixed
    address: str                # remote peer "ip:port"
    version: str = ""
    supported_agents: list[str] = field(default_factory=list)
    installed_agents: dict[str, str] = field(default_factory=dict)  # TYPE -> version confirmed sent


class Bus(Protocol):
    """Kafka producer for the sandbox (real broker, JSON values, Spring ``__TypeId__`` header)."""

    def publish(self, topic: str, key: str | None, value: dict[str, Any] | str,
                type_id: str | None = None) -> None:
        """Send one record; must not raise into callers when the broker is down (log instead)."""


class Domain(Protocol):
    """Business state and rules shared by HTTP routes, ambassador, presence and event engine.

    Thread-safe; persistence is SQLite under the sandbox's data dir.
    """

    # --- change notifications -------------------------------------------------------------
    def subscribe(self, listener: Callable[[str, str], None]) -> None:
        """``listener(kind, tenant_id)`` after a change; kinds: ``installs``, ``monitors``,
        ``resources``, ``tasks``, ``zones``. The ambassador uses it to push install/configure
        instructions to attached envoys (the Kafka hop ACM/MM→AMB of the real system)."""

    # --- envoy attachment registry (ambassador writes, others read) ----------------------
    def zone_exists_for(self, tenant_id: str, zone: str) -> bool:
        """Private zone of the tenant, or a public zone (``public/...``)."""

    def envoy_attached(self, envoy: AttachedEnvoy) -> dict[str, Any]:
        """Record the attach (agent-history entry, active envoy), create or update the resource
        exactly like RM's ``handleEnvoyAttach``; returns the ResourceDTO."""

    def envoy_detached(self, envoy_id: str) -> None:
        """Close the agent-history entry and forget the active envoy."""

    def attached_envoys(self) -> list[AttachedEnvoy]:
        ...

    def active_envoy_id(self, tenant_id: str, resource_id: str) -> str | None:
        """Envoy id currently attached for the resource, else None (presence uses this)."""

    # --- what the ambassador sends ----------------------------------------------------------
    def installs_for_resource(self, tenant_id: str, resource_id: str) -> list[dict[str, Any]]:
        """AgentInstallDTOs whose selector matches the resource labels; per agent type only the
        highest release version (ACM ``reconcileBinding``)."""

    def bound_monitors_for_envoy(self, envoy_id: str) -> list[dict[str, Any]]:
        """BoundMonitorDTOs (admin view, incl. ``tenantId``) this envoy must run: local monitors
        of its own resource, and remote monitors bound to the zone it polls."""

    # --- presence and event engine ------------------------------------------------------------
    def presence_resources(self) -> list[dict[str, Any]]:
        """All resources (admin view incl. ``tenantId``, ``labels``) with presenceMonitoringEnabled."""

    def tasks_for(self, tenant_id: str, metric_group: str) -> list[dict[str, Any]]:
        """EventEngineTaskDTOs (with ``tenantId``) of the tenant for the metric group."""

    def tenant_account_type(self, tenant_id: str) -> str | None:
        ...
