"""Leftovers of dead runs on a real deployment: traces named ``trc_e2et_<runid>_…`` that are still
queued or running. They are canceled (the API has no delete; terminal traces expire by TTL)."""
from __future__ import annotations

import datetime as dt
import logging

from ..http import ExchangeLog, Redactor
from ..run import RunContext, parse_run_id, run_id_time
from .files import read_status_store
from .gateway import TERMINAL, Gateway
from .settings import SidecarSettings

log = logging.getLogger("e2et.sidecar.janitor")


def cancel_stale_traces(s: SidecarSettings, run: RunContext, older_than: dt.timedelta, keep_runs: set[str],
                        dry_run: bool) -> dict[str, int]:
    counts = {"traces_canceled": 0}
    store = read_status_store(s.status_json) if s.status_json else None
    if not store:
        return counts
    now = dt.datetime.now(dt.UTC)
    stale = []
    for trace_id, item in store.items():
        rid = parse_run_id(trace_id.replace("trc_", "", 1))
        if not rid or rid == run.run_id or rid in keep_runs or item.get("state") in TERMINAL:
            continue
        if now - run_id_time(rid) < older_than or item.get("tenant_id") != s.tenant_a:
            continue
        stale.append(trace_id)
    if dry_run:
        return {"traces_canceled": len(stale)}
    gw = Gateway(s, ExchangeLog(Redactor(s.secrets())), run.http_timeout)
    try:
        for trace_id in stale:
            r = gw.call("DELETE", f"/v1/traces/{trace_id}", retry_429=True)
            if r.status_code == 202:
                counts["traces_canceled"] += 1
            log.info("janitor: cancel %s → %s", trace_id, r.status_code)
    finally:
        gw.close()
    return counts
