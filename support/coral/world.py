"""Run-scoped fixtures of the Coral pack: clients, run-unique registrations, faults, deadline waits.

A step asks the world ("the agents healthy again", "a registration of a new agent of this run");
the world creates what is needed with run-scoped names, registers the undo when it creates it, and
every wait is a deadline poll whose timeout message carries what was seen — the last status, the
last handshake, the peer list — because a red Coral spec without them costs a rerun.
"""
from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from typing import Any, TypeVar

from ..errors import ApiError, ConfigError, InfrastructureError
from ..faults import FaultControl
from ..http import ApiClient
from ..run import CleanupStack, RunContext
from ..waiting import poll
from ..world import Attachment, BaseWorld
from .clients import Agent, AgentInfo, AgentPage, Colony, Discovery, Registration
from .connect import RpcError
from .hosts import HostProbe, can_enter
from .keys import keypair
from .settings import CoralSettings

T = TypeVar("T")
TRANSPORT = (RpcError, ApiError, InfrastructureError, OSError)


class CoralWorld(BaseWorld):
    def __init__(self, settings: CoralSettings, run: RunContext, run_cleanup: CleanupStack | None = None) -> None:
        super().__init__(settings, run, run_cleanup)
        self.log = self.exchanges
        t = settings.timeout
        if settings.colony is None:
            raise ConfigError("coral.colony (id, connect_url) is missing from the profile")
        self.colony_settings = settings.colony
        self.discovery = Discovery(ApiClient(settings.discovery_url, t, self.log, service="Coral discovery",
                                             setting="coral.discovery_url"))
        self.colony = Colony(ApiClient(self.colony_settings.connect_url, t, self.log, service="Coral colony",
                                       setting="coral.colony.connect_url"), settings.version)
        self.agents = {a.name: Agent(a.name, ApiClient(a.status_url, t, self.log, service=f"Coral agent {a.name}",
                                                        setting="coral.agents[].status_url"), settings.version)
                       for a in settings.agents}
        control = settings.sandbox.control_url if settings.sandbox else None
        self.faults = FaultControl.at("coral", settings, self.log, timeout=30) if control else None

    @property
    def obs(self) -> Any:
        """The L0–L3 fixtures (test-app traffic, agent and colony queries), made on first use."""
        from .observability import ObsFixtures
        return self.once("obs", lambda: ObsFixtures(self))

    # -- identity and timings --------------------------------------------------------------------
    @property
    def colony_id(self) -> str:
        return self.colony_settings.id

    @property
    def secret(self) -> str:
        secret = self.colony_settings.secret
        return secret.get_secret_value() if secret else ""

    @property
    def interval(self) -> float:
        return float(self.settings.heartbeat_interval or 15.0)

    def reconnect_budget(self) -> float:
        """§4.2: max(60 s, 4·I + 30 s) once the colony is back (stretched by the run's multiplier)."""
        return self.run.deadline(max(60.0, 4 * self.interval + 30.0))

    def discovery_budget(self) -> float:
        """§4.2: a new agent's next LookupColony attempt after an outage ≤ 60 s: 45 s, plus slack."""
        return self.run.deadline(55.0)

    def live_agents(self) -> list[str]:
        return [a.name for a in self.settings.live_agents()]

    def close(self) -> None:
        for api in [self.discovery.api, self.colony.api, *(a.api for a in self.agents.values())]:
            api.close()
        if self.faults is not None:
            self.faults.close()
        super().close()

    # -- observations -----------------------------------------------------------------------------
    def listed(self) -> dict[str, AgentInfo]:
        return self.colony.agents()

    def page(self, name: str) -> AgentPage:
        return self.agents[name].page()

    def describe_agents(self, names: list[str] | None = None) -> str:
        """What was seen, for a timeout message: ListAgents plus each agent's own view of its tunnel."""
        try:
            listed = self.listed()
            seen = "; ".join(f"{a.agent_id}={a.status or '?'} ip={a.mesh_ipv4 or '-'} last_seen={a.last_seen_raw}"
                             for a in listed.values()) or "no agents"
        except TRANSPORT as e:
            seen = f"ListAgents failed: {e}"
        pages = []
        for n in names or self.live_agents():
            try:
                pages.append(self.page(n).summary())
            except TRANSPORT as e:
                pages.append(f"{n}: /status failed: {e}")
        return f"colony lists: {seen}. Agents: " + " | ".join(pages) + self._handshakes(names)

    def _handshakes(self, names: list[str] | None) -> str:
        if not self.can_enter_hosts():
            return ""
        out = []
        for n in names or self.live_agents():
            try:
                peers = self.host(n).wg_peers()
            except (OSError, KeyError):
                continue
            now = time.time()
            out.append(n + ": " + ", ".join(
                f"last handshake {('%.0fs ago' % (now - p.latest_handshake)) if p.latest_handshake else 'never'} "
                f"rx={p.rx_bytes}" for p in peers))
        return (" WireGuard: " + "; ".join(out)) if out else ""

    def wait_agents(self, names: list[str], ok: Callable[[AgentInfo | None], bool], timeout: float, what: str) -> dict:
        def check() -> dict[str, AgentInfo] | None:
            try:
                listed = self.listed()
            except TRANSPORT:
                return None
            return listed if all(ok(listed.get(self.agent_id(n))) for n in names) else None
        return poll(check, timeout, what, lambda: self.describe_agents(names), interval=0.25)

    def wait_healthy(self, names: list[str] | None = None, timeout: float | None = None,
                     since: float | None = None) -> dict[str, AgentInfo]:
        names = names or self.live_agents()

        def ok(a: AgentInfo | None) -> bool:
            return (a is not None and a.status == "healthy" and bool(a.mesh_ipv4)
                    and (since is None or (a.last_seen or 0) > since))
        return self.wait_agents(names, ok, timeout or self.reconnect_budget(),
                                f"agents {', '.join(names)} healthy with a mesh address")

    def agent_id(self, name: str) -> str:
        """An agent's id as the colony lists it: derived from its hostname (§4.1), which is its name."""
        return name.lower().replace(".", "-").replace("_", "-")

    def mesh_subnet(self) -> ipaddress.IPv4Network:
        page = self.page(self.live_agents()[0])
        return ipaddress.IPv4Network(page.mesh.mesh_subnet, strict=False)

    # -- hosts (sandbox only) -------------------------------------------------------------------------
    def can_enter_hosts(self) -> bool:
        return bool(self.settings.hosts) and can_enter() is None

    def host(self, name: str) -> HostProbe:
        return HostProbe(name, self.settings.hosts[name])

    # -- things this run creates ------------------------------------------------------------------------
    def new_agent_id(self) -> str:
        """Run-unique (a real colony keeps every allocation and peer forever, §3.3)."""
        return self.run.names.name("agent")

    def register_direct(self, colony_id: str | None = None, secret: str | None = None,
                        pubkey: str | None = None, agent_id: str | None = None) -> tuple[str, Registration]:
        agent_id = agent_id or self.new_agent_id()
        key = keypair()[1] if pubkey is None else pubkey
        reg = self.colony.register(agent_id, self.colony_id if colony_id is None else colony_id,
                                   self.secret if secret is None else secret, key)
        return agent_id, reg

    def suite_colony(self) -> tuple[str, str]:
        """A colony of this run in discovery (its own mesh id and key), with test-range endpoints only."""
        mesh_id = self.run.names.name("colony")
        pub = keypair()[1]
        self.discovery.register_colony(mesh_id, pub, ["198.51.100.250:41580"], "100.64.0.1")
        return mesh_id, pub

    # -- faults ---------------------------------------------------------------------------------------------
    def fault(self, name: str, param: Any = None, recover: bool = True) -> None:
        """Switch a sandbox fault on; the scenario's cleanup switches it off and waits for a healthy mesh."""
        control = self.control()
        control.enable(name, param)

        def undo() -> None:
            control.disable(name)
            if recover:
                self.wait_healthy()
        self._undo_later(f"switch off {name}", undo)

    def held_agents(self) -> list[str]:
        held = self.faults.active().get("agent_stopped") if self.faults else None
        return [held] if isinstance(held, str) else list(held or [])

    def hold_agents(self, names: list[str]) -> None:
        """Stop agents (the sandbox keeps spares held the same way); the cleanup restores the held set."""
        before = self.held_agents()
        self.control().enable("agent_stopped", sorted(set(before) | set(names)))

        def undo() -> None:
            self.set_held(before)
            self.wait_healthy()
        self._undo_later(f"restart {', '.join(names)}", undo)

    def release_agents(self, names: list[str]) -> None:
        self.set_held([n for n in self.held_agents() if n not in names])

    def set_held(self, names: list[str]) -> None:
        if names:
            self.control().enable("agent_stopped", sorted(names))
        else:
            self.control().disable("agent_stopped")

    def control(self) -> FaultControl:
        if self.faults is None:
            raise AssertionError("no fault control in this profile (coral.sandbox.control_url): tag the "
                                 "scenario @needs:faults")
        return self.faults

    def _undo_later(self, name: str, action: Callable[[], object]) -> None:
        """Scenario cleanup with room for the mesh to heal (the default 30 s bound is too short)."""
        stack = self.scenario_cleanup if self.scenario_cleanup is not None else self.run_cleanup
        stack.push(name, action, timeout=self.reconnect_budget() + 30)

    def evidence(self, mark: Any) -> list[Attachment]:
        """HTTP exchanges plus what the mesh looks like now: ListAgents, each agent's tunnel, handshakes."""
        out = super().evidence(mark)
        try:
            out.append(Attachment(self.redact(self.describe_agents()), "Coral mesh state"))
        except Exception as e:   # noqa: BLE001 — evidence must never mask the failure itself
            out.append(Attachment(f"mesh state unavailable: {e}", "Coral mesh state"))
        return out
