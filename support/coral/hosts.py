"""Looking inside a sandbox host (capability ``netns``): ping across the tunnel, ``wg show dump``.

Why: Coral's own ``/status`` can claim a tunnel is up; a ping from inside the host and the
WireGuard counters (latest handshake, rx bytes) prove packets crossed it. The profile of a local
sandbox names each host's anchor process; the runner enters its namespaces with ``nsenter``.
A real deployment has no such entry, and these checks skip with ``@needs:netns``.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass

from .settings import HostInfo


@dataclass
class WgPeer:
    """One peer of ``wg show <dev> dump`` as the suite reads it on a host. The stand-in colony
    parses the same dump for its own status (sandbox/coral/wg.py); the suite keeps its own reading
    so that what it checks does not depend on the code under test."""

    public_key: str
    endpoint: str
    allowed_ips: list[str]
    latest_handshake: int
    rx_bytes: int
    tx_bytes: int

    def up(self, now: float | None = None) -> bool:
        """The contract's test (§5): a handshake less than 180 s old and bytes received."""
        now = time.time() if now is None else now
        return self.latest_handshake > 0 and now - self.latest_handshake < 180 and self.rx_bytes > 0


def can_enter() -> str | None:
    """None when the runner can enter sandbox hosts, else the reason."""
    if os.geteuid() != 0:
        return "entering sandbox hosts needs root"
    if shutil.which("nsenter") is None:
        return "nsenter (util-linux) is missing"
    return None


class HostProbe:
    def __init__(self, name: str, info: HostInfo) -> None:
        self.name, self.info = name, info

    def _run(self, *argv: str, timeout: float = 5) -> subprocess.CompletedProcess:
        prefix = (["nsenter", "-t", str(self.info.anchor_pid), "-n", "-m", "--"] if self.info.anchor_pid
                  else ["ip", "netns", "exec", self.info.netns])
        return subprocess.run([*prefix, *argv], capture_output=True, text=True, timeout=timeout)

    def ping(self, target: str) -> tuple[bool, str]:
        res = self._run("ping", "-c1", "-W1", target)
        last = (res.stdout.strip().splitlines() or [res.stderr.strip()])[-1:]
        return res.returncode == 0, " ".join(last)

    def wg_peers(self, interface: str = "wg0") -> list[WgPeer]:
        res = self._run("wg", "show", interface, "dump")
        peers = []
        for line in res.stdout.splitlines()[1:]:
            f = line.split("\t")
            if len(f) >= 8:
                peers.append(WgPeer(f[0], f[2], f[3].split(","), int(f[4]), int(f[5]), int(f[6])))
        return peers
