"""Guarded removal of what dead e2et runs left behind in the dedicated tenant.

Only objects whose name (or ``e2et-run-id`` metadata) carries an e2et run id are candidates;
of those, only runs older than ``older_than`` and not in ``keep_runs`` are removed. Runs cannot be
asked whether they are alive, so age is the liveness rule: an e2et run never lasts hours.
Refuses to touch a tenant the profile does not mark as the dedicated e2et tenant.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from ..run import STAMP_KEY, parse_run_id, run_id_time

log = logging.getLogger("e2et.janitor")


class Janitor:
    def __init__(self, world: Any) -> None:
        self.w = world

    def _stale(self, run_id: str | None, cutoff: dt.datetime, keep: set[str]) -> bool:
        if not run_id or run_id in keep:
            return False
        try:
            return run_id_time(run_id) < cutoff
        except ValueError:
            return False

    def sweep(self, older_than: dt.timedelta, keep_runs: set[str], dry_run: bool = False) -> dict[str, int]:
        if not self.w.settings.tenant.dedicated:
            raise AssertionError(f"tenant {self.w.tenant_id} is not marked as the dedicated e2et tenant "
                                 "(tenant.dedicated: true): refusing to delete anything in it")
        cutoff = dt.datetime.now(dt.UTC) - older_than
        stale = lambda rid: self._stale(rid, cutoff, keep_runs)  # noqa: E731
        counts: dict[str, int] = {}

        def run_of(item: dict[str, Any], *names: str) -> str | None:
            meta = item.get("metadata") or {}
            return meta.get(STAMP_KEY) or next((parse_run_id(str(item.get(n) or "")) for n in names
                                                if parse_run_id(str(item.get(n) or ""))), None)

        def remove(kind: str, items: list[dict[str, Any]], key: str, delete: Any, *names: str) -> None:
            victims = [i for i in items if stale(run_of(i, *names))]
            for v in victims:
                if not dry_run:
                    delete(v[key])
            counts[kind] = len(victims)

        w = self.w
        remove("monitors", [m for m in w.monitors.list() if not m.get("policy")], "id", w.monitors.delete,
               "name", "resourceId")
        remove("tasks", w.tasks.list(), "id", w.tasks.delete, "name")
        installs = [{**i, "sel": " ".join((i.get("labelSelector") or {}).values())} for i in w.installs.list()]
        remove("installs", installs, "id", w.installs.delete, "sel")
        remove("envoy_tokens", w.tokens.list(), "id", w.tokens.delete, "description")
        if dry_run:
            remove("resources", w.resources.list(), "resourceId", lambda _: None, "resourceId")
        else:
            counts["resources"] = len(w.resources.drain(lambda r: stale(run_of(r, "resourceId"))))
        remove("zones", [z for z in w.zones.list() if not z.get("public")], "name", w.zones.delete, "name")
        if w.policies is not None:
            remove("policies", w.policies.policies(), "id", w.policies.delete_policy, "name")
            remove("templates", w.policies.templates(), "id", w.policies.delete_template, "name")
        log.info("janitor %s: %s", "would remove" if dry_run else "removed", counts)
        return counts
