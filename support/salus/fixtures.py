"""Run objects of the Salus pack: created on first use, every cleanup registered at creation.

A scenario asks for what it needs ("a private zone for this run", "an envoy running the telegraf
agent"); run-scoped objects are cached, scenario-scoped ones undone when the scenario ends, and
nothing relies on another scenario having run first. Every cleanup that deletes an object whose
id only the server knows finds it by its run-scoped name, so an interrupt between a create and
its response leaks nothing.
"""
from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..net import TcpListener, closed_port, port_is_closed
from ..run import new_run_id
from ..waiting import poll
from .catalog import Catalog, best_release, platform_labels
from .envoy import EnvoyProcess
from .janitor import Janitor
from .models import EnvoyToken, Install, Monitor, Release
from .monitors import net_response_plugin, remote_monitor_body
from .tasks import failure_task

if TYPE_CHECKING:
    from .world import SalusWorld


def delete_named(items: Callable[[], list[dict[str, Any]]], matches: Callable[[dict[str, Any]], bool],
                 delete: Callable[[str], None], key: str = "id") -> Callable[[], None]:
    """A cleanup registered *before* a create: it finds the object by its run-scoped name."""
    def run() -> None:
        for item in items():
            if matches(item):
                delete(item[key])
    return run


class Fixtures:
    def __init__(self, world: SalusWorld) -> None:
        self.w = world

    def _push(self, scope: str) -> Callable[[str, Callable[[], object]], None]:
        return self.w.on_scenario if scope == "scenario" else self.w.on_run

    # ------------------------------------------------------------------ agent catalog
    def telegraf_release(self) -> Release:
        return self.w.once("release", self._find_or_create_release)

    def _find_or_create_release(self) -> Release:
        w = self.w
        os_, arch = platform_labels()
        wanted = w.settings.agent_release
        found = best_release(w.catalog.releases(wanted.type), wanted.type, os_, arch)
        if found:
            return Release.from_api(found)
        if not (w.admin and wanted.url and wanted.version):
            raise AssertionError(f"no valid {wanted.type} release for {os_}/{arch} in the agent catalog, and the "
                                 "profile cannot create one (needs admin credentials and agent_release.url/version)")
        return Release.from_api(w.catalog.create_release(w.admin, Catalog.release_body(
            wanted.type, wanted.version, wanted.url, wanted.exe, os_, arch)))

    # ------------------------------------------------------------------ zones
    def public_zone(self) -> str:
        zone = self.w.settings.zones.public
        if not zone:
            raise AssertionError("the profile names no public zone (zones.public)")
        return zone

    def private_zone(self, purpose: str = "envoys") -> str:
        """A run-scoped private zone. The monitoring envoy polls a zone of its own, so the platform
        can only bind this run's remote monitors to the envoy that runs the agent (a real MM picks
        any envoy attached to the zone as poller)."""
        def make() -> str:
            name = self.w.run.names.private_zone()
            self.w.on_run(f"delete zone {name}", lambda: self.w.zones.delete(name))
            self.w.zones.create_private(name)
            return name
        return self.w.once(f"private_zone:{purpose}", make)

    # ------------------------------------------------------------------ envoy tokens
    def envoy_token(self) -> EnvoyToken:
        w = self.w
        name = w.run.names.name("token")
        w.on_scenario(f"delete envoy token {name}", delete_named(
            w.tokens.list, lambda t: t.get("description") == name, w.tokens.delete))
        return EnvoyToken.from_api(w.tokens.create(name))

    # ------------------------------------------------------------------ housekeeping
    def resource(self, run_id: str | None = None) -> str:
        w = self.w
        rid = f"e2et-{run_id}-{os.urandom(3).hex()}" if run_id else w.run.names.resource_id()
        meta = w.run.stamp() if run_id is None else {"e2et-run-id": run_id}
        w.on_scenario(f"delete resource {rid}", lambda: w.resources.delete(rid))
        w.resources.create(rid, {}, meta)
        return rid

    def stale_resources(self, count: int) -> list[str]:
        """Resources as a run that died two days ago would have left them."""
        dead_run = new_run_id(time.time() - 2 * 86400)
        return [self.resource(run_id=dead_run) for _ in range(count)]

    def clean_stale_objects(self) -> dict[str, int]:
        return Janitor(self.w).sweep(older_than=dt.timedelta(hours=6), keep_runs={self.w.run.run_id})

    # ------------------------------------------------------------------ envoys and installs
    def envoy(self, zone: str | None, scope: str = "scenario") -> EnvoyProcess:
        """An envoy child process for a new run-scoped resource, attached with its own token."""
        w = self.w
        rid = w.run.names.resource_id()
        push = self._push(scope)
        description = f"envoy for {rid}"
        push(f"delete resource {rid}", lambda: w.resources.delete(rid))
        push(f"delete envoy token of {rid}", delete_named(
            w.tokens.list, lambda t: t.get("description") == description, w.tokens.delete))
        token = w.tokens.create(description)
        envoy = EnvoyProcess(w.settings, w.run.temp_dir("envoy"), rid, zone, token["token"],
                             labels={w.run.names.label_key(): rid})
        push(f"stop envoy {rid}", envoy.stop)
        w.envoys.append(envoy)
        envoy.start()
        return envoy

    def resource_selector(self, envoy: EnvoyProcess) -> dict[str, str]:
        """A label selector matching only this envoy's resource: its run-scoped envoy label
        (the ambassador prefixes envoy labels with ``agent_``), valued with the resource id."""
        return {f"agent_{self.w.run.names.label_key()}": envoy.resource_id}

    def install(self, envoy: EnvoyProcess, scope: str = "scenario") -> Install:
        w = self.w
        release = self.telegraf_release()
        selector = self.resource_selector(envoy)
        self._push(scope)(f"delete agent install for {envoy.resource_id}", delete_named(
            w.installs.list, lambda i: i.get("labelSelector") == selector, w.installs.delete))
        return Install.from_api(w.installs.create(release.id, selector))

    def monitoring_envoy(self) -> EnvoyProcess:
        """One envoy per run with the telegraf agent installed, polling this run's private zone."""
        def make() -> EnvoyProcess:
            envoy = self.envoy(self.private_zone("poller"), scope="run")
            self.w.expect.attached(envoy)
            self.install(envoy, scope="run")
            self.w.expect.agent_binary(envoy, self.telegraf_release())
            return envoy
        return self.w.once("monitoring_envoy", make)

    # ------------------------------------------------------------------ event tasks and monitors
    def event_task(self, metric_group: str) -> dict[str, Any]:
        w = self.w

        def make() -> dict[str, Any]:
            rid = self.monitoring_envoy().resource_id
            name = w.run.names.name(f"task-{metric_group}")
            w.on_run(f"delete task {name}", delete_named(w.tasks.list, lambda t: t.get("name") == name,
                                                         w.tasks.delete))
            return w.tasks.create(failure_task(name, metric_group, {"system_resource_id": rid},
                                               ["system_monitor_id"], era=w.settings.events.format))
        return w.once(f"task:{metric_group}", make)

    def _closed_target(self) -> tuple[str, int]:
        host = self.w.settings.monitors.probe_host
        port = closed_port(host)
        assert port_is_closed(host, port), f"{host}:{port} should be closed"
        return host, port

    def tcp_monitor_on_closed_port(self) -> Monitor:
        w = self.w
        envoy = self.monitoring_envoy()
        host, port = self._closed_target()
        name = w.run.names.name("tcp")
        w.on_scenario(f"delete monitor {name}", delete_named(
            w.monitors.list, lambda m: m.get("name") == name and not m.get("policy"), w.monitors.delete))
        m = w.monitors.create(remote_monitor_body(name, envoy.resource_id, [self.private_zone("poller")],
                                                  net_response_plugin(host, port), w.settings.monitors.interval,
                                                  w.run.stamp()))
        return Monitor(m["id"], host, port, "net_response", envoy.resource_id)

    def http_policy_monitor_on_closed_port(self) -> Monitor:
        w = self.w
        pol = w.policies
        if pol is None:
            raise AssertionError("account-type policy monitors need admin credentials in the profile")
        envoy = self.monitoring_envoy()
        account = pol.account_type(w.tenant_id)
        if account is None:
            account = w.settings.tenant.account_type
            pol.set_account_type(w.tenant_id, account)
        host, port = self._closed_target()
        name = w.run.names.name("policy-http")
        w.on_scenario(f"delete monitor template {name}", delete_named(
            pol.templates, lambda t: t.get("name") == name, pol.delete_template))
        w.on_scenario(f"delete policy {name}", delete_named(
            pol.policies, lambda p: p.get("name") == name, pol.delete_policy))
        # Real MM refuses a template naming a resourceId (it is cloned into many tenants): select
        # this run's resource by its unique envoy label instead.
        selector = self.resource_selector(envoy)
        template = pol.create_template(pol.template_body(name, selector, [self.public_zone()],
                                                         f"http://{host}:{port}/", w.settings.monitors.interval,
                                                         w.run.stamp()))
        policy = pol.create_account_policy(name, account, template["id"])

        def clone() -> dict[str, Any] | None:
            return next((m for m in w.monitors.list() if m.get("policy") and m.get("name") == name
                         and m.get("labelSelector") == selector), None)
        m = poll(clone, 15, f"policy monitor {name} applied to tenant {w.tenant_id} (account type {account})")
        return Monitor(m["id"], host, port, "http_response", envoy.resource_id, {"policy_id": policy["id"]})

    def open_target(self, monitor: Monitor) -> None:
        listener = TcpListener(monitor.host, monitor.port)
        self.w.on_scenario(f"close listener {monitor.port}", listener.close)
