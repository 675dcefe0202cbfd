"""Guarded removal of what dead e2et runs left behind in the dedicated tenant.

Only objects whose name (or ``e2et-run-id`` metadata) carries an e2et run id are candidates;
of those, only runs older than ``older_than`` and not in ``keep_runs`` are removed. Runs cannot be
asked whether they are alive, so age is the liveness rule: an e2et run never lasts hours.
Refuses to touch a tenant the profile does not mark as the dedicated e2et tenant.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from ..run import STAMP_KEY, parse_run_id, run_id_time
from .deletes import delete_all_verified, send_delete

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
        """Remove (or with ``dry_run`` only count) what dead runs left; returns counts per kind.

        Every family is read back after its deletes: leftovers a DELETE answered 204 for but left
        behind raise one ``AssertionError`` naming each family and its surviving ids, after every
        family had its turn (one stuck family must not shield the others)."""
        if not self.w.settings.tenant.dedicated:
            raise AssertionError(f"tenant {self.w.tenant_id} is not marked as the dedicated e2et tenant "
                                 "(tenant.dedicated: true): refusing to delete anything in it")
        cutoff = dt.datetime.now(dt.UTC) - older_than
        stale = lambda rid: self._stale(rid, cutoff, keep_runs)  # noqa: E731
        counts: dict[str, int] = {}
        defects: list[str] = []

        def run_of(item: dict[str, Any], *names: str) -> str | None:
            meta = item.get("metadata") or {}
            return meta.get(STAMP_KEY) or next((parse_run_id(str(item.get(n) or "")) for n in names
                                                if parse_run_id(str(item.get(n) or ""))), None)

        def remove(kind: str, family: str, listed: Callable[[], list[dict[str, Any]]], key: str,
                   send: Callable[[str], object], *names: str) -> None:
            victims = [str(i[key]) for i in listed() if stale(run_of(i, *names))]
            counts[kind] = len(victims)
            if dry_run or not victims:
                return
            try:
                delete_all_verified(family, victims, send,
                                    lambda ids: [str(i[key]) for i in listed() if str(i[key]) in set(ids)])
            except AssertionError as e:
                defects.append(str(e))

        w = self.w
        tenant_send = lambda client, prefix: lambda ident: client.send_delete(f"{prefix}/{ident}")  # noqa: E731
        remove("monitors", "monitors", lambda: [m for m in w.monitors.list() if not m.get("policy")], "id",
               tenant_send(w.monitors, "monitors"), "name", "resourceId")
        remove("tasks", "event-tasks", w.tasks.list, "id", tenant_send(w.tasks, "event-tasks"), "name")
        installs = lambda: [{**i, "sel": " ".join((i.get("labelSelector") or {}).values())}  # noqa: E731
                            for i in w.installs.list()]
        remove("installs", "agent-installs", installs, "id", tenant_send(w.installs, "agent-installs"), "sel")
        remove("envoy_tokens", "envoy-tokens", w.tokens.list, "id", tenant_send(w.tokens, "envoy-tokens"),
               "description")
        if dry_run:
            counts["resources"] = sum(1 for r in w.resources.list() if stale(run_of(r, "resourceId")))
        else:
            try:
                counts["resources"] = len(w.resources.drain(lambda r: stale(run_of(r, "resourceId"))))
            except AssertionError as e:
                defects.append(str(e))
        remove("zones", "zones", lambda: [z for z in w.zones.list() if not z.get("public")], "name",
               tenant_send(w.zones, "zones"), "name")
        if w.policies is not None:
            pol = w.policies
            remove("policies", "monitor policies", pol.policies, "id",
                   lambda i: send_delete(pol.api, f"api/policies/monitors/{i}"), "name")
            remove("templates", "monitor-templates", pol.templates, "id",
                   lambda i: send_delete(pol.api, f"api/monitor-templates/{i}"), "name")
        log.info("janitor %s: %s", "would remove" if dry_run else "removed", counts)
        if defects:
            raise AssertionError("janitor: " + "; ".join(defects))
        return counts
