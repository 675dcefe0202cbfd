"""The sandbox network plan (contract §8, N1–N10): hosts as namespaces on a private bridge.

Safety first, because this machine is shared and its uplink is 192.0.2.0/24:
- every address is checked against the allowed test ranges before anything exists (N1);
- root-namespace ``unreachable`` guard routes cover the ranges while the sandbox lives, and the
  start is refused when a test address would leave through a gateway (N2);
- hosts get no default route and no IPv6, so a mis-addressed packet dies in the host (N3);
- every created name goes into the write-ahead ledger first, so teardown — or the next start after
  a SIGKILL — removes exactly what this sandbox made (N9).
"""
from __future__ import annotations

import ipaddress
import json
import logging
import os
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from support.waiting import poll

from .ledger import Ledger

log = logging.getLogger("sandbox.coral.net")

UNDERLAY = ipaddress.IPv4Network("198.51.100.0/24")
FORBIDDEN = ipaddress.IPv4Network("192.0.2.0/24")
ALLOWED_MESH = (ipaddress.IPv4Network("100.64.0.0/10"), ipaddress.IPv4Network("10.42.0.0/16"))
RUNNER_IP = "198.51.100.1"
GUARD_METRIC = "4000"


class NetError(RuntimeError):
    """An ``ip`` command failed or the machine's routing is unsafe for the plan."""


def ip(*args: str, ns: str | None = None, check: bool = True) -> str:
    argv = ["ip", *(["-n", ns] if ns else []), *args]
    res = subprocess.run(argv, capture_output=True, text=True, timeout=15)
    if check and res.returncode != 0:
        raise NetError(f"`{' '.join(argv)}` failed: {res.stderr.strip() or res.returncode}")
    return res.stdout


def check_address(value: str, what: str) -> None:
    """Refuse 192.0.2.0/24 (this machine's real uplink) and anything outside the test ranges."""
    net = ipaddress.ip_network(value, strict=False)
    if net.overlaps(FORBIDDEN):
        raise ValueError(f"{what} {value} is in 192.0.2.0/24, this machine's real uplink: never use it")
    # an IPv6 value is outside them too (subnet_of would raise TypeError across versions)
    if not (isinstance(net, ipaddress.IPv4Network)
            and (net.subnet_of(UNDERLAY) or any(net.subnet_of(m) for m in ALLOWED_MESH))):
        raise ValueError(f"{what} {value} is outside the sandbox ranges 198.51.100.0/24, 100.64.0.0/10, "
                         "10.42.0.0/16")


@dataclass
class Host:
    """One sandbox host: a network namespace with a UTS and mount namespace held by an anchor."""

    index: int
    role: str                      # discovery | colony | agent
    name: str                      # hostname (agent IDs derive from it, T4)
    address: str                   # underlay IPv4
    netns: str
    state_dir: Path
    anchor_pid: int | None = None
    extra: dict = field(default_factory=dict)

    def nsenter(self) -> list[str]:
        """The prefix that runs a command inside this host (net, UTS and mount namespaces)."""
        if self.anchor_pid is None:
            raise NetError(f"host {self.name} has no anchor")
        return ["nsenter", "-t", str(self.anchor_pid), "-n", "-u", "-m", "--"]


def _pdeathsig() -> None:
    """Child side: die with the sandbox supervisor, even when it is SIGKILLed."""
    import ctypes
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG


