"""Fault switches of the Coral sandbox: each breaks one specified behaviour, to prove a spec can fail.

Two kinds: *lifecycle* faults the supervisor carries out on processes and links (stop discovery,
SIGKILL the colony, cut a tunnel, hold an agent down) and *behaviour* faults a stand-in reads at
the point where it would do the real thing. The supervisor writes the active set to one JSON file
that every stand-in (each in its own namespace, same file system) re-reads when it changes.
"""
from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from sandbox.common.faults import FaultSpec

# lifecycle (supervisor)
DISCOVERY_STOPPED = "discovery_stopped"
COLONY_KILLED = "colony_killed"
AGENT_STOPPED = "agent_stopped"
TUNNEL_CUT = "tunnel_cut"
# behaviour (stand-ins)
DISCOVERY_SLOW = "discovery_slow"
LEASE_TTL_IGNORED = "lease_ttl_ignored"
WRONG_COLONY_ACCEPTED = "wrong_colony_accepted"
DUPLICATE_ADDRESS = "duplicate_address"
HEARTBEATS_IGNORED = "heartbeats_ignored"
PEER_NOT_ADDED = "peer_not_added"
SPLIT_BRAIN_ACCEPTED = "split_brain_accepted"
SECRET_NOT_CHECKED = "secret_not_checked"
EMPTY_KEY_ACCEPTED = "empty_key_accepted"
UNKNOWN_HEARTBEAT_ACCEPTED = "unknown_heartbeat_accepted"
STATUS_STUCK_HEALTHY = "status_stuck_healthy"
COLONY_NOT_RENEWING = "colony_not_renewing"
MESH_IP_NOT_FIRST = "mesh_ip_not_first"
# phase 2 (observability stand-ins)
SPANS_DROPPED = "spans_dropped"
SUMMARY_MISCOUNTED = "summary_miscounted"
POLLER_STOPPED = "poller_stopped"
WRONG_PERCENTILES = "wrong_percentiles"
METRICS_MISATTRIBUTED = "metrics_misattributed"


CATALOG: dict[str, FaultSpec] = {f.name: f for f in [
    FaultSpec(DISCOVERY_STOPPED, "the discovery service is stopped (switching off starts it again)"),
    FaultSpec(DISCOVERY_SLOW, "discovery answers every RPC late (param: seconds)", 8.0),
    FaultSpec(LEASE_TTL_IGNORED, "discovery never expires a lease"),
    FaultSpec(COLONY_KILLED, "the colony is killed with SIGKILL (switching off restarts it, same state)"),
    FaultSpec(AGENT_STOPPED, "agents held stopped (param: list of agent names; switching off starts them)"),
    FaultSpec(TUNNEL_CUT, "an agent's tunnel is cut (param: {agent, mode: down|drop}; down = wg0 link down, "
                          "drop = the colony's mesh address black-holed in the agent host)",
              {"agent": "agent-1", "mode": "down"}),
    FaultSpec(WRONG_COLONY_ACCEPTED, "the colony accepts a registration with a wrong colony id"),
    FaultSpec(DUPLICATE_ADDRESS, "the colony hands a registering agent the highest address it already gave "
                                 "another agent (also to an agent that had its own)"),
    FaultSpec(SPLIT_BRAIN_ACCEPTED, "discovery lets another key take over a live mesh id"),
    FaultSpec(SECRET_NOT_CHECKED, "the colony accepts a registration with a wrong colony secret"),
    FaultSpec(EMPTY_KEY_ACCEPTED, "the colony accepts a registration without a WireGuard key"),
    FaultSpec(UNKNOWN_HEARTBEAT_ACCEPTED, "the colony answers ok to a heartbeat of an agent it does not know"),
    FaultSpec(COLONY_NOT_RENEWING, "the colony stops re-registering with discovery (its lease is not renewed)"),
    FaultSpec(MESH_IP_NOT_FIRST, "the colony reports and advertises the subnet's second address as its own"),
    FaultSpec(STATUS_STUCK_HEALTHY, "the colony reports every agent healthy however long it has been quiet"),
    FaultSpec(HEARTBEATS_IGNORED, "the colony answers heartbeats ok but never records last-seen"),
    FaultSpec(PEER_NOT_ADDED, "the colony accepts a registration but adds no WireGuard peer"),
    FaultSpec(SPANS_DROPPED, "agents accept OTLP spans but store none"),
    FaultSpec(SUMMARY_MISCOUNTED, "the colony's 1-minute summaries count one request less per bucket"),
    FaultSpec(POLLER_STOPPED, "the colony's telemetry and system-metrics pollers stop polling"),
    FaultSpec(WRONG_PERCENTILES, "the colony's summaries carry P95/P99 computed at the wrong index (max as P50)"),
    FaultSpec(METRICS_MISATTRIBUTED, "the colony attributes polled data to another agent"),
]}
LIFECYCLE = {DISCOVERY_STOPPED, COLONY_KILLED, AGENT_STOPPED, TUNNEL_CUT}


class UnknownFault(ValueError):
    pass


def parse_cli(item: str) -> tuple[str, Any]:
    """``NAME[=PARAM]`` from ``--fault``; PARAM is JSON when it parses, else a plain string."""
    name, _, raw = item.partition("=")
    if name not in CATALOG:
        raise UnknownFault(f"unknown fault {name!r}: choose one of {', '.join(sorted(CATALOG))}")
    if not raw:
        return name, CATALOG[name].default_param
    try:
        return name, json.loads(raw)
    except ValueError:
        return name, raw


class FaultFile:
    """The active set as one JSON file: written atomically by the supervisor, read by stand-ins."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._mtime: int | None = None
        self._cache: dict[str, Any] = {}

    def write(self, active: dict[str, Any]) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".faults-")
        with os.fdopen(fd, "w") as f:
            json.dump(active, f)
        os.replace(tmp, self.path)

    def read(self) -> dict[str, Any]:
        try:
            mtime = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return {}
        with self._lock:
            if mtime != self._mtime:
                try:
                    self._cache = json.loads(self.path.read_text() or "{}")
                    self._mtime = mtime
                except (OSError, ValueError):
                    pass
            return dict(self._cache)

    def active(self, name: str) -> bool:
        return name in self.read()

    def param(self, name: str, default: Any = None) -> Any:
        value = self.read().get(name, default)
        return default if value is None else value
