"""What the Salus platform must do in response, awaited with deadlines and explained on timeout.

Each wait polls the platform's real surface (agent history, resources, the envoy's data
directory, Kafka topics) until the evidence arrives or the deadline passes; a timeout says what
was awaited and what was seen instead (the envoy's state and log tail, near-miss messages).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import WaitTimeout
from ..kafka import TopicWatcher
from ..matching import Expectation
from ..waiting import poll
from .envoy import EnvoyProcess
from .models import Monitor, Release

if TYPE_CHECKING:
    from .world import SalusWorld


def _instant(text: Any) -> dt.datetime | None:
    """An ISO-8601 instant (``…Z``) as a UTC datetime; None for anything else."""
    try:
        return dt.datetime.fromisoformat(str(text).replace("Z", "+00:00")).astimezone(dt.UTC)
    except ValueError:
        return None


def _second_line(message: str, cause: str) -> str:
    """``cause`` right after the message's first line: reports keep the first lines whole and cut the
    tail (near-miss listings, log tails), and the line that explains the miss must survive the cut."""
    head, _, rest = message.partition("\n")
    return f"{head}\n{cause}" + (f"\n{rest}" if rest else "")


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
            state = (f"the envoy is running (pid {envoy.pid})" if envoy.alive() else
                     f"the envoy exited ({envoy.proc.returncode if envoy.proc else None}) — its log tail is below")
            raise WaitTimeout(_second_line(str(e), state) + f"\n{self.envoy_seen(envoy)()}") from None

    def presence(self, watch: TopicWatcher, envoy: EnvoyProcess, connected: bool,
                 timeout: float | None = None) -> dict[str, Any]:
        what = (f"presence monitor reports {envoy.resource_id} connected" if connected
                else f"presence monitor reports {envoy.resource_id} disconnected after its envoy stopped")
        return watch.wait_for(Expectation.of(what, resourceId=envoy.resource_id, group="presence_monitor",
                                             name="connected", value="1" if connected else "0"),
                              self._budget(timeout or self.w.settings.presence.timeout))

    def detached(self, envoy: EnvoyProcess, timeout: float | None = None) -> None:
        """Agent history closes every connection of the resource (``disconnectedAt`` set)."""
        last: list[Any] = [[]]

        def closed() -> bool:
            last[0] = self.w.history.for_resource(envoy.resource_id)
            return bool(last[0]) and all(h.get("disconnectedAt") for h in last[0])
        poll(closed, self._budget(timeout or self.w.settings.presence.attach_timeout),
             f"agent history of {envoy.resource_id} shows its connection ended",
             lambda: f"history entries: {[(h.get('envoyId'), h.get('disconnectedAt')) for h in last[0]]}")

    def envoy_ids(self, *envoys: EnvoyProcess) -> set[str]:
        """Every envoy id the platform's agent history holds for these envoys' resources (an envoy
        takes a fresh id on each attach)."""
        return {str(h.get("envoyId")) for e in envoys for h in self.w.history.for_resource(e.resource_id)}

    def discovered_resource(self, resource_id: str, timeout: float | None = None) -> dict[str, Any]:
        last: list[Any] = [None]

        def fetch() -> dict[str, Any] | None:
            last[0] = self.w.resources.get(resource_id)
            return last[0] if last[0] and (last[0].get("labels") or {}).get("agent_discovered_os") else None
        return poll(fetch, self._budget(timeout or self.w.settings.presence.attach_timeout),
                    f"resource {resource_id} with discovered labels", lambda: f"last seen: {last[0]}")

    # ------------------------------------------------------------------ installs
    def agent_binary(self, envoy: EnvoyProcess, release: Release, timeout: float | None = None) -> None:
        path = envoy.agent_path(release.type, release.version, release.exe or "")
        poll(lambda: path.is_file() and os.access(path, os.X_OK),
             self._budget(timeout or self.w.settings.installs.timeout),
             f"agent binary at {path.relative_to(envoy.data_path)} in the envoy's data directory",
             lambda: f"the data directory holds {envoy.installed_agents() or 'no agent'}; "
                     f"{self.envoy_seen(envoy)()}")

    def agent_binary_gone(self, envoy: EnvoyProcess, release: Release, timeout: float | None = None) -> None:
        path = envoy.agent_path(release.type, release.version, release.exe or "")
        poll(lambda: not path.exists(), self._budget(timeout or self.w.settings.installs.timeout),
             f"agent binary {path} removed", lambda: f"still present: {envoy.installed_agents()}")

    def no_agent(self, envoy: EnvoyProcess, settle: float) -> None:
        """Nothing arrives in the data directory during ``settle`` seconds (as long as a real
        install took): an agent that appears is an install that reached an envoy it does not select."""
        deadline = time.monotonic() + self._budget(settle)
        pause = threading.Event()
        while True:
            agents = envoy.installed_agents()
            if agents:
                raise AssertionError(f"an agent install reached an envoy its selector does not match: "
                                     f"{envoy.resource_id}'s data directory holds {agents}")
            if time.monotonic() >= deadline:
                return
            pause.wait(0.1)

    @staticmethod
    def current_link(envoy: EnvoyProcess, release: Release) -> None:
        """CURRENT is a relative link to the release's version directory, and it resolves: the
        agent the envoy runs (``CURRENT/bin/<exe>``) is there."""
        link = envoy.current_link(release.type)
        if not link.is_symlink():
            raise AssertionError(f"no CURRENT link for {release.type} in the envoy's data directory "
                                 f"(it holds {envoy.installed_agents() or 'no agent'})")
        target = os.readlink(link)
        if target != release.version:
            raise AssertionError(f"CURRENT link of {release.type} points at {target!r}, not the installed "
                                 f"release {release.version}")
        runs = link / "bin" / Path(release.exe or "").name
        if not runs.is_file():
            raise AssertionError(f"CURRENT link of {release.type} → {target!r} does not resolve to the agent: "
                                 f"{runs.relative_to(envoy.data_path)} is missing")

    # ------------------------------------------------------------------ events
    def event(self, watch: TopicWatcher, metric_group: str, state: str, monitor: Monitor,
              task_id: str | None = None, previous: str | None = None,
              results: TopicWatcher | None = None) -> dict[str, Any]:
        """The event for this monitor's resource, from this run's task (where the era names the
        task's id), in ``state`` — after ``previous`` when given (a recovery follows a CRITICAL).
        On a timeout the monitor's check results (``results``, the metrics watch) say whether the
        checks themselves went wrong or only the events did."""
        w = self.w
        era = w.settings.events.format
        fields: dict[str, Any] = {"tenantId": w.tenant_id, "resourceId": monitor.resource_id, "state": state,
                                  "monitorId": monitor.monitor_id}
        if era != "state-change":
            fields["metricGroup"] = metric_group
        if task_id and era != "kapacitor":           # a Kapacitor task id is not the EEM task's (§6.4a)
            fields["taskId"] = str(task_id)
        if previous:
            fields["previousState"] = previous
        try:
            event = watch.wait_for(Expectation.of(f"{state} {metric_group} event", **fields),
                                   self._budget(w.settings.events.timeout))
        except WaitTimeout as e:
            if results is None:
                raise
            raise WaitTimeout(_second_line(str(e), self.check_results(results, monitor))) from None
        if results is not None and state == "CRITICAL" and previous is None:
            self.raised_on_first_failure(event, results, monitor)
        return event

    def raised_on_first_failure(self, event: dict[str, Any], results: TopicWatcher, monitor: Monitor) -> None:
        """The run's tasks need one failing result (``defaultConsecutiveCount`` 1): the CRITICAL must
        judge the monitor's first failing result, not a later one."""
        with contextlib.suppress(WaitTimeout):       # read what arrived meanwhile, waiting for nothing
            results.wait_for(lambda m: False, timeout=0.2)
        stamps = [_instant(m.get("timestamp")) for m in results.seen
                  if m.get("monitorId") == monitor.monitor_id and m.get("name") == "result_code"
                  and str(m.get("value")) not in ("0", "0.0")]
        failing = sorted(t for t in stamps if t is not None)
        judged = _instant(event.get("timestamp"))
        if failing and judged and judged != failing[0]:
            raise AssertionError(f"the CRITICAL {monitor.metric_group} event for monitor {monitor.monitor_id} judged "
                                 f"the result of {judged.isoformat()}, but its first failing result came at "
                                 f"{failing[0].isoformat()}: the task asks for one failing result (consecutive "
                                 "count 1), so the event came late")

    @staticmethod
    def check_results(results: TopicWatcher, monitor: Monitor) -> str:
        """What the monitor's checks reported since the watch began (result, code, probed address),
        next to the target the monitor names."""
        with contextlib.suppress(WaitTimeout):       # read what arrived meanwhile, waiting for nothing
            results.wait_for(lambda m: False, timeout=0.2)
        rows: dict[tuple[Any, ...], int] = {}
        for m in results.seen:
            if m.get("monitorId") == monitor.monitor_id and m.get("name") == "result_code":
                md = m.get("metadata") or {}
                key = (md.get("result"), m.get("value"), md.get("server"), md.get("port"))
                rows[key] = rows.get(key, 0) + 1
        target = (f"http://{monitor.host}:{monitor.port}/" if monitor.metric_group == "http_response"
                  else f"{monitor.host}:{monitor.port}")
        if not rows:
            poller = f"; the poller of zone {monitor.zone} should run it" if monitor.zone else ""
            return (f"no check result of monitor {monitor.monitor_id} reached the platform (its target is "
                    f"{target}{poller})")
        seen = "; ".join(f"{n} × result={r} result_code={c} probed {s}{':' + p if p else ''}"
                         for (r, c, s, p), n in rows.items())
        return f"check results of monitor {monitor.monitor_id} since the watch: {seen} (its target is {target})"

    def checked_by(self, metrics: TopicWatcher, monitor: Monitor, pollers: set[str], own: set[str],
                   event: dict[str, Any] | None = None) -> None:
        """The monitor's check results came from its zone: stamped with that zone, and posted by the
        zone's poller — one of ``pollers`` (private zone), or, for a public zone, an envoy that is
        none of this run's own (``own``). The event's labels, where the era carries them, agree."""
        fields = {"monitorId": monitor.monitor_id, "group": monitor.metric_group}
        metrics.wait_for(Expectation.of(f"{monitor.metric_group} results of monitor {monitor.monitor_id}", **fields),
                         self._budget(self.w.settings.events.timeout))
        seen = [(m.get("envoyId"), m.get("zone")) for m in metrics.seen
                if all(m.get(k) == v for k, v in fields.items())]
        labels = (event or {}).get("raw", {}).get("labels") or {}
        if labels.get("system_envoy_id") or labels.get("system_monitoring_zone_id"):
            seen.append((labels.get("system_envoy_id"), labels.get("system_monitoring_zone_id")))
        kind = "public" if monitor.public_zone else "private"
        wrong = sorted({(e, z) for e, z in seen if z != monitor.zone
                        or (e in own if monitor.public_zone else e not in pollers)}, key=str)
        if wrong:
            expected = (f"by the region's poller, not by this run's envoys {sorted(own)}" if monitor.public_zone
                        else f"by its poller {sorted(pollers)}")
            raise AssertionError(f"{monitor.metric_group} checks of monitor {monitor.monitor_id} ran on the wrong "
                                 f"poller or zone: (envoy, zone) {wrong}; the {kind} zone {monitor.zone} must run "
                                 f"them {expected}")

    # ------------------------------------------------------------------ binding
    def bound_only(self, monitor_id: str, expected: set[tuple[str, str | None]],
                   timeout: float | None = None) -> None:
        """The monitor is bound to exactly ``expected`` (resource, zone) pairs — read from the
        platform's bound monitors, once the expected ones are all there."""
        last: list[set[tuple[str, str | None]]] = [set()]

        def bound() -> bool:
            last[0] = {(str(b.get("resourceId")), b.get("zoneName"))
                       for b in self.w.monitors.bound(monitor_id=monitor_id)}
            return expected <= last[0]
        poll(bound, self._budget(timeout or self.w.settings.presence.attach_timeout),
             f"monitor {monitor_id} bound to {sorted(expected, key=str)}",
             lambda: f"bound to {sorted(last[0], key=str)}")
        extra = last[0] - expected
        if extra:
            raise AssertionError(f"monitor {monitor_id} is bound to resources its label selector does not select: "
                                 f"{sorted(extra, key=str)} (only {sorted(expected, key=str)} may be)")
