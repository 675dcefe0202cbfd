"""The Coral sandbox supervisor: builds the network plan, runs the stand-ins, serves the fault control.

One process owns everything: it records each namespace, route and PID in the ledger before it
exists, starts discovery, colony and agents inside their hosts, waits (deadline polls) until every
agent is healthy, writes the profile, and on stop — or when its parent disappears — takes it all
down again. Components die with it (PDEATHSIG) even if it is SIGKILLed; the next start sweeps.
"""
from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from support.processes import stop_tree
from support.run import new_run_id
from support.waiting import poll

from . import faults as F
from .config import SandboxConfig
from .ledger import Ledger, MachineLock, sweep, undo
from .netplan import Host, Network

log = logging.getLogger("sandbox.coral")
REPO_ROOT = Path(__file__).resolve().parents[2]
CONNECT = 9000
DISCOVERY_PORT = 8080


@dataclass
class Component:
    role: str
    name: str
    host: Host
    config_path: Path
    env: dict[str, str]
    proc: subprocess.Popen | None = None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class CoralSandbox:
    def __init__(self, cfg: SandboxConfig) -> None:
        self.cfg = cfg
        run_id = os.environ.get("E2ET_RUN_ID", "")
        self.run_id = run_id if len(run_id) == 10 and run_id.isalnum() else new_run_id()
        self.lock = MachineLock()
        self.ledger: Ledger | None = None
        self.net: Network | None = None
        self.components: dict[str, Component] = {}
        self.keep_data = cfg.data_dir is not None
        self.root = Path(cfg.data_dir) if cfg.data_dir else Path(tempfile.mkdtemp(prefix=f"e2et-{self.run_id}-coral-"))
        self.faults = F.FaultFile(self.root / "faults.json")
        self.active: dict[str, Any] = {}
        self.colony_id = f"{cfg.app_name}-{cfg.environment}-{secrets.token_hex(3)}"
        self.secret = secrets.token_urlsafe(24)
        self.http = httpx.Client(timeout=3)

    # -- build ---------------------------------------------------------------------------------
    @property
    def network(self) -> Network:
        """The hosts and switch ``start()`` builds first."""
        if self.net is None:
            raise RuntimeError("the sandbox network is not built yet")
        return self.net

    def up(self, initial_faults: dict[str, Any]) -> None:
        self.lock.acquire()
        swept = sweep(keep=self.run_id)
        if swept:
            log.warning("swept leftovers of dead runs: %s", ", ".join(swept))
        self.ledger = Ledger(self.run_id)
        if not self.keep_data:
            self.ledger.add("dirs", str(self.root))
        self.root.mkdir(parents=True, exist_ok=True)
        for name, param in initial_faults.items():        # behaviour faults hold from the first request
            if name not in F.LIFECYCLE:
                self.active[name] = F.CATALOG[name].default_param if param is None else param
        self._publish()
        self.net = Network(self.run_id, self.ledger, self.cfg.mesh_subnet, self.root)
        self.net.guard()
        self.net.build_switch()
        disc = self.net.add_host(1, "discovery", "discovery", "198.51.100.10")
        colony = self.net.add_host(2, "colony", "colony", "198.51.100.11")
        self._component("discovery", "discovery", disc, self._discovery_cfg(disc), {})
        self._component("colony", "colony", colony, self._colony_cfg(colony), {})
        total = self.cfg.agents + self.cfg.spare_agents
        for i in range(total):
            name = f"agent-{i + 1}"
            host = self.net.add_host(3 + i, "agent", name, f"198.51.100.{21 + i}")
            host.extra["spare"] = i >= self.cfg.agents
            self._component("agent", name, host, self._agent_cfg(host), self._agent_env())
        self.start("discovery")
        poll(lambda: self._http_ok(f"http://198.51.100.10:{DISCOVERY_PORT}/health"), self.cfg.ready_timeout,
             "discovery answering /health", lambda: self._log_tail("discovery"))
        self.start("colony")
        poll(self._colony_registered, self.cfg.ready_timeout, "colony registered with discovery",
             lambda: self._log_tail("colony"))
        for name, c in self.components.items():
            if c.role == "agent" and not c.host.extra.get("spare"):
                self.start(name)
                self.wait_healthy([name])            # one after another: addresses in a known order
        self.kernel = self._probe_kernel(self.components["agent-1"].host)
        if self.cfg.apps:
            app_host = self.components["agent-1"].host
            self._component("otel_app", "otel-app", app_host, {}, {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "localhost:4317", "OTEL_BSP_SCHEDULE_DELAY": "500",
                "OTEL_APP_START_DELAY": "0", "HTTP_PORT": "8080"})
            self.start("otel-app")
            poll(lambda: self._http_ok(f"http://{app_host.address}:8080/health"), self.cfg.ready_timeout,
                 "otel-app answering /health", lambda: self._log_tail("otel-app"))
        spares = [n for n, c in self.components.items() if c.host.extra.get("spare")]
        if spares:
            self.active[F.AGENT_STOPPED] = spares
        for name, param in initial_faults.items():
            if name in F.LIFECYCLE:
                self.set_fault(name, param)
        self._publish()

    def _probe_kernel(self, host: Host) -> dict[str, Any]:
        """What eBPF the kernel allows as root inside a host namespace (for the profile and the report)."""
        res = self.network.exec_in(host, [sys.executable, "-m", "sandbox.coral.kernel"], timeout=20)
        try:
            return json.loads(res.stdout)
        except ValueError:
            return {"probe_failed": (res.stderr or res.stdout)[-300:]}

    def _component(self, role: str, name: str, host: Host, cfg: dict[str, Any], env: dict[str, str]) -> None:
        path = host.state_dir / f"{role}.json"
        path.write_text(json.dumps(cfg, indent=1))
        path.chmod(0o600)
        self.components[name] = Component(role, name, host, path, env)

    def _base_cfg(self, host: Host) -> dict[str, Any]:
        return {"state_dir": str(host.state_dir), "faults_file": str(self.faults.path),
                "marker": f"e2et-{self.run_id}-wg-h{host.index}", "status_layout": self.cfg.status_layout}

    def _discovery_cfg(self, host: Host) -> dict[str, Any]:
        return {**self._base_cfg(host), "port": DISCOVERY_PORT, "flavour": self.cfg.discovery_flavour,
                "ttl": int(self.cfg.ttl), "cleanup_interval": self.cfg.cleanup_interval,
                "stun_servers": ["198.51.100.10:3478"]}

    def _colony_cfg(self, host: Host) -> dict[str, Any]:
        return {**self._base_cfg(host), "colony_id": self.colony_id, "colony_secret": self.secret,
                "secret_check": self.cfg.secret_check, "app_name": self.cfg.app_name,
                "environment": self.cfg.environment, "mesh_ipv4": self._mesh_ip(1),
                "mesh_subnet": self.cfg.mesh_subnet, "connect_port": CONNECT, "wireguard_port": 41580,
                "public_endpoint": host.address, "discovery_url": f"http://198.51.100.10:{DISCOVERY_PORT}",
                "register_interval": self.cfg.register_interval, "healthy_threshold": self.cfg.healthy_threshold,
                "degraded_threshold": self.cfg.degraded_threshold,
                "telemetry_poll_interval": self.cfg.telemetry_poll_interval,
                "system_metrics_poll_interval": self.cfg.system_metrics_poll_interval}

    def _agent_cfg(self, host: Host) -> dict[str, Any]:
        return {**self._base_cfg(host), "sample_rate": self.cfg.sample_rate,
                "system_metrics_interval": self.cfg.system_metrics_interval}

    def _agent_env(self) -> dict[str, str]:
        env = {"CORAL_COLONY_ID": self.colony_id, "CORAL_DISCOVERY_ENDPOINT": f"http://198.51.100.10:{DISCOVERY_PORT}",
               "CORAL_AGENT_BIND_ALL": "true", "CORAL_STUN_SERVERS": "198.51.100.10:3478",
               "CORAL_HEARTBEAT_INTERVAL": f"{self.cfg.heartbeat_interval:g}s"}
        if self.cfg.secret_check:
            env["CORAL_COLONY_SECRET"] = self.secret
        return env

    def _mesh_ip(self, offset: int) -> str:
        import ipaddress
        return str(ipaddress.ip_network(self.cfg.mesh_subnet)[offset])

    # -- processes -------------------------------------------------------------------------------
    def start(self, name: str) -> None:
        c = self.components[name]
        if c.running():
            return
        env = {"PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1", **c.env}
        c.proc = self.network.spawn(c.host, [sys.executable, "-m", f"sandbox.coral.{c.role}", str(c.config_path)],
                                env, c.host.state_dir / f"{c.role}.log")
        log.info("started %s (pid %s) in %s", name, c.proc.pid, c.host.netns)

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        c = self.components[name]
        if c.proc is None:
            return
        if sig == signal.SIGKILL and c.proc.poll() is None:
            os.killpg(c.proc.pid, signal.SIGKILL)        # the whole group: the embedded WireGuard dies too
        stop_tree(c.proc, grace=3)
        log.info("stopped %s (pid %s, %s)", name, c.proc.pid, signal.Signals(sig).name)
        c.proc = None

    def _log_tail(self, name: str, lines: int = 8) -> str:
        c = self.components[name]
        try:
            text = (c.host.state_dir / f"{c.role}.log").read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            text = []
        return f"{name} log tail: " + " | ".join(text)

    def _http_ok(self, url: str) -> bool:
        try:
            return self.http.get(url).status_code == 200
        except httpx.HTTPError:
            return False

    def _rpc(self, base: str, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
        try:
            r = self.http.post(f"{base}/{path}", json=body)
            return r.json() if r.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            return None

    def _colony_registered(self) -> bool:
        out = self._rpc(f"http://198.51.100.10:{DISCOVERY_PORT}", "coral.discovery.v1.DiscoveryService/LookupColony",
                        {"meshId": self.colony_id})
        return bool(out and out.get("pubkey"))

    def agents_seen(self) -> dict[str, dict[str, Any]]:
        out = self._rpc(f"http://198.51.100.11:{CONNECT}", "coral.colony.v1.ColonyService/ListAgents", {}) or {}
        return {a.get("agentId", ""): a for a in out.get("agents") or []}

    def wait_healthy(self, names: list[str], timeout: float | None = None) -> None:
        def ok() -> bool:
            seen = self.agents_seen()
            return all(seen.get(n, {}).get("status") == "healthy" and seen.get(n, {}).get("meshIpv4") for n in names)
        poll(ok, timeout or self.cfg.ready_timeout, f"agents {', '.join(names)} healthy in the colony",
             lambda: f"ListAgents: {self.agents_seen()}; " + "; ".join(self._log_tail(n, 4) for n in names),
             interval=0.2)

    # -- faults ------------------------------------------------------------------------------------
    def set_fault(self, name: str, param: Any = None) -> None:
        if name not in F.CATALOG:
            raise F.UnknownFault(f"unknown fault {name!r}; known: {', '.join(sorted(F.CATALOG))}")
        param = F.CATALOG[name].default_param if param is None else _parsed(param)
        if name == F.DISCOVERY_STOPPED:
            self.stop("discovery")
        elif name == F.COLONY_KILLED:
            self.stop("colony", signal.SIGKILL)
        elif name == F.AGENT_STOPPED:
            wanted = [p for p in param.split(",") if p] if isinstance(param, str) else list(param or [])
            unknown = [n for n in wanted if (c := self.components.get(n)) is None or c.role != "agent"]
            if unknown:
                raise F.UnknownFault(f"agent_stopped: no agent named {', '.join(unknown)}")
            for n in set(self.active.get(F.AGENT_STOPPED, [])) - set(wanted):
                self.start(n)
            for n in wanted:
                self.stop(n)
            param = wanted
        elif name == F.TUNNEL_CUT:
            self._tunnel(param, cut=True)
        self.active[name] = param
        self._publish()

    def clear_fault(self, name: str) -> None:
        if name not in F.CATALOG:
            raise F.UnknownFault(f"unknown fault {name!r}; known: {', '.join(sorted(F.CATALOG))}")
        if name not in self.active:
            return
        param = self.active.pop(name)
        if name == F.DISCOVERY_STOPPED:
            self.start("discovery")
        elif name == F.COLONY_KILLED:
            self.start("colony")
        elif name == F.AGENT_STOPPED:
            for n in param:
                self.start(n)
        elif name == F.TUNNEL_CUT:
            self._tunnel(param, cut=False)
        self._publish()

    def clear_all(self) -> None:
        for name in list(self.active):
            self.clear_fault(name)

    def _tunnel(self, param: Any, cut: bool) -> None:
        if not isinstance(param, dict):              # "agent-2" or "agent-2:drop" from a command line
            agent, _, mode = str(param).partition(":")
            param = {"agent": agent, "mode": mode or "down"}
        c = self.components.get(param.get("agent", ""))
        if c is None or c.role != "agent":
            raise F.UnknownFault(f"tunnel_cut: no agent named {param.get('agent')!r}")
        ns = c.host.netns
        if param.get("mode", "down") == "down":
            subprocess.run(["ip", "-n", ns, "link", "set", "wg0", "down" if cut else "up"], capture_output=True,
                           timeout=5)
        else:
            verb = "add" if cut else "del"
            subprocess.run(["ip", "-n", ns, "route", verb, "blackhole", f"{self._mesh_ip(1)}/32"],
                           capture_output=True, timeout=5)

    def _publish(self) -> None:
        self.faults.write({k: v for k, v in self.active.items() if k not in F.LIFECYCLE})

    def snapshot(self) -> dict[str, Any]:
        return {"active": dict(self.active), "catalog": {n: s.description for n, s in F.CATALOG.items()}}

    # -- profile -------------------------------------------------------------------------------------
    def profile(self, control_url: str, log_file: str | None) -> dict[str, Any]:
        agents = []
        for name, c in self.components.items():
            if c.role == "agent":
                agents.append({"name": name, "status_url": f"http://{c.host.address}:9001/",
                               "spare": bool(c.host.extra.get("spare"))})
        hosts = {n: {"netns": c.host.netns, "anchor_pid": c.host.anchor_pid, "address": c.host.address}
                 for n, c in self.components.items() if c.role != "otel_app"}
        apps = {}
        if "otel-app" in self.components:
            app = self.components["otel-app"]
            apps["otel_app"] = {"url": f"http://{app.host.address}:8080/", "agent": app.host.name,
                                "service": "otel-app"}
        return {"coral": {
            "version": self.cfg.version,
            "implementation": "stand-ins",
            "discovery_url": f"http://198.51.100.10:{DISCOVERY_PORT}/",
            "discovery_flavour": self.cfg.discovery_flavour,
            "colony": {"id": self.colony_id, "secret": self.secret, "connect_url": f"http://198.51.100.11:{CONNECT}/"},
            "agents": agents,
            "heartbeat_interval": f"{self.cfg.heartbeat_interval:g}s",
            "thresholds": {"healthy": f"{self.cfg.healthy_threshold:g}s",
                           "degraded": f"{self.cfg.degraded_threshold:g}s"},
            "lease": {"ttl": f"{self.cfg.ttl:g}s", "register_interval": f"{self.cfg.register_interval:g}s"},
            "secret_auth": bool(self.cfg.secret_check),
            "observability": {
                "apps": apps, "sample_rate": self.cfg.sample_rate,
                "telemetry_poll_interval": f"{self.cfg.telemetry_poll_interval:g}s",
                "system_metrics_poll_interval": f"{self.cfg.system_metrics_poll_interval:g}s",
                "system_metrics_interval": f"{self.cfg.system_metrics_interval:g}s",
                "ebpf": False, "beyla": False,
                "ebpf_note": "stand-in agents do not emulate eBPF (real Coral and Beyla are not installable "
                             f"from the Go module proxy); kernel probe: {json.dumps(getattr(self, 'kernel', {}))}"},
            "hosts": hosts,
            "sandbox": {"control_url": control_url, "log_file": log_file, "data_dir": str(self.root),
                        "pid": os.getpid()},
        }}

    # -- teardown --------------------------------------------------------------------------------------
    def down(self) -> None:
        for name in reversed(list(self.components)):
            try:
                self.stop(name)
            except Exception as e:   # noqa: BLE001 — keep tearing down
                log.warning("stopping %s failed: %s", name, e)
        if self.ledger is not None:
            undo(self.ledger.rec)
            self.ledger.close()
        elif not self.keep_data:
            shutil.rmtree(self.root, ignore_errors=True)
        self.http.close()
        self.lock.release()
        log.info("coral sandbox %s down", self.run_id)


def _parsed(param: Any) -> Any:
    """A parameter that arrived as text (``e2et sandbox fault --param``): JSON when it is JSON."""
    if (isinstance(param, str) and param.strip()[:1] in ("{", "[", '"')) or param in ("true", "false"):
        try:
            return json.loads(param)
        except ValueError:
            return param
    if isinstance(param, str):
        try:
            return float(param)
        except ValueError:
            return param
    return param
