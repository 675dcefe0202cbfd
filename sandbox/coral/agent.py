"""Agent stand-in (contract §4): startup, the connection state machine, heartbeats, ``/status``.

Follows the plan era with the 47a0d26 fix: the agent id comes from the hostname; a new WireGuard
key on every start; Register over the underlay on each candidate URL (3 tries, 5 s timeout, 1 s
and 2 s pauses); heartbeats over the tunnel every interval with a 5 s timeout; three failures
counted on ticks → ``unregistered``; reconnection with 1 s ×2 backoff (cap 5 min, ±10 %, reset
only by a good heartbeat); while discovery is down, a LookupColony every 5 s plus a 2 s ×2
backoff (cap 2 min). Registration re-configures the mesh and *updates* the colony peer (no
remove), so a restarted colony costs the real WireGuard re-handshake time (§5).
Run: ``python -m sandbox.coral.agent CONFIG`` (Coral's env vars configure it, as the real agent).
"""
from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from support.durations import seconds_or

from .faults import FaultFile
from .rpc import ConnectRouter, RpcError, call
from .stun import stun_binding
from .wg import Device, genkey, status_peers

log = logging.getLogger("sandbox.coral.agent")
MESH = "coral.mesh.v1.MeshService"
DISCOVERY = "coral.discovery.v1.DiscoveryService"
AGENT = "coral.agent.v1.AgentService"
RPC_ERRORS = (RpcError, OSError, asyncio.TimeoutError, aiohttp.ClientError)


def agent_id_from(hostname: str, services: list[dict[str, Any]]) -> str:
    base = hostname.lower().replace(".", "-").replace("_", "-")
    if len(services) == 1:
        return f"{base}-{services[0]['name']}"
    return f"{base}-multi" if len(services) > 1 else base


def parse_services(spec: str) -> list[dict[str, Any]]:
    """``name:port[:health][:type],…`` (CORAL_SERVICES / --connect)."""
    out = []
    for item in filter(None, (s.strip() for s in spec.split(","))):
        parts = item.split(":")
        out.append({"name": parts[0], "port": int(parts[1]), "healthEndpoint": parts[2] if len(parts) > 2 else "",
                    "serviceType": parts[3] if len(parts) > 3 else ""})
    return out


def jitter(value: float) -> float:
    return value * random.uniform(0.9, 1.1)


