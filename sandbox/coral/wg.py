"""Real WireGuard for the stand-ins: Debian's ``wireguard-go`` (userspace) driven by ``wg`` and ``ip``.

Real Coral embeds wireguard-go in-process; a stand-in runs it as a child instead (same protocol,
same timings — a restarted hub really takes 13–16 s to be re-handshaked, contract §5). The child
carries the run marker in its argv[0] so a leak check can find it, and dies with its parent.
"""
from __future__ import annotations

import base64
import ctypes
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from support.waiting import poll

WG_BIN = "/usr/bin/wireguard-go"


def genkey() -> tuple[str, str]:
    """A Curve25519 key pair, base64 (44 characters each) as WireGuard prints them."""
    priv = X25519PrivateKey.generate()
    raw = priv.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                             serialization.NoEncryption())
    return base64.b64encode(raw).decode(), pubkey(base64.b64encode(raw).decode())


def pubkey(private_b64: str) -> str:
    priv = X25519PrivateKey.from_private_bytes(base64.b64decode(private_b64))
    pub = priv.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(pub).decode()


def _pdeathsig() -> None:
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


def run(*argv: str, stdin: str | None = None, check: bool = True) -> str:
    res = subprocess.run(list(argv), input=stdin, capture_output=True, text=True, timeout=10)
    if check and res.returncode != 0:
        raise RuntimeError(f"`{' '.join(argv)}` failed: {res.stderr.strip()}")
    return res.stdout


@dataclass
class Peer:
    public_key: str
    endpoint: str
    allowed_ips: list[str]
    latest_handshake: int
    rx_bytes: int
    tx_bytes: int
    persistent_keepalive: int


def status_peers(peers: list[Peer], layout: str) -> list[dict]:
    """Peers as ``/status`` shows them (§3.4, §4.3): key cut to 16 characters + "..."; HEAD adds counters."""
    import time
    out = []
    for p in peers:
        item: dict = {"public_key": p.public_key[:16] + "...", "endpoint": p.endpoint, "allowed_ips": p.allowed_ips,
                      "persistent_keepalive": p.persistent_keepalive}
        if layout == "head":
            item.update(configured_endpoint=p.endpoint, rx_bytes=p.rx_bytes, tx_bytes=p.tx_bytes)
            if p.latest_handshake:
                item["last_handshake_time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(p.latest_handshake))
        out.append(item)
    return out


class Device:
    """One wireguard-go interface (``wg0`` in the host's private /run/wireguard)."""

    def __init__(self, name: str, marker: str, log_path: Path) -> None:
        self.name, self.marker, self.log_path = name, marker, log_path
        self.proc: subprocess.Popen | None = None

    def start(self, private_key: str, listen_port: int | None) -> None:
        Path("/run/wireguard", f"{self.name}.sock").unlink(missing_ok=True)   # N4: stale socket
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen([self.marker, "-f", self.name], executable=WG_BIN,
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                         preexec_fn=_pdeathsig)
        sock = Path("/run/wireguard", f"{self.name}.sock")
        poll(lambda: sock.exists() or self._died(), 10, f"wireguard-go {self.name} socket", interval=0.02)
        self._died()
        args = ["wg", "set", self.name, "private-key", "/dev/stdin"]
        if listen_port:
            args += ["listen-port", str(listen_port)]
        run(*args, stdin=private_key + "\n")
        run("ip", "link", "set", self.name, "mtu", "1420")

    def _died(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"wireguard-go exited with {self.proc.returncode} (see {self.log_path})")
        return False

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def set_address(self, cidr: str) -> None:
        run("ip", "addr", "flush", "dev", self.name)
        run("ip", "addr", "add", cidr, "dev", self.name)
        run("ip", "link", "set", self.name, "up")

    def set_peer(self, public_key: str, allowed_ips: list[str], endpoint: str | None = None,
                 keepalive: int = 25) -> None:
        """Add or update a peer (``wg set`` updates in place: no remove, like Coral's IpcSet)."""
        args = ["wg", "set", self.name, "peer", public_key, "allowed-ips", ",".join(allowed_ips),
                "persistent-keepalive", str(keepalive)]
        if endpoint:
            args += ["endpoint", endpoint]
        run(*args)

    def listen_port(self) -> int:
        out = run("wg", "show", self.name, "listen-port", check=False).strip()
        return int(out) if out.isdigit() else 0

    def peers(self) -> list[Peer]:
        out = run("wg", "show", self.name, "dump", check=False).splitlines()
        peers = []
        for line in out[1:]:
            f = line.split("\t")
            if len(f) < 8:
                continue
            peers.append(Peer(f[0], "" if f[2] == "(none)" else f[2],
                              [] if f[3] == "(none)" else f[3].split(","), int(f[4]), int(f[5]), int(f[6]),
                              0 if f[7] == "off" else int(f[7])))
        return peers

    def link(self) -> str:
        return run("ip", "link", "show", self.name, check=False).strip()

    def addresses(self) -> list[str]:
        out = run("ip", "-o", "-4", "addr", "show", "dev", self.name, check=False)
        return [line.split()[3] for line in out.splitlines() if len(line.split()) > 3]

    def stop(self) -> None:
        """Terminate our own child by PID (it shares our process group, so no group signal)."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(2)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(2)
