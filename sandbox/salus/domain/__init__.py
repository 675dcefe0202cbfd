"""Business state and rules of the Salus sandbox: one service object per API family of the real
services, composed by the thin ``SalusDomain`` facade.

Entities are dicts shaped like the contract's DTOs; every rule cites the real service it stands in
for. HTTP handlers use the services (``domain.zones``, ``domain.monitors``, ...); the ambassador,
the presence monitor and the event engine use the facade's ``interfaces.Domain`` methods. All of
them share one :class:`~.core.Core` (store, bus, change listeners), so they can never disagree
about state.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..context import SandboxContext
from ..interfaces import AttachedEnvoy
from .attachments import Attachments, EnvoyRegistry
from .bindings import Bindings
from .catalog import Installs, Releases
from .core import Core
from .errors import AlreadyExists, BadRequest, DeletionNotAllowed, DomainError, NotFound, validation_failed
from .identity import ADMIN_ROLE, Identity
from .monitors import Monitors
from .policies import Policies
from .resources import Resources
from .tasks import Tasks
from .tenants import PresencePartitions, TenantMetadata
from .tokens import EnvoyTokens
from .values import duration_seconds, iso_duration, now_iso
from .zones import Zones

__all__ = ["ADMIN_ROLE", "AlreadyExists", "BadRequest", "DeletionNotAllowed", "DomainError", "NotFound",
           "SalusDomain", "duration_seconds", "iso_duration", "now_iso", "validation_failed"]


class SalusDomain:
    """The services wired together (constructor order = dependency order), plus the seam the
    ambassador, presence monitor and event engine use (``interfaces.Domain``)."""

    def __init__(self, ctx: SandboxContext) -> None:
        self.ctx = ctx
        self.core = core = Core(ctx)
        self.store = core.store
        self.identity = Identity(core)
        self.zones = Zones(core)
        self.tokens = EnvoyTokens(core)
        self.releases = Releases(core)
        self.registry = EnvoyRegistry()
        self.bindings = Bindings(core, self.registry)
        self.resources = Resources(core, rebind=self.bindings.rebind)
        self.installs = Installs(core, self.resources)
        self.attachments = Attachments(core, self.registry, self.resources, self.installs,
                                       rebind=self.bindings.rebind)
        self.monitors = Monitors(core, zone_exists=self.zones.exists_for, rebind=self.bindings.rebind)
        self.tasks = Tasks(core)
        self.tenants = TenantMetadata(core, on_change=lambda tenant: self.policies.apply(tenant))
        self.policies = Policies(core, self.monitors, self.tenants)
        self.partitions = PresencePartitions(core)

    def close(self) -> None:
        self.core.close()

    def delete_tenant(self, tenant: str) -> None:
        """The admin fan-out (API ``CrossServiceController``): every service drops the tenant's data,
        emitting the same events as one-by-one deletes would."""
        self.installs.drop_tenant(tenant)
        self.tokens.drop_tenant(tenant)
        self.tasks.drop_tenant(tenant)
        self.monitors.drop_tenant(tenant)
        for r in self.store.list("resource", tenant):
            self.resources.delete(tenant, r["resourceId"])
        self.attachments.drop_tenant(tenant)
        self.zones.drop_tenant(tenant)
        self.policies.drop_tenant(tenant)
        self.store.delete("tenant_meta", tenant)
        self.core.changed("zones", tenant)

    # ------------------------------------------------------------------ interfaces.Domain
    def subscribe(self, listener: Callable[[str, str], None]) -> None:
        self.core.subscribe(listener)

    def zone_exists_for(self, tenant_id: str, zone: str) -> bool:
        return self.zones.exists_for(tenant_id, zone)

    def envoy_attached(self, envoy: AttachedEnvoy) -> dict[str, Any]:
        return self.attachments.attached(envoy)

    def envoy_detached(self, envoy_id: str) -> None:
        self.attachments.detached(envoy_id)

    def attached_envoys(self) -> list[AttachedEnvoy]:
        return self.registry.all()

    def active_envoy_id(self, tenant_id: str, resource_id: str) -> str | None:
        return self.registry.active_envoy_id(tenant_id, resource_id)

    def installs_for_resource(self, tenant_id: str, resource_id: str) -> list[dict[str, Any]]:
        return self.installs.for_resource(tenant_id, resource_id)

    def bound_monitors_for_envoy(self, envoy_id: str) -> list[dict[str, Any]]:
        return self.bindings.for_envoy(envoy_id)

    def resource_labels(self, tenant_id: str, resource_id: str) -> dict[str, str]:
        return self.resources.labels_of(tenant_id, resource_id)

    def presence_resources(self) -> list[dict[str, Any]]:
        return self.resources.presence_resources()

    def tasks_for(self, tenant_id: str, metric_group: str) -> list[dict[str, Any]]:
        return self.tasks.for_metric_group(tenant_id, metric_group)

    def tenant_account_type(self, tenant_id: str) -> str | None:
        return self.tenants.account_type(tenant_id)