class Agent:
    def __init__(self, cfg: dict[str, Any], http: aiohttp.ClientSession) -> None:
        """``http``: the client session of the running loop (``serve`` opens it)."""
        env = os.environ
        self.cfg = cfg
        self.state_dir = Path(cfg["state_dir"])
        self.faults = FaultFile(Path(cfg["faults_file"]))
        self.layout = cfg.get("status_layout", "plan")
        self.colony_id = env.get("CORAL_COLONY_ID", "")
        self.secret = env.get("CORAL_COLONY_SECRET", "")
        self.discovery_url = env.get("CORAL_DISCOVERY_ENDPOINT", "http://localhost:8080")
        self.bind_all = env.get("CORAL_AGENT_BIND_ALL", "").lower() == "true"
        self.fixed_port = int(env["CORAL_WIREGUARD_PORT"]) if env.get("CORAL_WIREGUARD_PORT") else None
        self.stun_servers = [s for s in env.get("CORAL_STUN_SERVERS", "stun.cloudflare.com:3478").split(",") if s]
        self.interval = seconds_or(env.get("CORAL_HEARTBEAT_INTERVAL"), 15.0 if self.layout == "plan" else 30.0)
        self.services = parse_services(env.get("CORAL_SERVICES", ""))
        self.hostname = socket.gethostname()
        self.agent_id = agent_id_from(self.hostname, self.services)
        self.private_key, self.public_key = genkey()       # new on every start (plan era)
        self.wg = Device("wg0", cfg["marker"], self.state_dir / "wireguard-go.log")
        self.state = "starting"
        self.colony: dict[str, Any] | None = None
        self.mesh_ip = ""
        self.mesh_subnet = ""
        self.last_url: str | None = None
        self.failures = 0
        self.reconnect_backoff = 1.0
        self.registered = asyncio.Event()
        self.wake = asyncio.Event()
        self.ready = False
        self.started = time.time()
        self.last_heartbeat_ok = 0.0
        self.http = http

    def set_state(self, new: str) -> None:
        if new != self.state:
            log.info("Connection state changed old_state=%s new_state=%s", self.state, new)
            self.state = new
        if new == "unregistered":
            self.wake.set()

    # -- startup (§4.1) -------------------------------------------------------------------------
    async def lookup_colony(self) -> bool:
        try:
            self.colony = await call(self.http, self.discovery_url, DISCOVERY, "LookupColony",
                                     {"meshId": self.colony_id}, timeout=5)
            return True
        except RPC_ERRORS as e:
            log.warning("LookupColony failed: %s", e)
            return False

    async def start(self) -> None:
        found = await self.lookup_colony()
        if not found:
            self.set_state("waiting_discovery")
        if self.fixed_port:
            observed = await stun_binding(self.stun_servers, self.fixed_port)
            if observed and found:
                await self._register_with_discovery(observed)
        self.wg.start(self.private_key, self.fixed_port)
        self.ready = True
        if found:
            self.set_state("unregistered")
            await self.register_once()

    async def _register_with_discovery(self, observed: tuple[str, int]) -> None:
        try:
            await call(self.http, self.discovery_url, DISCOVERY, "RegisterAgent", {
                "agentId": self.agent_id, "meshId": self.colony_id, "pubkey": self.public_key,
                "endpoints": [f"{observed[0]}:{observed[1]}"],
                "observedEndpoint": {"ip": observed[0], "port": observed[1], "protocol": "udp"}}, timeout=5)
        except RPC_ERRORS as e:
            log.warning("RegisterAgent failed: %s", e)

    def candidates(self) -> list[str]:
        c = self.colony or {}
        port = int(c.get("connectPort") or 9000)
        urls = [f"http://{ep.rsplit(':', 1)[0]}:{port}" for ep in c.get("endpoints") or []]
        urls += [f"http://{ip}:{port}" for ip in (c.get("meshIpv4"),) if ip]
        if self.last_url in urls:
            urls.remove(self.last_url)
            urls.insert(0, self.last_url)
        return urls

    async def register_once(self) -> bool:
        """One registration round over every candidate URL; True when accepted."""
        self.set_state("registering")
        body = {"agentId": self.agent_id, "colonyId": self.colony_id, "colonySecret": self.secret,
                "version": "e2et-standin", "wireguardPubkey": self.public_key, "services": self.services,
                "runtimeContext": {"hostname": self.hostname, "platform": {"os": "linux"}}, "labels": {}}
        reason = ""
        for url in self.candidates():
            for pause in (1.0, 2.0, None):
                try:
                    resp = await call(self.http, url, MESH, "Register", body, timeout=5)
                    if resp.get("accepted"):
                        self.last_url = url
                        self.configure_mesh(resp)
                        self.set_state("registered")
                        self.registered.set()
                        return True
                    reason = resp.get("reason", "rejected")
                    log.warning("registration at %s rejected: %s", url, reason)
                except RPC_ERRORS as e:
                    reason = f"{type(e).__name__}: {e}"
                    log.warning("registration at %s failed: %s", url, reason)
                if pause is not None:
                    await asyncio.sleep(pause)      # Coral's fixed retry pauses
        self.set_state("unregistered")
        return False

    def configure_mesh(self, resp: dict[str, Any]) -> None:
        c = self.colony or {}
        self.mesh_ip = resp["assignedIp"]
        self.mesh_subnet = resp.get("meshSubnet", "")
        prefix = self.mesh_subnet.split("/")[1] if "/" in self.mesh_subnet else "32"
        self.wg.set_address(f"{self.mesh_ip}/{prefix}")
        self.wg.set_peer(c["pubkey"], [f"{c['meshIpv4']}/32"], self.colony_endpoint(), keepalive=25)
        if not self._tcp_probe(c["meshIpv4"], int(c.get("connectPort") or 9000), 2.0):
            log.warning("colony not yet reachable over the mesh at %s", c["meshIpv4"])

    def colony_endpoint(self) -> str:
        c = self.colony or {}
        meta = c.get("metadata") or {}
        observed = [e for e in c.get("observedEndpoints") or [] if e.get("ip") and
                    ipaddress.ip_address(e["ip"]).version == 4 and not ipaddress.ip_address(e["ip"]).is_loopback]
        if observed:
            host, port = observed[0]["ip"], int(observed[0].get("port") or 0)
        else:
            host, _, _p = (c.get("endpoints") or ["127.0.0.1:0"])[0].rpartition(":")
            port = 0
        port = port or int(meta.get("wireguard_port") or 0) or 51820
        return f"{host}:{port}"

    @staticmethod
    def _tcp_probe(host: str, port: int, timeout: float) -> bool:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            return True
        except OSError:
            return False

    # -- loops (§4.2) --------------------------------------------------------------------------
    async def discovery_loop(self) -> None:
        backoff = 2.0
        while True:
            await asyncio.sleep(5)                       # Coral's discovery tick
            if self.state != "waiting_discovery":
                continue
            if await self.lookup_colony():
                self.set_state("unregistered")
                backoff = 2.0
                continue
            await asyncio.sleep(jitter(backoff))
            backoff = min(backoff * 2, 120.0)

    async def heartbeat_loop(self) -> None:
        await self.registered.wait()
        nxt = time.monotonic()
        while True:
            if self.failures >= 3 and self.state in ("registered", "healthy"):
                self.failures = 0
                self.set_state("unregistered")
            if self.state in ("registered", "healthy"):
                await self.heartbeat_once()
            nxt += self.interval
            now = time.monotonic()
            while nxt <= now:                             # a Go ticker drops the ticks it missed
                nxt += self.interval
            await asyncio.sleep(nxt - now)

    async def heartbeat_once(self) -> None:
        c = self.colony or {}
        url = f"http://{c.get('meshIpv4')}:{int(c.get('connectPort') or 9000)}"
        try:
            resp = await call(self.http, url, MESH, "Heartbeat", {"agentId": self.agent_id, "status": "healthy"},
                              timeout=5)
            ok = bool(resp.get("ok"))
        except RPC_ERRORS as e:
            log.info("heartbeat failed: %s", e)
            ok = False
        if ok:
            self.failures = 0
            self.reconnect_backoff = 1.0
            self.last_heartbeat_ok = time.time()
            if self.state == "registered":
                self.set_state("healthy")
        else:
            self.failures += 1

    async def reconnection_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=5)   # at once, else every 5 s
            self.wake.clear()
            if self.state != "unregistered":
                continue
            await self.lookup_colony()                   # refresh the colony's endpoints if we can
            if self.colony is None:
                self.set_state("waiting_discovery")
                continue
            if not await self.register_once():
                await asyncio.sleep(jitter(self.reconnect_backoff))
                self.reconnect_backoff = min(self.reconnect_backoff * 2, 300.0)

    # -- API -------------------------------------------------------------------------------------
    async def list_services(self, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
        return {"services": self.services}

    async def connect_service(self, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
        if not body.get("name") or not body.get("port"):
            raise RpcError("invalid_argument", "name and port are required")
        self.services = [s for s in self.services if s["name"] != body["name"]] + [
            {k: body.get(k) for k in ("name", "port", "healthEndpoint", "serviceType", "labels")}]
        return {"success": True, "serviceName": body["name"]}

    async def http_status(self, request: web.Request) -> web.Response:
        if not self.ready:
            return web.Response(status=503, text="runtime context not yet detected")
        return web.json_response(await asyncio.get_running_loop().run_in_executor(None, self.status_body))

    def status_body(self) -> dict[str, Any]:
        c = self.colony or {}
        peers = self.wg.peers() if self.wg.alive() else []
        peer_items = status_peers(peers, self.layout)
        wgs = {"interface_name": "wg0", "listen_port": self.wg.listen_port() if self.wg.alive() else 0,
               "interface_exists": self.wg.alive(), "ip_addresses": self.wg.addresses(),
               "link_status": self.wg.link(), "peer_count": len(peers), "peers": peer_items}
        target = f"{c.get('meshIpv4')}:{int(c.get('connectPort') or 9000)}" if c.get("meshIpv4") else ""
        reachable = bool(target) and self._tcp_probe(c["meshIpv4"], int(c.get("connectPort") or 9000), 2.0)
        body: dict[str, Any] = {
            "runtime": {"hostname": self.hostname, "agent_id": self.agent_id, "state_hint": "see logs",
                        "uptime_seconds": int(time.time() - self.started)},
            "colony": {"id": self.colony_id, "mesh_ipv4": c.get("meshIpv4", ""), "mesh_ipv6": c.get("meshIpv6", ""),
                       "connect_port": c.get("connectPort", 0), "endpoints": c.get("endpoints", []),
                       "observed_endpoints": c.get("observedEndpoints", [])},
            "routes": subprocess.run(["ip", "route", "show", "dev", "wg0"], capture_output=True, text=True,
                                     timeout=5).stdout.splitlines(),
            "all_routes": subprocess.run(["ip", "route"], capture_output=True, text=True,
                                         timeout=5).stdout.splitlines(),
            "colony_connectivity": {"target": target, "reachable": reachable,
                                    "error": "" if reachable else "tcp connect failed or timed out"},
        }
        if c.get("meshIpv4"):
            ping = subprocess.run(["ping", "-c1", "-W1", c["meshIpv4"]], capture_output=True, text=True, timeout=5)
            if ping.returncode == 0:
                body["ping_result"] = ping.stdout.strip().splitlines()[-1]
            else:
                body["ping_error"], body["ping_output"] = f"exit status {ping.returncode}", ping.stdout + ping.stderr
        mesh = {"agent_id": self.agent_id, "mesh_ip": self.mesh_ip, "mesh_subnet": self.mesh_subnet}
        if self.layout == "head":
            body["wireguard"] = {**mesh, "status": {**wgs, "endpoints": []}}
        else:
            body["mesh"] = {**mesh, "wireguard": wgs}
        return body

    def app(self) -> web.Application:
        app = web.Application()
        r = ConnectRouter(app)
        r.unary(AGENT, "ListServices", self.list_services)
        r.unary(AGENT, "ConnectService", self.connect_service)
        app.router.add_get("/status", self.http_status)
        return app


async def serve(cfg: dict[str, Any]) -> None:
    agent = Agent(cfg, aiohttp.ClientSession())
    from . import agent_obs  # OTLP receivers, system metrics, query RPCs (§6)
    obs = agent_obs.attach(agent, cfg)
    app = agent.app()
    obs.routes(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "0.0.0.0" if agent.bind_all else "127.0.0.1", 9001).start()
    try:
        await agent.start()
        await asyncio.gather(agent.discovery_loop(), agent.heartbeat_loop(), agent.reconnection_loop(), obs.run())
    finally:
        agent.wg.stop()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s agent: %(message)s")
    cfg = json.loads(Path(sys.argv[1]).read_text())
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    asyncio.run(serve(cfg))


if __name__ == "__main__":
    main()
