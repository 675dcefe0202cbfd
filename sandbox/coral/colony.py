"""Colony stand-in (contract §3): the hub. WireGuard interface, IP allocation, registry, RPCs.

Serves MeshService (Register over the underlay, Heartbeat over the tunnel), ColonyService
(GetStatus, ListAgents — which calls each live agent's ListServices *over the mesh*) and
``GET /status`` in the plan or HEAD layout on its connect port. It re-registers with discovery
every register interval and, after a restart, comes back with the same key, port and mesh IP but
a WireGuard device with no peers (§3.5). Run: ``python -m sandbox.coral.colony CONFIG``.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import signal
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from . import faults as F
from .colony_store import AgentEntry, AllocationError, Store, read_identity, write_identity
from .rpc import ConnectRouter, RpcError, call
from .wg import Device, genkey, status_peers

log = logging.getLogger("sandbox.coral.colony")
MESH = "coral.mesh.v1.MeshService"
COLONY = "coral.colony.v1.ColonyService"
DISCOVERY = "coral.discovery.v1.DiscoveryService"
AGENT = "coral.agent.v1.AgentService"


def rfc3339(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Colony:
    def __init__(self, cfg: dict[str, Any], http: aiohttp.ClientSession) -> None:
        """``http``: the client session of the running loop (``serve`` opens it)."""
        self.cfg = cfg
        self.state = Path(cfg["state_dir"])
        self.faults = F.FaultFile(Path(cfg["faults_file"]))
        self.id = cfg["colony_id"]
        self.mesh_ip = cfg["mesh_ipv4"]
        self.subnet = cfg["mesh_subnet"]
        self.connect_port = int(cfg.get("connect_port", 9000))
        self.wg_port = int(cfg.get("wireguard_port", 41580))
        self.layout = cfg.get("status_layout", "plan")
        self.healthy_after = float(cfg.get("healthy_threshold", 30))
        self.degraded_after = float(cfg.get("degraded_threshold", 120))
        self.started = time.time()
        ident = read_identity(self.state / "config.json")
        if ident is None:               # first start: a key that survives every restart
            priv, pub = genkey()
            ident = {"colony_id": self.id, "private_key": priv, "public_key": pub, "wireguard_port": self.wg_port,
                     "mesh_ipv4": self.mesh_ip, "mesh_network_ipv4": self.subnet}
            write_identity(self.state / "config.json", ident)
        self.ident = ident
        self.store = Store(self.state / "colony.sqlite", self.subnet, self.mesh_ip)
        self.agents: dict[str, AgentEntry] = self.store.reload()
        self.wg = Device("wg0", cfg["marker"], self.state / "wireguard-go.log")
        self.http = http
        self.last_register_error = ""

    # -- start ---------------------------------------------------------------------------------
    def start_mesh(self) -> None:
        self.wg.start(self.ident["private_key"], self.wg_port)
        prefix = self.subnet.split("/")[1]
        self.wg.set_address(f"{self.mesh_ip}/{prefix}")

    def advertised_ip(self) -> str:
        if self.faults.active(F.MESH_IP_NOT_FIRST):
            import ipaddress
            return str(ipaddress.ip_network(self.subnet)[2])
        return self.mesh_ip

    def endpoints(self) -> list[str]:
        hosts = [h.split(":")[0] for h in str(self.cfg.get("public_endpoint", "127.0.0.1")).split(",") if h]
        return [f"{h}:{self.wg_port}" for h in hosts]

    async def register_loop(self) -> None:
        interval = float(self.cfg.get("register_interval", 60))
        while True:
            if self.faults.active(F.COLONY_NOT_RENEWING):
                await asyncio.sleep(interval)
                continue
            try:
                await call(self.http, self.cfg["discovery_url"], DISCOVERY, "RegisterColony", {
                    "meshId": self.id, "pubkey": self.ident["public_key"], "endpoints": self.endpoints(),
                    "meshIpv4": self.advertised_ip(), "connectPort": self.connect_port,
                    "metadata": {"app_name": self.cfg.get("app_name", ""), "wireguard_port": str(self.wg_port)}},
                    timeout=5)
                self.last_register_error = ""
            except (TimeoutError, RpcError, OSError, aiohttp.ClientError) as e:
                self.last_register_error = f"{type(e).__name__}: {e}"
                log.warning("discovery registration failed: %s", self.last_register_error)
            await asyncio.sleep(interval)      # the register period is the specified behaviour

    # -- MeshService ---------------------------------------------------------------------------
    async def register(self, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
        agent_id = body.get("agentId", "")
        if body.get("colonyId", "") != self.id and not self.faults.active(F.WRONG_COLONY_ACCEPTED):
            return {"accepted": False, "reason": "wrong_colony"}
        if self.cfg.get("secret_check", True) and body.get("colonySecret", "") != self.cfg.get("colony_secret") \
                and not self.faults.active(F.SECRET_NOT_CHECKED):
            return {"accepted": False, "reason": "invalid_secret"}
        pubkey = body.get("wireguardPubkey", "")
        if not pubkey and not self.faults.active(F.EMPTY_KEY_ACCEPTED):
            return {"accepted": False, "reason": "missing_wireguard_pubkey"}
        try:
            ip = self.store.allocate(agent_id, duplicate=self.faults.active(F.DUPLICATE_ADDRESS))
        except AllocationError:
            return {"accepted": False, "reason": "ip_allocation_failed"}
        endpoint = await self._agent_endpoint(agent_id, request)
        if not self.faults.active(F.PEER_NOT_ADDED) and pubkey:
            try:
                if len(pubkey) != 44:
                    raise ValueError("WireGuard key must be 44 base64 characters")
                self.wg.set_peer(pubkey, [f"{ip}/32"], endpoint, keepalive=25)
            except (ValueError, RuntimeError) as e:
                log.warning("adding peer for %s failed: %s", agent_id, e)
                self.store.release(ip)
                return {"accepted": False, "reason": "peer_add_failed"}
        now = time.time()
        entry = self.agents.get(agent_id) or AgentEntry(agent_id)
        entry.component_name = body.get("componentName", "")
        entry.mesh_ipv4, entry.pubkey, entry.registered_at, entry.last_seen = ip, pubkey, now, now
        entry.services = list(body.get("services") or [])
        entry.runtime_context = body.get("runtimeContext")
        self.agents[agent_id] = entry
        self.store.save_services(entry)
        peers = [{"wireguardPubkey": p.public_key, "meshIp": p.allowed_ips[0]}
                 for p in self.wg.peers() if p.public_key != pubkey and p.allowed_ips]
        log.info("agent %s registered with %s (peer endpoint %s)", agent_id, ip, endpoint or "roaming")
        return {"accepted": True, "assignedIp": ip, "meshSubnet": self.subnet, "peers": peers,
                "registeredAt": rfc3339(now)}

    async def _agent_endpoint(self, agent_id: str, request: web.Request) -> str | None:
        """The agent's WireGuard endpoint from discovery (§5): prefer the HTTP source host."""
        try:
            info = await call(self.http, self.cfg["discovery_url"], DISCOVERY, "LookupAgent",
                              {"agentId": agent_id, "meshId": self.id}, timeout=2)
        except (TimeoutError, RpcError, OSError, aiohttp.ClientError):
            return None
        peer = request.transport.get_extra_info("peername") if request.transport else None
        host = peer[0] if peer else ""
        eps = [e for e in info.get("observedEndpoints") or [] if e.get("ip")]
        match = [e for e in eps if e["ip"] == host]
        usable = match or [e for e in eps if e["ip"] not in ("127.0.0.1", "::1", "localhost")]
        return f"{usable[0]['ip']}:{usable[0].get('port', 0)}" if usable and usable[0].get("port") else None

    async def heartbeat(self, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
        entry = self.agents.get(body.get("agentId", ""))
        if entry is None:
            return {"ok": True, "commands": []} if self.faults.active(F.UNKNOWN_HEARTBEAT_ACCEPTED) else {"ok": False}
        if not self.faults.active(F.HEARTBEATS_IGNORED):
            entry.last_seen = time.time()
            self.store.heartbeat(entry)
        return {"ok": True, "commands": []}

    # -- ColonyService ---------------------------------------------------------------------------
    def status_of(self, e: AgentEntry, now: float) -> str:
        if self.faults.active(F.STATUS_STUCK_HEALTHY):
            return "healthy"
        age = now - e.last_seen
        if age < self.healthy_after:
            return "healthy"
        return "degraded" if age < self.degraded_after else "unhealthy"

    async def get_status(self, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
        now = time.time()
        states = [self.status_of(e, now) for e in self.agents.values()]
        return {"colonyId": self.id, "appName": self.cfg.get("app_name", ""),
                "environment": self.cfg.get("environment", ""), "status": "running",
                "startedAt": rfc3339(self.started), "uptimeSeconds": str(int(now - self.started)),
                "agentCount": len(self.agents), "activeAgentCount": states.count("healthy"),
                "degradedAgentCount": states.count("degraded"), "storageBytes": str(self._storage_bytes()),
                "wireguardPort": self.wg_port, "wireguardPublicKey": self.ident["public_key"],
                "wireguardEndpoints": self.endpoints(), "connectPort": self.connect_port,
                "meshIpv4": self.advertised_ip()}

    def _storage_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.state.glob("colony.sqlite*"))

    async def list_agents(self, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
        now = time.time()
        timeout = 0.5 if self.layout == "plan" else 3.0
        entries = list(self.agents.values())

        async def services(e: AgentEntry, state: str) -> list[dict[str, Any]]:
            if state in ("healthy", "degraded") and e.mesh_ipv4:
                try:   # over the mesh: colony → agent
                    out = await call(self.http, f"http://{e.mesh_ipv4}:9001", AGENT, "ListServices", {},
                                     timeout=timeout)
                    return list(out.get("services") or [])
                except (TimeoutError, RpcError, OSError, aiohttp.ClientError):
                    pass
            return e.services
        states = [self.status_of(e, now) for e in entries]
        found = await asyncio.gather(*(services(e, s) for e, s in zip(entries, states, strict=False)))
        return {"agents": [{"agentId": e.agent_id, "componentName": e.component_name, "meshIpv4": e.mesh_ipv4,
                            "meshIpv6": e.mesh_ipv6, "lastSeen": rfc3339(e.last_seen), "status": s,
                            "services": svc, "runtimeContext": e.runtime_context}
                           for e, s, svc in zip(entries, states, found, strict=False)]}

    # -- GET /status (§3.4) -------------------------------------------------------------------------
    def wireguard_status(self) -> dict[str, Any]:
        peers = self.wg.peers() if self.wg.alive() else []
        out_peers = status_peers(peers, self.layout)
        return {"interface_name": "wg0", "listen_port": self.wg_port, "interface_exists": self.wg.alive(),
                "peer_count": len(peers), "peers": out_peers}

    async def http_status(self, request: web.Request) -> web.Response:
        now = time.time()
        ident = {"id": self.id, "app_name": self.cfg.get("app_name", ""),
                 "environment": self.cfg.get("environment", "")}
        runtime = {"status": "running", "started_at": rfc3339(self.started), "uptime_seconds": int(now - self.started),
                   "agent_count": len(self.agents)}
        wgs = self.wireguard_status()
        if self.layout == "head":
            body = {"colony": ident, "runtime": runtime, "network": {"connect_port": self.connect_port},
                    "wireguard": {"port": self.wg_port, "public_key": self.ident["public_key"],
                                  "endpoints": self.endpoints(), "mesh_ipv4": self.mesh_ip, "mesh_ipv6": "",
                                  "status": {**wgs, "mesh_ip": self.mesh_ip, "mesh_subnet": self.subnet}}}
        else:
            body = {"colony": ident, "runtime": runtime,
                    "network": {"wireguard_port": self.wg_port, "wireguard_public_key": self.ident["public_key"],
                                "wireguard_endpoints": self.endpoints(), "connect_port": self.connect_port,
                                "mesh_ipv4": self.mesh_ip, "mesh_ipv6": ""},
                    "mesh": {"colony_id": self.id, "mesh_ip": self.mesh_ip, "mesh_subnet": self.subnet,
                             "wireguard": wgs}}
        return web.json_response(body)

    def app(self) -> web.Application:
        app = web.Application()
        r = ConnectRouter(app)
        r.unary(MESH, "Register", self.register)
        r.unary(MESH, "Heartbeat", self.heartbeat)
        r.unary(COLONY, "GetStatus", self.get_status)
        r.unary(COLONY, "ListAgents", self.list_agents)
        app.router.add_get("/status", self.http_status)
        return app


async def serve(cfg: dict[str, Any]) -> None:
    colony = Colony(cfg, aiohttp.ClientSession())
    colony.start_mesh()
    from . import colony_obs  # L1/L2 pollers and query RPCs (contract §6)
    obs = colony_obs.attach(colony, cfg)
    app = colony.app()
    obs.routes(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "0.0.0.0", colony.connect_port).start()
    log.info("colony %s up: mesh %s/%s, wg :%s, connect :%s", colony.id, colony.mesh_ip, colony.subnet,
             colony.wg_port, colony.connect_port)
    try:
        await asyncio.gather(colony.register_loop(), obs.run())
    finally:
        colony.wg.stop()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s colony: %(message)s")
    cfg = json.loads(Path(sys.argv[1]).read_text())
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))   # finally-blocks stop wireguard-go
    asyncio.run(serve(cfg))


if __name__ == "__main__":
    main()
