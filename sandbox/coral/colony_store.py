"""The colony's persistent state (contract §3.2–§3.5): IP allocations, registry, its identity.

SQLite stands in for Coral's DuckDB with the same tables and the same rules: the colony keeps
subnet ``.1``; agents get ``.2, .3, …`` in order of first registration (the counter carries across
octets); the same agent id always gets its address back; a released address is reused first;
after a restart new agents get the address above the highest stored one. Heartbeats persist only
to ``service_heartbeats`` and only for agents that registered services.
"""
from __future__ import annotations

import ipaddress
import json
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class AllocationError(Exception):
    pass


@dataclass
class AgentEntry:
    agent_id: str
    component_name: str = ""
    mesh_ipv4: str = ""
    mesh_ipv6: str = ""
    last_seen: float = 0.0
    registered_at: float = 0.0
    services: list[dict[str, Any]] = field(default_factory=list)
    runtime_context: dict[str, Any] | None = None
    pubkey: str = ""


class Store:
    def __init__(self, path: Path, subnet: str, colony_ip: str) -> None:
        self.db = sqlite3.connect(path, check_same_thread=False)
        self.lock = threading.Lock()
        self.net = ipaddress.ip_network(subnet)
        self.colony_ip = ipaddress.ip_address(colony_ip)
        self.db.executescript("""
            CREATE TABLE IF NOT EXISTS agent_ip_allocations (agent_id TEXT PRIMARY KEY,
                ip_address TEXT UNIQUE, allocated_at REAL, last_seen REAL);
            CREATE TABLE IF NOT EXISTS released_ips (ip_address TEXT PRIMARY KEY);
            CREATE TABLE IF NOT EXISTS services (agent_id TEXT PRIMARY KEY, component_name TEXT,
                services TEXT, runtime TEXT);
            CREATE TABLE IF NOT EXISTS service_heartbeats (agent_id TEXT PRIMARY KEY, last_seen REAL);
        """)
        self.db.commit()

    # -- allocation (§3.3) -----------------------------------------------------------------
    def allocation(self, agent_id: str) -> str | None:
        row = self.db.execute("SELECT ip_address FROM agent_ip_allocations WHERE agent_id=?", (agent_id,)).fetchone()
        return row[0] if row else None

    def allocations(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT agent_id, ip_address FROM agent_ip_allocations"))

    def allocate(self, agent_id: str, duplicate: bool = False) -> str:
        with self.lock:
            have = self.allocation(agent_id)
            used = [ipaddress.ip_address(ip) for ip in self.allocations().values()]
            if duplicate and used and (have is None or ipaddress.ip_address(have) != max(used)):
                return str(max(used))           # the `duplicate_address` fault: not persisted
            if have:
                return have
            released = [r[0] for r in self.db.execute("SELECT ip_address FROM released_ips ORDER BY ip_address")]
            if released:
                ip = released[0]
                self.db.execute("DELETE FROM released_ips WHERE ip_address=?", (ip,))
            else:
                nxt = max([*used, self.colony_ip]) + 1
                if nxt not in self.net or nxt == self.net.broadcast_address:
                    raise AllocationError(f"mesh pool {self.net} exhausted")
                ip = str(nxt)
            self.db.execute("INSERT INTO agent_ip_allocations VALUES (?, ?, ?, NULL)", (agent_id, ip, time.time()))
            self.db.commit()
            return ip

    def release(self, ip: str) -> None:
        with self.lock:
            self.db.execute("DELETE FROM agent_ip_allocations WHERE ip_address=?", (ip,))
            self.db.execute("INSERT OR IGNORE INTO released_ips VALUES (?)", (ip,))
            self.db.commit()

    # -- registry persistence (§3.5) ---------------------------------------------------------
    def save_services(self, e: AgentEntry) -> None:
        if not e.services:
            return
        with self.lock:
            self.db.execute("INSERT OR REPLACE INTO services VALUES (?, ?, ?, ?)",
                            (e.agent_id, e.component_name, json.dumps(e.services), json.dumps(e.runtime_context)))
            self.db.commit()

    def heartbeat(self, e: AgentEntry) -> None:
        if not e.services:
            return
        with self.lock:
            self.db.execute("INSERT OR REPLACE INTO service_heartbeats VALUES (?, ?)", (e.agent_id, e.last_seen))
            self.db.commit()

    def reload(self) -> dict[str, AgentEntry]:
        """Agents whose services were persisted with a non-zero last_seen, with an *empty* mesh IP."""
        out = {}
        rows = self.db.execute("SELECT s.agent_id, s.component_name, s.services, s.runtime, h.last_seen "
                               "FROM services s JOIN service_heartbeats h USING (agent_id) WHERE h.last_seen > 0")
        for agent_id, comp, services, runtime, last_seen in rows:
            out[agent_id] = AgentEntry(agent_id, comp or "", "", "", last_seen, 0.0, json.loads(services or "[]"),
                                       json.loads(runtime or "null"))
        return out


def read_identity(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def write_identity(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=1))
    path.chmod(0o600)
