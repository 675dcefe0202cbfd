"""Clients of Coral's three parts and the typed views the steps get (contract §2–§4).

Each view is read once, with the reader rules, from either layout (``coral.version: plan|head``):
steps never see raw JSON, and a HEAD ``/status`` (``wireguard.status``) reads like a plan-era one
(``mesh.wireguard``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..http import ApiClient
from .connect import ConnectClient, b, i, lst, s, ts

DISCOVERY = "coral.discovery.v1.DiscoveryService"
MESH = "coral.mesh.v1.MeshService"
COLONY = "coral.colony.v1.ColonyService"
AGENT = "coral.agent.v1.AgentService"


@dataclass
class ColonyEntry:
    mesh_id: str
    pubkey: str
    endpoints: list[str]
    mesh_ipv4: str
    connect_port: int
    last_seen_raw: str
    observed: list[dict[str, Any]]

    @classmethod
    def read(cls, d: dict[str, Any]) -> ColonyEntry:
        return cls(s(d, "meshId"), s(d, "pubkey"), [str(e) for e in lst(d, "endpoints")], s(d, "meshIpv4"),
                   i(d, "connectPort"), s(d, "lastSeen"), lst(d, "observedEndpoints"))


@dataclass
class Lease:
    success: bool
    ttl: int
    expires_raw: str

    @classmethod
    def read(cls, d: dict[str, Any]) -> Lease:
        return cls(b(d, "success"), i(d, "ttl"), s(d, "expiresAt"))


@dataclass
class Registration:
    accepted: bool
    reason: str
    assigned_ip: str
    mesh_subnet: str
    peers: list[tuple[str, str]]          # (pubkey, meshIp with its /32)

    @classmethod
    def read(cls, d: dict[str, Any]) -> Registration:
        peers = [(s(p, "wireguardPubkey"), s(p, "meshIp")) for p in lst(d, "peers")]
        return cls(b(d, "accepted"), s(d, "reason"), s(d, "assignedIp"), s(d, "meshSubnet"), peers)


@dataclass
class AgentInfo:
    agent_id: str
    mesh_ipv4: str
    status: str
    last_seen: float | None
    last_seen_raw: str
    services: list[str]

    @classmethod
    def read(cls, d: dict[str, Any]) -> AgentInfo:
        return cls(s(d, "agentId"), s(d, "meshIpv4"), s(d, "status"), ts(d.get("lastSeen")), s(d, "lastSeen"),
                   [s(x, "name") for x in lst(d, "services")])


@dataclass
class ColonyStatus:
    colony_id: str
    status: str
    agent_count: int
    mesh_ipv4: str
    public_key: str
    started_at: float | None

    @classmethod
    def read(cls, d: dict[str, Any]) -> ColonyStatus:
        return cls(s(d, "colonyId"), s(d, "status"), i(d, "agentCount"), s(d, "meshIpv4"),
                   s(d, "wireguardPublicKey"), ts(d.get("startedAt")))


@dataclass
class PeerView:
    public_key: str                 # first 16 characters + "..." (§3.4)
    endpoint: str
    allowed_ips: list[str]
    rx_bytes: int | None
    tx_bytes: int | None
    last_handshake: float | None

    @classmethod
    def read(cls, d: dict[str, Any]) -> PeerView:
        rx = i(d, "rx_bytes") if "rx_bytes" in d else None
        tx = i(d, "tx_bytes") if "tx_bytes" in d else None
        return cls(s(d, "public_key"), s(d, "endpoint"), [str(x) for x in lst(d, "allowed_ips")], rx, tx,
                   ts(d.get("last_handshake_time")))


@dataclass
class MeshPage:
    """The mesh part of a ``GET /status`` page (colony or agent), either layout."""

    mesh_ip: str
    mesh_subnet: str
    interface_exists: bool
    link_status: str
    peer_count: int
    peers: list[PeerView]
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    @classmethod
    def read(cls, page: dict[str, Any], layout: str) -> MeshPage:
        if layout == "head" or ("wireguard" in page and "status" in (page.get("wireguard") or {})):
            outer = page.get("wireguard") or {}
            wg = outer.get("status") or {}
            mesh = {**outer, **{k: wg[k] for k in ("mesh_ip", "mesh_subnet") if k in wg}}
        else:
            mesh = page.get("mesh") or {}
            wg = mesh.get("wireguard") or {}
        return cls(s(mesh, "mesh_ip"), s(mesh, "mesh_subnet"), b(wg, "interface_exists"), s(wg, "link_status"),
                   i(wg, "peer_count"), [PeerView.read(p) for p in lst(wg, "peers")], page)

    def peer_for(self, ip: str) -> PeerView | None:
        want = ip if "/" in ip else f"{ip}/32"
        return next((p for p in self.peers if want in p.allowed_ips), None)


@dataclass
class AgentPage:
    agent_id: str
    mesh: MeshPage
    colony_mesh_ipv4: str
    reachable: bool
    reach_error: str
    ping_ok: bool
    ping_text: str

    @classmethod
    def read(cls, page: dict[str, Any], layout: str) -> AgentPage:
        mesh = MeshPage.read(page, layout)
        inner = (page.get("mesh") or page.get("wireguard") or {})
        conn = page.get("colony_connectivity") or {}
        ping_ok = "ping_result" in page
        return cls(s(inner, "agent_id"), mesh, s(page.get("colony"), "mesh_ipv4"), b(conn, "reachable"),
                   s(conn, "error"), ping_ok, s(page, "ping_result") if ping_ok else s(page, "ping_error"))

    def summary(self) -> str:
        peers = ", ".join(f"{p.endpoint or 'roaming'} {p.allowed_ips}" for p in self.mesh.peers) or "none"
        return (f"agent {self.agent_id or '?'}: mesh_ip={self.mesh.mesh_ip or '-'} interface_exists="
                f"{self.mesh.interface_exists} link={'UP' if 'UP' in self.mesh.link_status else 'down'} "
                f"peers={self.mesh.peer_count} [{peers}] colony reachable={self.reachable} "
                f"({self.reach_error or 'ok'}) ping={'ok' if self.ping_ok else self.ping_text or 'none'}")


class Discovery:
    def __init__(self, api: ApiClient) -> None:
        self.rpc = ConnectClient(api)
        self.api = api

    def health(self) -> dict[str, Any]:
        return self.rpc.call(DISCOVERY, "Health", {})

    def lookup_colony(self, mesh_id: str) -> ColonyEntry:
        return ColonyEntry.read(self.rpc.call(DISCOVERY, "LookupColony", {"meshId": mesh_id}))

    def register_colony(self, mesh_id: str, pubkey: str, endpoints: list[str], mesh_ipv4: str,
                        connect_port: int = 9000) -> Lease:
        body = {"meshId": mesh_id, "pubkey": pubkey, "endpoints": endpoints, "meshIpv4": mesh_ipv4,
                "connectPort": connect_port, "metadata": {"e2et": "true"}}
        return Lease.read(self.rpc.call(DISCOVERY, "RegisterColony", body))


class Colony:
    def __init__(self, api: ApiClient, layout: str) -> None:
        self.rpc = ConnectClient(api)
        self.api = api
        self.layout = layout

    def register(self, agent_id: str, colony_id: str, secret: str, pubkey: str) -> Registration:
        body = {"agentId": agent_id, "colonyId": colony_id, "colonySecret": secret, "wireguardPubkey": pubkey,
                "version": "e2et", "labels": {"e2et": "true"}, "services": []}
        return Registration.read(self.rpc.call(MESH, "Register", body))

    def heartbeat(self, agent_id: str) -> bool:
        return b(self.rpc.call(MESH, "Heartbeat", {"agentId": agent_id, "status": "healthy"}), "ok")

    def status(self) -> ColonyStatus:
        return ColonyStatus.read(self.rpc.call(COLONY, "GetStatus", {}))

    def agents(self) -> dict[str, AgentInfo]:
        return {a.agent_id: a for a in (AgentInfo.read(x) for x in lst(self.rpc.call(COLONY, "ListAgents", {}),
                                                                          "agents"))}

    def page(self) -> MeshPage:
        return MeshPage.read(self.api.get("status", expect=(200,), what="colony /status") or {}, self.layout)


class Agent:
    def __init__(self, name: str, api: ApiClient, layout: str) -> None:
        self.name = name
        self.rpc = ConnectClient(api)
        self.api = api
        self.layout = layout

    def page(self) -> AgentPage:
        return AgentPage.read(self.api.get("status", expect=(200,), what=f"{self.name} /status") or {}, self.layout)

    def connect_service(self, name: str, port: int) -> dict[str, Any]:
        return self.rpc.call(AGENT, "ConnectService", {"name": name, "port": port, "healthEndpoint": "/health"})
