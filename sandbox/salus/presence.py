"""Presence monitor: every export period, one ``presence_monitor``/``connected`` UMF per expected
resource on ``telemetry.metrics.json`` (contract §7), 1 when an envoy is attached, else 0.

The real presence monitor publishes nothing else (no attach event); specs that want "the envoy is
connected" from presence must read these metrics.
"""
from __future__ import annotations

import json
import logging
import threading
from typing import Any

from . import faults as F
from . import topics
from .context import SandboxContext
from .domain.values import now_iso

log = logging.getLogger("sandbox.presence")


def presence_umf(resource: dict[str, Any], envoy_id: str | None, connected: bool, timestamp: str) -> dict[str, Any]:
    """The UMF the real ``MetricRouter`` builds for one expected resource (contract §7)."""
    tenant, rid = resource["tenantId"], resource["resourceId"]
    system = {"envoy_id": envoy_id, "resource_id": rid, "monitor_type": "presence"} if envoy_id else {}
    return {"tenantId": tenant, "accountType": "MANAGED_HOSTING", "device": f"{tenant}:{rid}",
            "deviceMetadata": dict(resource.get("labels") or {}), "monitoringSystem": "SALUS",
            "systemMetadata": system,
            "metrics": [{"timestamp": timestamp, "group": "presence_monitor", "name": "connected",
                         "int": "1" if connected else "0"}]}


class PresenceMonitor:
    """Periodic exporter thread; ``export_once()`` is the whole behaviour (tests call it directly)."""

    def __init__(self, ctx: SandboxContext) -> None:
        self.ctx = ctx
        self.exports = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="presence", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread; idempotent."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(3)

    def _run(self) -> None:
        # Export at once, then every period: a spec waiting for "connected=1" should not pay a
        # full period after the sandbox started.
        while True:
            try:
                self.export_once()
            except Exception:
                log.exception("presence export failed")
            if self._stop.wait(self.ctx.config.presence_export_period):
                return

    def export_once(self) -> int:
        """Publish one presence UMF per expected resource; returns how many were published."""
        domain, bus = self.ctx.domain, self.ctx.bus
        if domain is None or bus is None:
            return 0
        ts = now_iso()           # UTC, milliseconds, Z: how the real exporter's Instant renders
        zero = self.ctx.faults.active(F.PRESENCE_ZERO)
        stuck = self.ctx.faults.active(F.PRESENCE_STUCK)
        count = 0
        for r in domain.presence_resources():
            envoy_id = domain.active_envoy_id(r["tenantId"], r["resourceId"])
            if envoy_id is None and stuck:
                envoy_id = r.get("envoyId")          # the resource still names the envoy that left
            umf = presence_umf(r, envoy_id, connected=envoy_id is not None and not zero, timestamp=ts)
            # Pre-encoded string, keyed by tenant, exactly as PRES MetricRouter sends it.
            bus.publish(topics.METRICS, r["tenantId"], json.dumps(umf, separators=(",", ":")))
            count += 1
        self.exports += 1
        return count
