"""What the Salus platform must do in response, awaited with deadlines and explained on timeout.

Each wait polls the platform's real surface (agent history, resources, the envoy's data
directory, Kafka topics) until the evidence arrives or the deadline passes; a timeout says what
was awaited and what was seen instead (the envoy's state and log tail, near-miss messages).
"""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import WaitTimeout
from ..kafka import Expectation, TopicWatcher
from ..waiting import poll
from .envoy import EnvoyProcess
from .models import Monitor, Release

if TYPE_CHECKING:
    from .world import SalusWorld


class Expectations:
    def __init__(self, world: SalusWorld) -> None:
        self.w = world

    def _budget(self, seconds: float) -> float:
        return self.w.run.deadline(seconds)

    def envoy_seen(self, envoy: EnvoyProcess) -> Callable[[], str]:
        return lambda: f"envoy alive={envoy.alive()}; envoy log tail:\n{self.w.redact(envoy.log_tail(15))}"

    # ------------------------------------------------------------------ presence
    def attached(self, envoy: EnvoyProcess, timeout: float | None = None) -> None:
        def attached() -> bool:
            if not envoy.alive():
                code = envoy.proc.returncode if envoy.proc else None
                raise AssertionError(f"envoy for {envoy.resource_id} exited ({code}):\n"
                                     f"{self.w.redact(envoy.log_tail(20))}")
            return self.w.history.connected(envoy.resource_id)
        poll(attached, self._budget(timeout or self.w.settings.presence.attach_timeout),
             f"envoy for resource {envoy.resource_id} attached (agent history)", self.envoy_seen(envoy), interval=0.1)

    def attach_event(self, watch: TopicWatcher, envoy: EnvoyProcess, timeout: float | None = None) -> dict[str, Any]:
        try:
            return watch.wait_for(Expectation.of("attach event", resourceId=envoy.resource_id,
                                                 tenantId=self.w.tenant_id),
                                  self._budget(timeout or self.w.settings.presence.attach_timeout))
        except WaitTimeout as e:
            raise WaitTimeout(f"{e}\n{self.envoy_seen(envoy)()}") from None

    def presence(self, watch: TopicWatcher, envoy: EnvoyProcess, connected: bool,
                 timeout: float | None = None) -> dict[str, Any]:
        return watch.wait_for(Expectation.of("presence monitor reports connected" if connected else "disconnected",
                                             resourceId=envoy.resource_id, group="presence_monitor", name="connected",
                                             value="1" if connected else "0"),
                              self._budget(timeout or self.w.settings.presence.timeout))

    def discovered_resource(self, resource_id: str, timeout: float | None = None) -> dict[str, Any]:
        last: list[Any] = [None]

        def fetch() -> dict[str, Any] | None:
            last[0] = self.w.resources.get(resource_id)
            return last[0] if last[0] and (last[0].get("labels") or {}).get("agent_discovered_os") else None
        return poll(fetch, self._budget(timeout or self.w.settings.presence.attach_timeout),
                    f"resource {resource_id} with discovered labels", lambda: f"last seen: {last[0]}")

    # ------------------------------------------------------------------ installs
    def agent_binary(self, envoy: EnvoyProcess, release: Release, timeout: float = 20) -> None:
        path = envoy.agent_path(release.type, release.version, release.exe or "")
        poll(lambda: path.is_file() and os.access(path, os.X_OK), self._budget(timeout),
             f"agent binary at {path.relative_to(envoy.data_path)} in the envoy's data directory",
             lambda: f"the data directory holds {envoy.installed_agents() or 'no agent'}; "
                     f"{self.envoy_seen(envoy)()}")

    def agent_binary_gone(self, envoy: EnvoyProcess, release: Release, timeout: float = 20) -> None:
        path = envoy.agent_path(release.type, release.version, release.exe or "")
        poll(lambda: not path.exists(), self._budget(timeout), f"agent binary {path} removed",
             lambda: f"still present: {envoy.installed_agents()}")

    @staticmethod
    def current_link_target(envoy: EnvoyProcess, agent_type: str) -> str | None:
        link = envoy.current_link(agent_type)
        return os.readlink(link) if link.is_symlink() else None

    # ------------------------------------------------------------------ events
    def event(self, watch: TopicWatcher, metric_group: str, state: str, monitor: Monitor) -> dict[str, Any]:
        w = self.w
        fields: dict[str, Any] = {"tenantId": w.tenant_id, "resourceId": monitor.resource_id, "state": state,
                                  "monitorId": monitor.monitor_id}
        if w.settings.events.format != "state-change":
            fields["metricGroup"] = metric_group
        return watch.wait_for(Expectation.of(f"{state} {metric_group} event", **fields),
                              self._budget(w.settings.events.timeout))
