"""Run objects of the Salus pack: created on first use, every cleanup registered at creation.

A scenario asks for what it needs ("a private zone for this run", "an envoy running the telegraf
agent"); run-scoped objects are cached, scenario-scoped ones undone when the scenario ends, and
nothing relies on another scenario having run first. Every cleanup that deletes an object whose
id only the server knows finds it by its run-scoped name, so an interrupt between a create and
its response leaks nothing. A run-scoped object that failed to come up fails every later scenario
at once with the same error, instead of each of them waiting the whole budget again.

``Fixtures`` is the one object steps use (``world.fixtures``); the event/monitor fixtures and the
housekeeping fixtures live in their own modules and are mixed in.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from .catalog import Catalog, best_release, platform_labels
from .deletes import delete_named
from .envoy import EnvoyProcess
from .housekeeping import HousekeepingFixtures
from .models import EnvoyToken, Install, Release
from .monitor_fixtures import MonitorFixtures

if TYPE_CHECKING:
    from .world import SalusWorld

T = TypeVar("T")


class Fixtures(MonitorFixtures, HousekeepingFixtures):
    def __init__(self, world: SalusWorld) -> None:
        self.w = world
        self._failed: dict[str, BaseException] = {}
        #: seconds from creating an install to its binary on disk, as this run measured them
        self.install_latencies: list[float] = []

    def _push(self, scope: str) -> Callable[[str, Callable[[], object]], None]:
        return self.w.on_scenario if scope == "scenario" else self.w.on_run

    def once(self, key: str, make: Callable[[], T]) -> T:
        """``world.once`` that also remembers a failure: later scenarios get the same error at once."""
        failed = self._failed.get(key)
        if failed is not None:
            raise failed
        try:
            return self.w.once(key, make)
        except BaseException as e:
            self._failed[key] = e
            raise

    # ------------------------------------------------------------------ agent catalog
    def telegraf_release(self) -> Release:
        return self.once("release", self._find_or_create_release)

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
        return self.once(f"private_zone:{purpose}", make)

    # ------------------------------------------------------------------ envoy tokens
    def envoy_token(self) -> EnvoyToken:
        w = self.w
        name = w.run.names.name("token")
        w.on_scenario(f"delete envoy token {name}", delete_named(
            w.tokens.list, lambda t: t.get("description") == name, w.tokens.delete))
        return EnvoyToken.from_api(w.tokens.create(name))

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

    def attached_envoy(self, purpose: str = "envoys", scope: str = "scenario") -> EnvoyProcess:
        """An envoy for a new resource in the run's private zone for ``purpose``, once attached."""
        envoy = self.envoy(self.private_zone(purpose), scope=scope)
        self.w.expect.attached(envoy)
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
        envoy.install_started = time.monotonic()
        return Install.from_api(w.installs.create(release.id, selector))

    def installed(self, envoy: EnvoyProcess) -> None:
        """The install's binary is on disk: wait for it and remember how long it took."""
        self.w.expect.agent_binary(envoy, self.telegraf_release())
        if envoy.install_started is not None:
            self.install_latencies.append(time.monotonic() - envoy.install_started)

    def install_settle_time(self) -> float:
        """How long an install that should not arrive is given to arrive anyway: twice the slowest
        install this run saw (a slow download must have had its chance), at least 0.5 s, at most
        ``installs.timeout``."""
        seen = max(self.install_latencies, default=self.w.settings.installs.timeout / 2)
        return min(self.w.settings.installs.timeout, max(0.5, 2 * seen))

    def decoy_poller(self) -> EnvoyProcess:
        """An envoy of the tenant attached, for the run, in a zone other than the monitoring
        envoy's: a platform that picks "any envoy of the tenant" as poller would pick it too."""
        return self.once("decoy_poller", lambda: self.attached_envoy(scope="run"))

    def monitoring_envoy(self) -> EnvoyProcess:
        """One envoy per run with the telegraf agent installed, polling this run's private zone."""
        def make() -> EnvoyProcess:
            envoy = self.attached_envoy("poller", scope="run")
            self.install(envoy, scope="run")
            self.installed(envoy)
            return envoy
        return self.once("monitoring_envoy", make)

