"""Discovery stand-in (contract §2): registry with leases, Connect JSON, `go` or `workers` flavour.

`go` is the plan era's ``cmd/discovery``: one in-memory map shared by colonies and agents (so Go's
LookupAgent echoes the agent id as ``meshId``), split-brain is ``internal``, ``GET /health`` is text.
`workers` is HEAD's Cloudflare app: per-mesh tables persisted in SQLite, split-brain is
``already_exists`` even for an expired row, relay is unimplemented, time values come out as 1970
dates (seconds read as milliseconds), ``GET /health`` is JSON. Run: ``python -m sandbox.coral.discovery CONFIG``.
"""
from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import sqlite3
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from .faults import DISCOVERY_SLOW, LEASE_TTL_IGNORED, SPLIT_BRAIN_ACCEPTED, FaultFile
from .rpc import ConnectRouter, RpcError

log = logging.getLogger("sandbox.coral.discovery")
SVC = "coral.discovery.v1.DiscoveryService"
VERSION = "e2et-standin-0.1"


def rfc3339(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat().replace("+00:00", "Z")


def _public_ip(value: str) -> str | None:
    """Go's observed-endpoint rule: loopback, RFC 1918, link-local, multicast and IPv6 are rejected."""
    try:
        addr = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if addr.version != 4 or addr.is_loopback or addr.is_link_local or addr.is_multicast:
        return None
    if any(addr in ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")):
        return None
    return str(addr)


@dataclass
class Entry:
    kind: str                          # colony | agent
    key: str                           # meshId or agentId
    mesh_id: str
    pubkey: str
    body: dict[str, Any]
    observed: dict[str, Any] | None
    expires_at: float
    last_seen: float = field(default_factory=time.time)


class Registry:
    """Leases in memory (go) or SQLite (workers); both expire on lookup, a sweeper deletes later."""

    def __init__(self, flavour: str, db: Path | None) -> None:
        self.flavour = flavour
        self.entries: dict[tuple[str, str], Entry] = {}
        self.db = sqlite3.connect(db) if flavour == "workers" and db else None
        if self.db is not None:
            self.db.execute("CREATE TABLE IF NOT EXISTS entries (kind TEXT, key TEXT, data TEXT, "
                            "PRIMARY KEY (kind, key))")
            for kind, key, data in self.db.execute("SELECT kind, key, data FROM entries"):
                self.entries[(kind, key)] = Entry(**json.loads(data))

    def _slot(self, kind: str, key: str, mesh_id: str) -> tuple[str, str]:
        # Go: one map keyed by id for colonies and agents; Workers: per-mesh tables
        return ("any", key) if self.flavour == "go" else (kind, f"{mesh_id}/{key}" if kind == "agent" else key)

    def put(self, e: Entry) -> None:
        slot = self._slot(e.kind, e.key, e.mesh_id)
        self.entries[slot] = e
        if self.db is not None:
            self.db.execute("INSERT OR REPLACE INTO entries VALUES (?, ?, ?)",
                            (slot[0], slot[1], json.dumps(e.__dict__)))
            self.db.commit()

    def get(self, kind: str, key: str, mesh_id: str = "") -> Entry | None:
        return self.entries.get(self._slot(kind, key, mesh_id))

    def delete_expired(self, now: float) -> int:
        gone = [s for s, e in self.entries.items() if e.expires_at <= now]
        for s in gone:
            del self.entries[s]
            if self.db is not None:
                self.db.execute("DELETE FROM entries WHERE kind=? AND key=?", s)
        if self.db is not None:
            self.db.commit()
        return len(gone)

    def count(self, now: float, kind: str | None = None) -> int:
        return sum(1 for e in self.entries.values() if e.expires_at > now and (kind is None or e.kind == kind))


class Discovery:
    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg
        self.flavour = cfg.get("flavour", "go")
        self.ttl = int(cfg.get("ttl", 300))
        self.faults = FaultFile(Path(cfg["faults_file"]))
        self.registry = Registry(self.flavour, Path(cfg["state_dir"]) / "discovery.sqlite")
        self.started = time.time()
        self.signing_key = secrets.token_bytes(32)
        self.stun = list(cfg.get("stun_servers", []))

    # -- helpers ---------------------------------------------------------------------------
    def _time(self, ts: float) -> str:
        # Workers converts Unix seconds as if they were milliseconds (contract §2.3): 1970 dates
        return rfc3339(ts / 1000.0) if self.flavour == "workers" else rfc3339(ts)

    def _expired(self, e: Entry, now: float) -> bool:
        return e.expires_at <= now and not self.faults.active(LEASE_TTL_IGNORED)

    def _observed(self, body: dict[str, Any], request: web.Request) -> dict[str, Any] | None:
        given = body.get("observedEndpoint") or {}
        if given.get("ip"):
            return given
        for header in ("X-Forwarded-For", "X-Real-IP"):
            if request.headers.get(header):
                ip = _public_ip(request.headers[header].split(",")[0])
                if ip:
                    return {"ip": ip, "port": 0, "protocol": "udp"}
        peer = request.transport.get_extra_info("peername") if request.transport else None
        ip = _public_ip(peer[0]) if peer else None
        return {"ip": ip, "port": 0, "protocol": "udp"} if ip else None

    def _split_brain(self, existing: Entry | None, pubkey: str, now: float, kind: str) -> None:
        if existing is None or existing.pubkey == pubkey or self.faults.active(SPLIT_BRAIN_ACCEPTED):
            return
        if self.flavour == "go" and not self._expired(existing, now):
            raise RpcError("internal", f"failed to register {kind}: {kind} {existing.key} already registered "
                                       "with different public key (split-brain protection)")
        if self.flavour == "workers" and kind == "colony":
            raise RpcError("already_exists", f"Colony {existing.key} already registered with different pubkey")

    def _lease(self, observed: dict[str, Any] | None) -> dict[str, Any]:
        """A register answer: the lease, Go's STUN list, and the endpoint discovery observed."""
        now = time.time()
        out: dict[str, Any] = {"success": True, "ttl": self.ttl, "expiresAt": self._time(now + self.ttl)}
        if self.flavour == "go":
            out["stunServers"] = self.stun
        if observed:
            out["observedEndpoint"] = observed
        return out

    # -- RPCs ------------------------------------------------------------------------------
    async def register_colony(self, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
        mesh_id, pubkey = body.get("meshId", ""), body.get("pubkey", "")
        if not mesh_id or not pubkey:
            raise RpcError("invalid_argument", "mesh_id and pubkey are required")
        observed = self._observed(body, request)
        if not body.get("endpoints") and (self.flavour == "go" or not observed):
            raise RpcError("invalid_argument", "at least one endpoint is required")
        now = time.time()
        self._split_brain(self.registry.get("colony", mesh_id), pubkey, now, "colony")
        self.registry.put(Entry("colony", mesh_id, mesh_id, pubkey, body, observed, now + self.ttl, now))
        return self._lease(observed)

    async def lookup_colony(self, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
        mesh_id = body.get("meshId", "")
        if not mesh_id:
            raise RpcError("invalid_argument", "mesh_id is required")
        e = self.registry.get("colony", mesh_id)
        now = time.time()
        if e is None or e.kind != "colony":
            raise RpcError("not_found", f"colony not found: {mesh_id}" if self.flavour == "go"
                           else f"colony {mesh_id} not found")
        if self._expired(e, now):
            raise RpcError("not_found", f"colony registration expired: {mesh_id}" if self.flavour == "go"
                           else f"colony {mesh_id} not found")
        b = e.body
        out: dict[str, Any] = {k: b.get(k) for k in ("meshId", "pubkey", "endpoints", "meshIpv4", "meshIpv6",
                                                      "connectPort", "metadata", "publicPort", "publicEndpoint")}
        out["lastSeen"] = self._time(e.last_seen)
        out["observedEndpoints"] = [e.observed] if e.observed else []
        if self.flavour == "go":
            out["nat"] = "NAT_CONE" if (b.get("endpoints") or e.observed) else "NAT_UNKNOWN"
            out["relays"] = [{"host": "relay.invalid", "port": 3478, "protocol": "udp", "relayId": "default-relay",
                              "region": "global", "load": 50}]
        else:
            out["nat"] = 0
        return out

    async def register_agent(self, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
        agent_id, mesh_id, pubkey = body.get("agentId", ""), body.get("meshId", ""), body.get("pubkey", "")
        if not agent_id or not mesh_id or not pubkey:
            raise RpcError("invalid_argument", "agent_id, mesh_id and pubkey are required")
        observed = self._observed(body, request)
        if not body.get("endpoints") and not observed:
            raise RpcError("internal" if self.flavour == "go" else "invalid_argument",
                           "agent has no endpoint and no observed endpoint")
        now = time.time()
        existing = self.registry.get("agent", agent_id, mesh_id)
        if self.flavour == "go":
            self._split_brain(existing, pubkey, now, "agent")
        self.registry.put(Entry("agent", agent_id, mesh_id, pubkey, body, observed, now + self.ttl, now))
        return self._lease(observed)

    async def lookup_agent(self, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
        agent_id, mesh_id = body.get("agentId", ""), body.get("meshId", "")
        if not agent_id or (self.flavour == "workers" and not mesh_id):
            raise RpcError("invalid_argument", "agent_id is required" if not agent_id else "mesh_id is required")
        e = self.registry.get("agent", agent_id, mesh_id)
        now = time.time()
        if e is None or e.kind != "agent" or self._expired(e, now):
            raise RpcError("not_found", f"agent not found: {agent_id}")
        b = e.body
        out = {"agentId": agent_id, "meshId": agent_id if self.flavour == "go" else e.mesh_id,
               "pubkey": e.pubkey, "endpoints": b.get("endpoints"), "metadata": b.get("metadata"),
               "observedEndpoints": [e.observed] if e.observed else [], "lastSeen": self._time(e.last_seen)}
        if self.flavour == "go":
            out["nat"] = "NAT_CONE" if (b.get("endpoints") or e.observed) else "NAT_UNKNOWN"
        return out

    async def health(self, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
        now = time.time()
        count = self.registry.count(now) if self.flavour == "go" else self.registry.count(now, "colony")
        return {"status": "ok", "version": VERSION, "uptimeSeconds": str(int(now - self.started)),
                "registeredColonies": count}

    async def request_relay(self, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
        if self.flavour == "workers":
            raise RpcError("unimplemented", "relay is not implemented")
        if not all(body.get(k) for k in ("meshId", "agentPubkey", "colonyPubkey")):
            raise RpcError("invalid_argument", "mesh_id, agent_pubkey and colony_pubkey are required")
        return {"relayEndpoint": {"host": "relay.invalid", "port": 3478, "protocol": "udp"},
                "sessionId": f"relay-{time.time_ns()}", "expiresAt": rfc3339(time.time() + 1800),
                "relayId": "default-relay"}

    async def release_relay(self, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
        if self.flavour == "workers":
            raise RpcError("unimplemented", "relay is not implemented")
        raise RpcError("not_found", f"relay session not found: {body.get('sessionId', '')}")

    async def bootstrap_token(self, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
        needed = ("agentId", "colonyId") if self.flavour == "go" else ("reefId", "colonyId", "agentId", "intent")
        if not all(body.get(k) for k in needed):
            raise RpcError("invalid_argument", f"{', '.join(needed)} are required")
        now = int(time.time())
        claims = {"jti": secrets.token_hex(8), "iss": "coral-discovery", "aud": ["coral-colony"], "iat": now,
                  "exp": now + 60, "reef_id": body.get("reefId", ""), "colony_id": body["colonyId"],
                  "agent_id": body["agentId"], "intent": body.get("intent", "")}

        def b64(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
        head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        payload = b64(json.dumps(claims).encode())
        sig = b64(hmac.new(self.signing_key, f"{head}.{payload}".encode(), hashlib.sha256).digest())
        return {"jwt": f"{head}.{payload}.{sig}", "expiresAt": str(now + 60)}

    # -- HTTP --------------------------------------------------------------------------------
    async def http_health(self, request: web.Request) -> web.Response:
        if self.flavour == "go":
            return web.Response(text="OK\n")
        return web.json_response({"status": "ok", "version": VERSION})

    def app(self) -> web.Application:
        app = web.Application()
        router = ConnectRouter(app, delay=lambda: float(self.faults.param(DISCOVERY_SLOW, 0) or 0))
        for rpc, fn in [("RegisterColony", self.register_colony), ("LookupColony", self.lookup_colony),
                        ("RegisterAgent", self.register_agent), ("LookupAgent", self.lookup_agent),
                        ("Health", self.health), ("RequestRelay", self.request_relay),
                        ("ReleaseRelay", self.release_relay), ("CreateBootstrapToken", self.bootstrap_token)]:
            router.unary(SVC, rpc, fn)
        app.router.add_get("/health", self.http_health)
        if self.flavour == "workers":
            app.router.add_get("/.well-known/jwks.json", self.http_jwks)
        return app

    async def http_jwks(self, _request: web.Request) -> web.Response:
        """The workers flavour's (empty) key set."""
        return web.json_response({"keys": []}, headers={"Cache-Control": "max-age=300"})

    async def sweeper(self) -> None:
        interval = float(self.cfg.get("cleanup_interval", 60))
        while True:
            await asyncio.sleep(interval)      # the sweep period is the specified behaviour
            if not self.faults.active(LEASE_TTL_IGNORED):
                self.registry.delete_expired(time.time())


async def serve(cfg: dict[str, Any]) -> None:
    d = Discovery(cfg)
    runner = web.AppRunner(d.app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, cfg.get("host", "0.0.0.0"), int(cfg.get("port", 8080))).start()
    log.info("discovery (%s flavour, ttl %ss) listening on :%s", d.flavour, d.ttl, cfg.get("port", 8080))
    await d.sweeper()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s discovery: %(message)s")
    cfg = json.loads(Path(sys.argv[1]).read_text())
    asyncio.run(serve(cfg))


if __name__ == "__main__":
    main()
