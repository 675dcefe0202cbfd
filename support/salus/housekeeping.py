"""Housekeeping fixtures: what a dead run leaves in the dedicated tenant, and the janitor's sweep."""
from __future__ import annotations

import datetime as dt
import os
import time
from typing import TYPE_CHECKING, Any

from ..run import new_run_id
from .janitor import Janitor
from .monitors import local_monitor_body
from .tasks import failure_task

if TYPE_CHECKING:
    from .world import SalusWorld


class HousekeepingFixtures:
    """Mixed into ``Fixtures`` (``self.w.fixtures`` is the whole set)."""

    w: SalusWorld

    def resource(self, run_id: str | None = None, labels: dict[str, str] | None = None) -> str:
        """A resource without an envoy, named for this run (or as run ``run_id`` would name it)."""
        w = self.w
        rid = f"e2et-{run_id}-{os.urandom(3).hex()}" if run_id else w.run.names.resource_id()
        meta = w.run.stamp() if run_id is None else {"e2et-run-id": run_id}
        w.on_scenario(f"delete resource {rid}", lambda: w.resources.delete(rid))
        w.resources.create(rid, labels or {}, meta)
        return rid

    def stale_leftovers(self, resources: int) -> dict[str, list[str]]:
        """What a run that died two days ago would have left: resources (more than a page), a
        private zone, a monitor, an event task, an envoy token and an agent install — each named the
        way that run named them, each with a cleanup in case the janitor misses it.

        The monitor is local (no zone): parallel flows sweep each other's plants too (they look
        dead to every janitor), and a zone swept between its creation and its monitor's would fail
        the planting flow."""
        w = self.w
        dead = new_run_id(time.time() - 2 * 86400)
        ids = [self.resource(run_id=dead) for _ in range(resources)]
        zone = f"e2et_{dead}_{os.urandom(3).hex()}"
        w.on_scenario(f"delete stale zone {zone}", lambda: w.zones.delete(zone))
        w.zones.create_private(zone)
        monitor = w.monitors.create(local_monitor_body(f"e2et-{dead}-cpu-{os.urandom(3).hex()}", ids[0],
                                                       {"type": "cpu"}, w.settings.monitors.interval,
                                                       {"e2et-run-id": dead}))
        w.on_scenario(f"delete stale monitor {monitor['id']}", lambda: w.monitors.delete(monitor["id"]))
        task = w.tasks.create(failure_task(f"e2et-{dead}-task-{os.urandom(3).hex()}", "net_response",
                                           {"system_resource_id": ids[0]}, [], era=w.settings.events.format))
        w.on_scenario(f"delete stale task {task['id']}", lambda: w.tasks.delete(task["id"]))
        token = w.tokens.create(f"e2et-{dead}-token-{os.urandom(3).hex()}")
        w.on_scenario(f"delete stale envoy token {token['id']}", lambda: w.tokens.delete(token["id"]))
        install = w.installs.create(w.fixtures.telegraf_release().id, {f"agent_{w.run.names.label_key()}": ids[0]})
        w.on_scenario(f"delete stale install {install['id']}", lambda: w.installs.delete(install["id"]))
        return {"resources": ids, "zones": [zone], "monitors": [monitor["id"]], "event-tasks": [task["id"]],
                "envoy-tokens": [token["id"]], "agent-installs": [install["id"]]}

    def own_objects(self) -> dict[str, list[str]]:
        """A resource and an envoy token of this (live) run, which a janitor must leave alone."""
        return {"resources": [self.resource()], "envoy-tokens": [self.w.fixtures.envoy_token().id]}

    def remaining(self, objects: dict[str, list[str]]) -> dict[str, list[str]]:
        """Of ``objects`` (family → ids), those the tenant still holds — read back from the platform."""
        w = self.w
        listed: dict[str, Any] = {"resources": lambda: [r["resourceId"] for r in w.resources.list()],
                                  "zones": lambda: [z["name"] for z in w.zones.list()],
                                  "monitors": lambda: [m["id"] for m in w.monitors.list()],
                                  "event-tasks": lambda: [t["id"] for t in w.tasks.list()],
                                  "envoy-tokens": lambda: [t["id"] for t in w.tokens.list()],
                                  "agent-installs": lambda: [i["id"] for i in w.installs.list()]}
        out = {}
        for family, ids in objects.items():
            present = set(listed[family]())
            if left := [i for i in ids if i in present]:
                out[family] = left
        return out

    def clean_stale_objects(self) -> dict[str, int]:
        return Janitor(self.w).sweep(older_than=dt.timedelta(hours=6), keep_runs={self.w.run.run_id})
