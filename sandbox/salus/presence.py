"""Presence monitor: every export period, one ``presence_monitor``/``connected`` UMF per expected
resource on ``telemetry.metrics.json`` (contract §7), 1 when an envoy is attached, else 0."""
from __future__ import annotations

import datetime as dt
import json
import logging
import threading

from . import faults as F
from . import topics
from .context import SandboxContext

log = logging.getLogger("sandbox.presence")


class PresenceMonitor:
    def __init__(self, ctx: SandboxContext) -> None:
        self.ctx = ctx
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="presence", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(3)

    def _run(self) -> None:
        period = self.ctx.config.presence_export_period
        while not self._stop.wait(period):
            try:
                self.export_once()
            except Exception:
                log.exception("presence export failed")

    def export_once(self) -> int:
        ts = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        zero = self.ctx.faults.active(F.PRESENCE_ZERO)
        count = 0
        for r in self.ctx.domain.presence_resources():
            tenant, rid = r["tenantId"], r["resourceId"]
            envoy_id = self.ctx.domain.active_envoy_id(tenant, rid)
            connected = 0 if zero or envoy_id is None else 1
            umf = {"tenantId": tenant, "accountType": "MANAGED_HOSTING", "device": f"{tenant}:{rid}",
                   "deviceMetadata": r.get("labels") or {}, "monitoringSystem": "SALUS",
                   "systemMetadata": ({"envoy_id": envoy_id, "resource_id": rid, "monitor_type": "presence"}
                                      if envoy_id else {}),
                   "metrics": [{"timestamp": ts, "group": "presence_monitor", "name": "connected",
                                "int": str(connected)}]}
            self.ctx.bus.publish(topics.METRICS, tenant, json.dumps(umf, separators=(",", ":")))
            count += 1
        return count