class Network:
    """Builds and removes the plan for one run; every step is recorded in the ledger before it runs."""

    def __init__(self, run_id: str, ledger: Ledger, mesh_subnet: str, root: Path) -> None:
        self.run_id = run_id
        self.ledger = ledger
        self.mesh_subnet = mesh_subnet
        self.root = root
        self.switch = f"e2et-{run_id}-sw"
        self.runner_link = f"e2et-{run_id}"[:15]
        self.hosts: list[Host] = []
        check_address(mesh_subnet, "mesh subnet")

    # -- guard routes (N2) ---------------------------------------------------------------
    def guard(self) -> None:
        for rng in (str(UNDERLAY), self.mesh_subnet):
            existing = json.loads(ip("-j", "route", "show", "table", "main", rng) or "[]")
            if any(r.get("type") == "unreachable" and str(r.get("metric")) == GUARD_METRIC for r in existing):
                log.info("guard route for %s already present (not ours: left in place)", rng)
                continue
            args = ["unreachable", rng, "metric", GUARD_METRIC]
            self.ledger.add("routes", args)
            ip("route", "add", *args)
        for probe in ("198.51.100.10", str(ipaddress.ip_network(self.mesh_subnet)[1])):
            res = subprocess.run(["ip", "route", "get", probe], capture_output=True, text=True, timeout=5)
            if " via " in res.stdout:
                raise NetError(f"{probe} would be routed via a gateway ({res.stdout.split()[2:3]}): a more "
                               "specific route exists on this machine; refusing to start")

    # -- topology (N3) ---------------------------------------------------------------------
    def add_netns(self, name: str) -> None:
        self.ledger.add("netns", name)
        ip("netns", "add", name)
        self._sysctl(name, "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
        ip("link", "set", "lo", "up", ns=name)

    @staticmethod
    def _sysctl(ns: str, *settings: str) -> None:
        subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-qw", *settings], check=True, timeout=10,
                       capture_output=True)

    def build_switch(self) -> None:
        self.add_netns(self.switch)
        ip("link", "add", "br0", "type", "bridge", ns=self.switch)
        ip("link", "set", "br0", "up", ns=self.switch)
        # the runner's way in (N7): a root-namespace veth on 198.51.100.1; its connected route wins
        # over the guard route, and it disappears with the switch namespace
        self.ledger.add("links", self.runner_link)
        ip("link", "add", self.runner_link, "type", "veth", "peer", "name", "r0", "netns", self.switch)
        subprocess.run(["sysctl", "-qw", f"net.ipv6.conf.{self.runner_link}.disable_ipv6=1"],
                       capture_output=True, timeout=5)
        ip("link", "set", "r0", "master", "br0", "up", ns=self.switch)
        ip("addr", "add", f"{RUNNER_IP}/24", "dev", self.runner_link)
        ip("link", "set", self.runner_link, "up")

    def add_host(self, index: int, role: str, name: str, address: str) -> Host:
        check_address(address, f"host {name} address")
        ns = f"e2et-{self.run_id}-h{index}"
        state = self.root / f"h{index}"
        state.mkdir(parents=True, exist_ok=True)
        host = Host(index, role, name, address, ns, state)
        self.add_netns(ns)
        port = f"h{index}"
        ip("link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", port, "netns", self.switch)
        ip("link", "set", port, "master", "br0", "up", ns=self.switch)
        ip("addr", "add", f"{address}/24", "dev", "eth0", ns=ns)
        ip("link", "set", "eth0", "up", ns=ns)
        self._anchor(host)
        self.hosts.append(host)
        return host

    def _anchor(self, host: Host) -> None:
        """A sleeping process that holds the host's UTS namespace (its hostname, N5) and a private
        mount namespace with its own /run/wireguard (N4): then every host can use ``wg0``."""
        marker = f"e2et-{self.run_id}-anchor-h{host.index}"
        script = ('hostname "$1" && mkdir -p /run/wireguard && '
                  'mount -t tmpfs -o size=1m,mode=0700 e2et-wg /run/wireguard && exec -a "$2" sleep infinity')
        proc = subprocess.Popen(
            ["ip", "netns", "exec", host.netns, "unshare", "--uts", "--mount", "--propagation", "private",
             "--", "bash", "-c", script, "anchor", host.name, marker],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, preexec_fn=_pdeathsig)
        self.ledger.pid(proc.pid)
        host.anchor_pid = proc.pid
        host.extra["anchor"] = proc

        def ready() -> bool:
            if proc.poll() is not None:
                raise NetError(f"anchor of host {host.name} exited with {proc.returncode}")
            try:
                return Path(f"/proc/{proc.pid}/cmdline").read_bytes().startswith(marker.encode())
            except OSError:
                return False
        poll(ready, 10, f"host {host.name} namespaces ready", interval=0.02)

    def spawn(self, host: Host, argv: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen:
        """Start a process inside ``host`` (own session, dies with the supervisor), recorded by PID."""
        base = {k: os.environ[k] for k in ("PATH", "LANG", "PYTHONPATH", "VIRTUAL_ENV") if k in os.environ}
        full_env = {**base, "HOME": str(host.state_dir), **env}
        with open(log_path, "ab") as out:
            proc = subprocess.Popen([*host.nsenter(), *argv], cwd=str(host.state_dir), env=full_env,
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True, preexec_fn=_pdeathsig)
        self.ledger.pid(proc.pid)
        return proc

    def exec_in(self, host: Host, argv: list[str], timeout: float = 10) -> subprocess.CompletedProcess:
        return subprocess.run([*host.nsenter(), *argv], capture_output=True, text=True, timeout=timeout)
