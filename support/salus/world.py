"""Run-scoped fixtures of the Salus pack: what the steps need, created lazily, cleaned up always.

A scenario asks the world for what it needs ("a private zone for this run", "an envoy running
the telegraf agent"); the world creates it on first use, caches what is run-scoped, registers
every cleanup at creation time, and never relies on another scenario having run first.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import time
from dataclasses import dataclass, field
from collections.abc import Callable
from typing import Any, TypeVar

from ..errors import WaitTimeout
from ..http import ApiClient
from ..kafka import Expectation, TopicWatcher
from ..net import TcpListener, closed_port, port_is_closed
from ..run import CleanupStack, RunContext, new_run_id
from ..waiting import poll
from ..world import Attachment, BaseWorld
from ..world import world_of as _world_of
from . import events
from .catalog import Catalog, best_release, platform_labels
from .envoy import EnvoyProcess
from .history import History
from .identity import Identity
from .installs import Installs
from .janitor import Janitor
from .monitors import Monitors
from .policies import Policies
from .resources import Resources
from .settings import SalusSettings
from .tasks import Tasks, failure_task
from .tokens import EnvoyTokens
from .zones import Zones

log = logging.getLogger("e2et.salus")
T = TypeVar("T")


def world_of(context: Any) -> SalusWorld:
    """The Salus world of this run (created on first use), bound to the current scenario."""
    return _world_of(context, "salus")


@dataclass
class Monitor:
    """A monitor this run created and the target it checks (so a step can heal the target)."""

    monitor_id: str
    host: str
    port: int
    metric_group: str
    resource_id: str
    extra: dict[str, Any] = field(default_factory=dict)


class SalusWorld(BaseWorld):
    settings: SalusSettings

    def __init__(self, settings: SalusSettings, run: RunContext, run_cleanup: CleanupStack | None = None) -> None:
        super().__init__(settings, run, run_cleanup)
        self.tenant_id = settings.tenant.id
        timeout = run.http_timeout
        self.identity = Identity(str(settings.identity.url), timeout, self.exchanges)
        self.public = ApiClient(str(settings.public_api.url), timeout, self.exchanges,
                                token=lambda: self.token("regular"), service="public API",
                                setting="salus.public_api.url")
        self.admin = (ApiClient(str(settings.admin_api.url), timeout, self.exchanges,
                                token=lambda: self.token("admin"), service="admin API", setting="salus.admin_api.url")
                      if settings.has_admin() and settings.admin_api else None)
        t = self.tenant_id
        self.catalog, self.installs = Catalog(self.public, t), Installs(self.public, t)
        self.zones, self.resources = Zones(self.public, t, self.admin), Resources(self.public, t)
        self.monitors, self.tasks = Monitors(self.public, t), Tasks(self.public, t)
        self.tokens, self.history = EnvoyTokens(self.public, t), History(self.public, t)
        self.policies = Policies(self.admin) if self.admin else None
        self.envoys: list[EnvoyProcess] = []
        self.watchers: list[TopicWatcher] = []

    # ------------------------------------------------------------------ scoping
    def _scenario(self, name: str, action: Callable[[], object]) -> None:
        self.on_scenario(name, action)

    def _delete_named(self, items: Callable[[], list[dict[str, Any]]], matches: Callable[[dict[str, Any]], bool],
                      delete: Callable[[str], None], key: str = "id") -> Callable[[], None]:
        """A cleanup registered *before* a create whose id only the server knows: it finds the
        object by its run-scoped name, so an interrupt between create and response leaks nothing."""
        def run() -> None:
            for item in items():
                if matches(item):
                    delete(item[key])
        return run

    def _once(self, key: str, make: Callable[[], T]) -> T:
        return self.once(key, make)

    def close(self) -> None:
        super().close()
        for w in self.watchers:
            w.close()
        for envoy in self.envoys:
            envoy.stop()
        for c in (self.public, self.admin, self.identity.api):
            if c is not None:
                c.close()

    # ------------------------------------------------------------------ evidence
    def mark(self) -> Any:
        return (super().mark(), len(self.watchers), len(self.envoys))

    def evidence(self, mark: Any) -> list[Attachment]:
        http_mark, n_watch, n_env = mark if isinstance(mark, tuple) else (None, 0, 0)
        out = super().evidence(http_mark)
        from .evidence import envoy_evidence, watcher_evidence
        for w in self.watchers[n_watch:]:
            out.append(watcher_evidence(w, self.tenant_id))
        # envoys started in this scenario, plus earlier (run-scoped) ones still running that it may have used
        used = self.envoys[n_env:] + [e for e in self.envoys[:n_env] if e.alive()]
        for envoy in used:
            out += envoy_evidence(envoy)
        return out

    # ------------------------------------------------------------------ identity
    def token(self, who: str) -> str:
        user = self.settings.regular if who == "regular" else self.settings.admin
        if user is None:
            raise AssertionError(f"the profile has no {who} user")
        secret = lambda s: s.get_secret_value() if s else None  # noqa: E731
        return self.identity.token(user.username, api_key=secret(user.api_key), password=secret(user.password))

    def sign_in(self, who: str) -> str:
        return self.token(who)

    def assert_token_accepted(self, who: str) -> None:
        if who == "regular":
            self.public.get(f"tenant/{self.tenant_id}/agent-releases", params={"size": 1}, expect=(200,),
                            what="the regular user's token is refused by the public API")
        else:
            self.admin.get("api/agent-releases", params={"size": 1}, expect=(200,),
                           what="the admin user's token is refused by the admin API")

    # ------------------------------------------------------------------ agent catalog
    def telegraf_release(self) -> dict[str, Any]:
        return self._once("release", self._find_or_create_release)

    def _find_or_create_release(self) -> dict[str, Any]:
        os_, arch = platform_labels()
        wanted = self.settings.agent_release
        found = best_release(self.catalog.releases(wanted.type), wanted.type, os_, arch)
        if found:
            return found
        if not (self.admin and wanted.url and wanted.version):
            raise AssertionError(f"no valid {wanted.type} release for {os_}/{arch} in the agent catalog, and the "
                                 "profile cannot create one (needs admin credentials and agent_release.url/version)")
        return self.catalog.create_release(self.admin, Catalog.release_body(
            wanted.type, wanted.version, wanted.url, wanted.exe, os_, arch))

    # ------------------------------------------------------------------ zones
    def public_zone(self) -> str:
        return self.settings.zones.public

    def private_zone(self, purpose: str = "envoys") -> str:
        """A run-scoped private zone. The monitoring envoy polls a zone of its own, so the platform
        can only bind this run's remote monitors to the envoy that runs the agent (a real MM picks
        any envoy attached to the zone as poller)."""
        def make() -> str:
            name = self.run.names.private_zone()
            self.run_cleanup.push(f"delete zone {name}", lambda: self.zones.delete(name))
            self.zones.create_private(name)
            return name
        return self._once(f"private_zone:{purpose}", make)

    def zone_names(self) -> list[str]:
        return [z.get("name") for z in self.zones.list()]

    # ------------------------------------------------------------------ envoy tokens, isolation
    def new_envoy_token(self) -> dict[str, Any]:
        name = self.run.names.name("token")
        self._scenario(f"delete envoy token {name}", self._delete_named(
            self.tokens.list, lambda t: t.get("description") == name, self.tokens.delete))
        return self.tokens.create(name)

    def envoy_tokens(self) -> list[dict[str, Any]]:
        return self.tokens.list()

    # ------------------------------------------------------------------ housekeeping
    def new_resource(self, run_id: str | None = None) -> str:
        rid = f"e2et-{run_id}-{os.urandom(3).hex()}" if run_id else self.run.names.resource_id()
        meta = self.run.stamp() if run_id is None else {"e2et-run-id": run_id}
        self._scenario(f"delete resource {rid}", lambda: self.resources.delete(rid))
        self.resources.create(rid, {}, meta)
        return rid

    def plant_stale_resources(self, count: int) -> list[str]:
        dead_run = new_run_id(time.time() - 2 * 86400)
        return [self.new_resource(run_id=dead_run) for _ in range(count)]

    def clean_stale_objects(self) -> dict[str, int]:
        return Janitor(self).sweep(older_than=dt.timedelta(hours=6), keep_runs={self.run.run_id})

    def existing_resource_ids(self, ids: list[str]) -> list[str]:
        present = {r["resourceId"] for r in self.resources.list()}
        return [i for i in ids if i in present]

    # ------------------------------------------------------------------ Kafka
    def watch(self, kind: str) -> TopicWatcher:
        w = events.watcher(self.settings, kind, self.tenant_id, connect_timeout=self.run.http_timeout)
        w.start()
        self.watchers.append(w)
        self._scenario(f"close {kind} watcher", w.close)
        return w

    # ------------------------------------------------------------------ envoys
    def start_envoy(self, zone: str | None, scope: str = "scenario") -> EnvoyProcess:
        rid = self.run.names.resource_id()
        push = self._scenario if scope == "scenario" else self.run_cleanup.push
        description = f"envoy for {rid}"
        push(f"delete resource {rid}", lambda: self.resources.delete(rid))
        push(f"delete envoy token of {rid}", self._delete_named(
            self.tokens.list, lambda t: t.get("description") == description, self.tokens.delete))
        token = self.tokens.create(description)
        envoy = EnvoyProcess(self.settings, self.run.temp_dir("envoy"), rid, zone, token["token"],
                             labels={self.run.names.label_key(): rid})
        push(f"stop envoy {rid}", envoy.stop)
        self.envoys.append(envoy)
        envoy.start()
        return envoy

    def _envoy_seen(self, envoy: EnvoyProcess) -> Callable[[], str]:
        return lambda: f"envoy alive={envoy.alive()}; envoy log tail:\n{self.redact(envoy.log_tail(15))}"

    def wait_attached(self, envoy: EnvoyProcess, timeout: float | None = None) -> None:
        def attached() -> bool:
            if not envoy.alive():
                raise AssertionError(f"envoy for {envoy.resource_id} exited ({envoy.proc.returncode}):\n"
                                     f"{self.redact(envoy.log_tail(20))}")
            return any(h.get("disconnectedAt") is None for h in self.history.for_resource(envoy.resource_id))
        poll(attached, timeout or self.settings.presence.attach_timeout,
             f"envoy for resource {envoy.resource_id} attached (agent history)",
             self._envoy_seen(envoy), interval=0.1)

    def expect_attach_event(self, watch: TopicWatcher, envoy: EnvoyProcess,
                            timeout: float | None = None) -> dict[str, Any]:
        try:
            return watch.wait_for(Expectation.of("attach event", resourceId=envoy.resource_id,
                                                 tenantId=self.tenant_id),
                                  timeout or self.settings.presence.attach_timeout)
        except WaitTimeout as e:
            raise WaitTimeout(f"{e}\n{self._envoy_seen(envoy)()}") from None

    def expect_presence(self, watch: TopicWatcher, envoy: EnvoyProcess, connected: bool,
                        timeout: float | None = None) -> None:
        watch.wait_for(Expectation.of("presence monitor reports connected" if connected else "disconnected",
                                      resourceId=envoy.resource_id, group="presence_monitor", name="connected",
                                      value="1" if connected else "0"), timeout or self.settings.presence.timeout)

    def wait_resource(self, resource_id: str, timeout: float | None = None) -> dict[str, Any]:
        last: list[Any] = [None]

        def fetch() -> dict[str, Any] | None:
            last[0] = self.resources.get(resource_id)
            return last[0] if last[0] and (last[0].get("labels") or {}).get("agent_discovered_os") else None
        return poll(fetch, timeout or self.settings.presence.attach_timeout,
                    f"resource {resource_id} with discovered labels",
                    lambda: f"last seen: {last[0]}")

    # ------------------------------------------------------------------ installs
    def installed_agents(self, envoy: EnvoyProcess) -> list[str]:
        return envoy.installed_agents()

    def resource_selector(self, envoy: EnvoyProcess) -> dict[str, str]:
        """A label selector matching only this envoy's resource: its run-scoped envoy label
        (the ambassador prefixes envoy labels with ``agent_``), valued with the resource id."""
        return {f"agent_{self.run.names.label_key()}": envoy.resource_id}

    def install_release(self, envoy: EnvoyProcess, scope: str = "scenario") -> dict[str, Any]:
        release = self.telegraf_release()
        selector = self.resource_selector(envoy)
        push = self._scenario if scope == "scenario" else self.run_cleanup.push
        push(f"delete agent install for {envoy.resource_id}", self._delete_named(
            self.installs.list, lambda i: i.get("labelSelector") == selector, self.installs.delete))
        return self.installs.create(release["id"], selector)

    def wait_agent_binary(self, envoy: EnvoyProcess, release: dict[str, Any], timeout: float = 20) -> None:
        path = envoy.agent_path(release["type"], release["version"], release["exe"])
        poll(lambda: path.is_file() and os.access(path, os.X_OK), timeout,
             f"agent binary at {path.relative_to(envoy.data_path)} in the envoy's data directory",
             lambda: f"the data directory holds {envoy.installed_agents() or 'no agent'}; "
                     f"{self._envoy_seen(envoy)()}")

    def wait_agent_binary_gone(self, envoy: EnvoyProcess, release: dict[str, Any], timeout: float = 20) -> None:
        path = envoy.agent_path(release["type"], release["version"], release["exe"])
        poll(lambda: not path.exists(), timeout, f"agent binary {path} removed",
             lambda: f"still present: {envoy.installed_agents()}")

    def current_link_target(self, envoy: EnvoyProcess, agent_type: str) -> str | None:
        link = envoy.current_link(agent_type)
        return os.readlink(link) if link.is_symlink() else None

    def delete_install(self, install: dict[str, Any]) -> None:
        self.installs.delete(install["id"])

    # ------------------------------------------------------------------ monitoring chain
    def monitoring_envoy(self) -> EnvoyProcess:
        """One envoy per run with the telegraf agent installed, polling this run's private zone."""
        def make() -> EnvoyProcess:
            envoy = self.start_envoy(self.private_zone("poller"), scope="run")
            self.wait_attached(envoy)
            self.install_release(envoy, scope="run")
            self.wait_agent_binary(envoy, self.telegraf_release())
            return envoy
        return self._once("monitoring_envoy", make)

    def event_task(self, metric_group: str) -> dict[str, Any]:
        def make() -> dict[str, Any]:
            rid = self.monitoring_envoy().resource_id
            name = self.run.names.name(f"task-{metric_group}")
            self.run_cleanup.push(f"delete task {name}", self._delete_named(
                self.tasks.list, lambda t: t.get("name") == name, self.tasks.delete))
            return self.tasks.create(failure_task(name, metric_group, {"system_resource_id": rid},
                                                  ["system_monitor_id"], era=self.settings.events.format))
        return self._once(f"task:{metric_group}", make)

    def _closed_target(self) -> tuple[str, int]:
        host = self.settings.monitors.probe_host
        port = closed_port(host)
        assert port_is_closed(host, port), f"{host}:{port} should be closed"
        return host, port

    def _interval(self) -> str:
        return f"PT{int(self.settings.monitors.interval)}S"

    def tcp_monitor_on_closed_port(self) -> Monitor:
        envoy = self.monitoring_envoy()
        host, port = self._closed_target()
        name = self.run.names.name("tcp")
        self._scenario(f"delete monitor {name}", self._delete_named(
            self.monitors.list, lambda m: m.get("name") == name and not m.get("policy"), self.monitors.delete))
        m = self.monitors.create({
            "name": name, "resourceId": envoy.resource_id, "interval": self._interval(),
            "metadata": self.run.stamp(),
            "details": {"type": "remote", "monitoringZones": [self.private_zone("poller")],
                        "plugin": {"type": "net_response", "protocol": "tcp", "host": host, "port": port,
                                   "timeout": "PT2S"}}})
        return Monitor(m["id"], host, port, "net_response", envoy.resource_id)

    def http_policy_monitor_on_closed_port(self) -> Monitor:
        if self.policies is None:
            raise AssertionError("account-type policy monitors need admin credentials in the profile")
        envoy = self.monitoring_envoy()
        account = self.policies.account_type(self.tenant_id)
        if account is None:
            account = self.settings.tenant.account_type
            self.policies.set_account_type(self.tenant_id, account)
        host, port = self._closed_target()
        name = self.run.names.name("policy-http")
        pol = self.policies
        self._scenario(f"delete monitor template {name}", self._delete_named(
            pol.templates, lambda t: t.get("name") == name, pol.delete_template))
        self._scenario(f"delete policy {name}", self._delete_named(
            pol.policies, lambda p: p.get("name") == name, pol.delete_policy))
        # Real MM refuses a template naming a resourceId (it is cloned into many tenants): select
        # this run's resource by its unique envoy label instead.
        selector = self.resource_selector(envoy)
        template = self.policies.create_template({
            "name": name, "labelSelector": selector, "interval": self._interval(),
            "metadata": self.run.stamp(),
            "details": {"type": "remote", "monitoringZones": [self.public_zone()],
                        "plugin": {"type": "http", "url": f"http://{host}:{port}/", "timeout": "PT2S"}}})
        policy = self.policies.create_account_policy(name, account, template["id"])

        def clone() -> dict[str, Any] | None:
            return next((m for m in self.monitors.list() if m.get("policy") and m.get("name") == name
                         and m.get("labelSelector") == selector), None)
        m = poll(clone, 15, f"policy monitor {name} applied to tenant {self.tenant_id} (account type {account})")
        return Monitor(m["id"], host, port, "http_response", envoy.resource_id, {"policy_id": policy["id"]})

    def expect_event(self, watch: TopicWatcher, metric_group: str, state: str, monitor: Monitor) -> dict[str, Any]:
        fields: dict[str, Any] = {"tenantId": self.tenant_id, "resourceId": monitor.resource_id, "state": state,
                                  "monitorId": monitor.monitor_id}
        if self.settings.events.format != "state-change":
            fields["metricGroup"] = metric_group
        return watch.wait_for(Expectation.of(f"{state} {metric_group} event", **fields), self.settings.events.timeout)

    def open_target(self, monitor: Monitor) -> None:
        listener = TcpListener(monitor.host, monitor.port)
        self._scenario(f"close listener {monitor.port}", listener.close)
