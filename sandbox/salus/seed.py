"""Seed a fresh sandbox the way a real region looks: a catalog spanning pages, public zones,
a poller tenant's install, and a second tenant with data of its own (to catch isolation leaks).
Idempotent: a restarted sandbox with the same data dir is left as it is."""
from __future__ import annotations

import contextlib
import platform
from collections.abc import Callable
from typing import Any

from .context import SandboxContext
from .domain import AlreadyExists, SalusDomain


def goarch() -> str:
    """This machine's architecture in Go's naming (what a real envoy reports)."""
    m = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(m, m)


def seed(domain: SalusDomain, ctx: SandboxContext, release_url_for: Callable[[str, str, str], str]) -> None:
    cfg = ctx.config
    if domain.store.get("seed", "done"):
        return
    arch = goarch()
    # decoys download from the sandbox's own server too (a 404 there): a seeded URL must never
    # make an envoy resolve or reach a host off loopback
    downloads = ctx.urls.get("downloads") or f"http://{cfg.host}"
    for z in cfg.public_zones:
        with contextlib.suppress(AlreadyExists):
            domain.zones.create_public(z.model_dump())
    with contextlib.suppress(AlreadyExists):
        domain.tenants.upsert(cfg.tenant_id, {"accountType": cfg.account_type}, create=True)

    def release(agent_type: str, version: str, os_: str, arch_: str, url: str | None = None) -> dict[str, Any]:
        return domain.releases.create({
            "type": agent_type, "version": version,
            "labels": {"agent_discovered_os": os_, "agent_discovered_arch": arch_},
            "url": url or f"{downloads}/releases/missing/{agent_type.lower()}-{version}-{os_}-{arch_}.tar.gz",
            "exe": "./telegraf/telegraf" if agent_type == "TELEGRAF" else f"./{agent_type.lower()}/bin/agent"})

    # decoys: other types and platforms, one with a higher version than the valid one
    for i in range(30):
        release("FILEBEAT", f"7.{i}.0", "linux", arch)
    for os_, arch_ in (("windows", "amd64"), ("darwin", "amd64"), ("linux", "386")):
        for v in ("1.12.0", "1.14.0", "1.20.0"):
            release("TELEGRAF", v, os_, arch_)
    release("TELEGRAF", "1.12.0", "linux", arch, release_url_for("TELEGRAF", "1.12.0", f"linux-{arch}"))
    current = release("TELEGRAF", "1.13.2", "linux", arch, release_url_for("TELEGRAF", "1.13.2", f"linux-{arch}"))

    # the public poller's own install (ops set these up in a real region)
    domain.installs.create(cfg.public_zone_tenant, {"agentReleaseId": current["id"], "labelSelector": {}})

    # another tenant with data of its own
    other = cfg.other_tenant_id
    domain.zones.create_private(other, {"name": "other_tenant_zone"})
    domain.resources.create(other, {"resourceId": "other-tenant-server", "presenceMonitoringEnabled": False,
                                   "labels": {"env": "other"}})
    domain.tokens.create(other, "other tenant's envoy")
    domain.monitors.create(other, {"name": "other tenant ping", "resourceId": "other-tenant-server",
                                  "interval": "PT1M", "details": {"type": "local", "plugin": {"type": "cpu"}}})
    # ... and a remote check in the public zone, so the region's poller is never idle (a real one runs
    # many tenants' checks): a monitor added to it must reload a running agent, not start a fresh one
    domain.monitors.create(other, {"name": "other tenant site", "resourceId": "other-tenant-server",
                                  "interval": "PT30S", "details": {"type": "remote", "monitoringZones": [
                                      cfg.public_zones[0].name], "plugin": {"type": "http", "url": f"{downloads}/"}}})
    domain.store.put("seed", "done", None, {"done": True})
