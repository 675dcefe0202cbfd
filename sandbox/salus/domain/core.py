"""What every Salus service module shares: the store, the bus, change notifications, lookups.

Why one object: the services stand in for separate Spring services that meet only through their
database rows and Kafka; here they meet through this core, so HTTP handlers, the ambassador, the
presence monitor and the event engine can never disagree about state.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sandbox.common.store import Store

from .. import topics
from ..context import SandboxContext
from .errors import NotFound

log = logging.getLogger("sandbox.domain")


class Core:
    def __init__(self, ctx: SandboxContext) -> None:
        self.ctx = ctx
        self.cfg = ctx.config
        self.store = Store(ctx.data_dir / "salus.sqlite")
        self._listeners: list[Callable[[str, str], None]] = []

    def subscribe(self, listener: Callable[[str, str], None]) -> None:
        """``listener(kind, tenant_id)`` after every change of ``kind`` (see ``interfaces.Domain``)."""
        self._listeners.append(listener)

    def changed(self, kind: str, tenant: str) -> None:
        for listener in list(self._listeners):
            try:
                listener(kind, tenant)
            except Exception:
                log.exception("listener failed on %s change", kind)

    def publish(self, topic: str, key: str, value: dict[str, Any], type_name: str) -> None:
        """One record with the Spring type id of ``type_name`` (no bus: nothing is sent)."""
        if self.ctx.bus is not None:
            self.ctx.bus.publish(topic, key, value, topics.TYPE_IDS.get(type_name))

    def must(self, kind: str, id_: str, tenant: str | None, what: str) -> dict[str, Any]:
        """The stored item, or 404 ``<what> not found: <id>`` (also when another tenant owns it)."""
        item = self.store.get(kind, id_)
        if item is None or (tenant is not None and item.get("tenantId") != tenant):
            raise NotFound(f"{what} not found: {id_}")
        return item

    def close(self) -> None:
        self.store.close()
