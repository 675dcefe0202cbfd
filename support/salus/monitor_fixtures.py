"""Monitor and event fixtures: event tasks, monitors on targets proven closed, healing a target,
and label-selected monitors next to decoys."""
from __future__ import annotations

import random
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..net import HttpServer, TcpListener, closed_port, port_is_closed
from ..waiting import poll
from .deletes import delete_named
from .models import Monitor
from .monitors import net_response_plugin, remote_monitor_body, selected_monitor_body
from .tasks import failure_task

if TYPE_CHECKING:
    from .world import SalusWorld


def ephemeral_range() -> tuple[int, int]:
    """The kernel's ephemeral port range (Linux; the IANA range elsewhere)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 49152, 65535


class MonitorFixtures:
    """Mixed into ``Fixtures`` (``self.w.fixtures`` is the whole set)."""

    w: SalusWorld

    def event_task(self, metric_group: str) -> dict[str, Any]:
        """The run's CRITICAL-on-failure task for ``metric_group`` checks of the monitoring envoy's resource."""
        w = self.w

        def make() -> dict[str, Any]:
            rid = w.fixtures.monitoring_envoy().resource_id
            name = w.run.names.name(f"task-{metric_group}")
            w.on_run(f"delete task {name}", delete_named(w.tasks.list, lambda t: t.get("name") == name,
                                                         w.tasks.delete))
            return w.tasks.create(failure_task(name, metric_group, {"system_resource_id": rid},
                                               ["system_monitor_id"], era=w.settings.events.format))
        return w.fixtures.once(f"task:{metric_group}", make)

    def _closed_target(self) -> tuple[str, int]:
        """A port proven closed, outside the ephemeral range where it can: a port the kernel hands
        out to any outgoing connection or ``:0`` bind (another flow's envoy) could be taken before
        the check runs or before the target is healed on it."""
        host = self.w.settings.monitors.probe_host
        low, _ = ephemeral_range()
        for _ in range(20):
            port = random.randrange(max(1024, low - 8000), low) if low > 1025 else closed_port(host)
            if port_is_closed(host, port):
                return host, port
        port = closed_port(host)
        assert port_is_closed(host, port), f"{host}:{port} should be closed"
        return host, port

    def tcp_monitor_on_closed_port(self) -> Monitor:
        w = self.w
        envoy = w.fixtures.monitoring_envoy()
        zone = w.fixtures.private_zone("poller")
        host, port = self._closed_target()
        name = w.run.names.name("tcp")
        w.on_scenario(f"delete monitor {name}", delete_named(
            w.monitors.list, lambda m: m.get("name") == name and not m.get("policy"), w.monitors.delete))
        m = w.monitors.create(remote_monitor_body(name, envoy.resource_id, [zone], net_response_plugin(host, port),
                                                  w.settings.monitors.interval, w.run.stamp()))
        return Monitor(m["id"], host, port, "net_response", envoy.resource_id, zone=zone)

    def http_policy_monitor_on_closed_port(self) -> Monitor:
        w = self.w
        pol = w.policies
        if pol is None:
            raise AssertionError("account-type policy monitors need admin credentials in the profile")
        envoy = w.fixtures.monitoring_envoy()
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
        selector = w.fixtures.resource_selector(envoy)
        zone = w.fixtures.public_zone()
        template = pol.create_template(pol.template_body(name, selector, [zone], f"http://{host}:{port}/",
                                                         w.settings.monitors.interval, w.run.stamp()))
        policy = pol.create_account_policy(name, account, template["id"])

        def clone() -> dict[str, Any] | None:
            return next((m for m in w.monitors.list() if m.get("policy") and m.get("name") == name
                         and m.get("labelSelector") == selector), None)
        m = poll(clone, 15, f"policy monitor {name} applied to tenant {w.tenant_id} (account type {account})")
        return Monitor(m["id"], host, port, "http_response", envoy.resource_id, {"policy_id": policy["id"]},
                       zone=zone, public_zone=True)

    def open_target(self, monitor: Monitor) -> None:
        """Make the checked address healthy: accept TCP connections, or answer HTTP with 200."""
        target: TcpListener | HttpServer = (HttpServer(monitor.host, monitor.port)
                                            if monitor.metric_group == "http_response"
                                            else TcpListener(monitor.host, monitor.port))
        self.w.on_scenario(f"close target {monitor.host}:{monitor.port}", target.close)

    # ------------------------------------------------------------------ label selection
    def binding_labels(self, role: str) -> dict[str, str]:
        """Labels of this run's binding scenario: the run id (so parallel flows never meet) and a role."""
        return {"e2et_run": self.w.run.run_id, "e2et_role": role}

    def label_selected_monitor(self, zone: str, selector: dict[str, str]) -> dict[str, Any]:
        """A remote TCP monitor in ``zone`` that selects resources by ``selector`` (all must match)."""
        w = self.w
        name = w.run.names.name("selected-tcp")
        w.on_scenario(f"delete monitor {name}", delete_named(
            w.monitors.list, lambda m: m.get("name") == name and not m.get("policy"), w.monitors.delete))
        host, port = self._closed_target()
        return w.monitors.create(selected_monitor_body(name, selector, [zone], net_response_plugin(host, port),
                                                       w.settings.monitors.interval, w.run.stamp()))
