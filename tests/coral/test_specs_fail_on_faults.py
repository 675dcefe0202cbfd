"""A spec that cannot fail is a defect: every @coral scenario, run against a sandbox with one
behaviour broken on purpose, must fail — and its message must name what was seen.

One sandbox serves the module; each case switches a fault on through the control, runs the one
scenario with behave (real lifecycle, steps, clients), then switches it off and waits until the
mesh is healthy again, so the next case starts clean.
"""
from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
import yaml

from support.waiting import poll

from .conftest import CORAL_FEATURES, needs_host, run_behave

pytestmark = [needs_host, pytest.mark.acceptance]

# (fault, param, scenario, fragment the failure message must contain)
CASES = [
    ("discovery_slow", 12, "The colony is registered and found with its identity", "timed out"),
    ("colony_not_renewing", None, "The colony's lease is renewed while it lives", "lease"),
    ("lease_ttl_ignored", None, "A lease expires when its colony stops renewing it", "forgetting the lease"),
    ("discovery_slow", 12, "Looking up a mesh nobody registered is a clean not-found", "timed out"),
    ("split_brain_accepted", None, "A second colony cannot take over a mesh id", "split-brain"),
    ("mesh_ip_not_first", None, "The colony holds the first address of the mesh subnet", "first address"),
    ("tunnel_cut", {"agent": "agent-1", "mode": "down"},
     "Every agent's tunnel comes up and carries traffic to the colony", "agent-1: tunnel not up"),
    ("tunnel_cut", {"agent": "agent-1", "mode": "drop"},
     "The colony calls an agent over the mesh", "over the mesh"),
    ("tunnel_cut", {"agent": "agent-2", "mode": "drop"},
     "Packets cross every tunnel in both directions", "agent-2"),
    ("duplicate_address", None, "A new agent gets the next free address", "should get"),
    ("duplicate_address", None, "An agent gets the same address back after it reconnects", "came back with"),
    ("peer_not_added", None, "A registration is accepted with an address and adds exactly that peer",
     "exactly one more"),
    ("wrong_colony_accepted", None, "A registration for another colony is rejected and adds no peer",
     "should fail with wrong_colony"),
    ("secret_not_checked", None, "A registration with a wrong secret is rejected and adds no peer",
     "should fail with invalid_secret"),
    ("empty_key_accepted", None, "A registration without a WireGuard key is rejected",
     "should fail with missing_wireguard_pubkey"),
    ("heartbeats_ignored", None, "Last-seen advances at the heartbeat interval", "last-seen advancing"),
    ("unknown_heartbeat_accepted", None, "A heartbeat from an agent the colony does not know is refused",
     "never registered"),
    ("status_stuck_healthy", None, "An agent that stops turns degraded, then unhealthy", "reported degraded"),
    ("duplicate_address", None, "Agents reconnect after the colony restarts and keep their addresses",
     "changed address"),
    ("discovery_slow", 12, "A new agent waits while discovery is down and registers once it is back",
     "healthy with a mesh address"),
    # phase 2: the observability layers
    ("spans_dropped", None, "The app's agent holds this run's spans with their attributes", "holding a server span"),
    ("summary_miscounted", None, "The colony's one-minute summaries match the traffic", "colony total_spans"),
    ("wrong_percentiles", None, "The colony's one-minute summaries match the traffic", "agent's spans give"),
    ("poller_stopped", None, "The colony's one-minute summaries match the traffic", "colony total_spans"),
    ("metrics_misattributed", None, "The colony's one-minute summaries match the traffic", "attributed to"),
    ("poller_stopped", None, "The colony polls every agent's system metrics into its summaries", "fresh CPU"),
    # last: it leaves the current minute's system summaries wrong for good (as a real misattribution would)
    ("metrics_misattributed", None, "The colony polls every agent's system metrics into its summaries",
     "is not from"),
]


def _healthy(profile: dict) -> bool:
    """Every live agent healthy in the colony, and the colony's lease live in discovery."""
    coral = profile["coral"]
    try:
        r = httpx.post(coral["colony"]["connect_url"] + "coral.colony.v1.ColonyService/ListAgents", json={}, timeout=3)
        agents = {a["agentId"]: a for a in r.json().get("agents", [])}
        lease = httpx.post(coral["discovery_url"] + "coral.discovery.v1.DiscoveryService/LookupColony",
                           json={"meshId": coral["colony"]["id"]}, timeout=3)
        if lease.status_code != 200:
            return False
    except (httpx.HTTPError, ValueError):
        return False
    return all(agents.get(a["name"], {}).get("status") == "healthy" for a in coral["agents"] if not a["spare"])




EBPF_SCENARIOS = {"Continuous CPU profiling yields symbolised stacks of a CPU-intensive app",
                  "Beyla records RED metrics of HTTP traffic to an app, in the agent and in the colony",
                  "An on-demand 99 Hz profile produces flame-graph data",
                  "Uprobe tracing records an SDK app's function calls and builds the call tree"}


def _exact(name: str) -> str:
    return f"^{re.escape(name)}$"


def test_all_scenarios_pass_without_faults(sandbox, tmp_path: Path):
    """The same sandbox, nothing broken yet: every scenario the cases below break passes."""
    run = run_behave(sandbox.profile_path, tmp_path)
    coral = {n: r for n, r in run.scenarios.items() if r.feature in CORAL_FEATURES}
    bad = {n: r.message[:300] for n, r in coral.items()
           if r.status != "passed" and not (r.status == "skipped" and n in EBPF_SCENARIOS)}
    skipped = {n for n, r in coral.items() if r.status == "skipped"}
    assert skipped == EBPF_SCENARIOS, f"skips other than the eBPF ones (or eBPF ones run): {skipped}"
    assert not bad, bad
    assert {c[2] for c in CASES} <= set(run.scenarios), "a case names a scenario that does not exist"


#: cases whose failure is a full deadline wait (the contract's budget, e.g. poll interval + 90 s): `-m slow`
SLOW = {("lease_ttl_ignored", "A lease expires"), ("status_stuck_healthy", "An agent that stops"),
        ("duplicate_address", "Agents reconnect after"), ("summary_miscounted", "The colony's one-minute"),
        ("poller_stopped", "The colony's one-minute"), ("poller_stopped", "The colony polls every"),
        ("discovery_slow", "A new agent waits"), ("spans_dropped", "The app's agent holds"),
        ("metrics_misattributed", "The colony polls every")}


def _param(case: tuple) -> object:
    slow = any(case[0] == f and case[2].startswith(prefix) for f, prefix in SLOW)
    return pytest.param(*case, id=f"{case[0]}:{case[2][:40]}", marks=[pytest.mark.slow] if slow else [])


@pytest.mark.parametrize("fault,param,scenario,fragment", [_param(c) for c in CASES])
def test_scenario_fails_on_fault(sandbox, control, tmp_path: Path, fault, param, scenario, fragment):
    profile = yaml.safe_load(sandbox.profile_path.read_text())
    control.enable(fault, param)
    try:
        run = run_behave(sandbox.profile_path, tmp_path, "-n", _exact(scenario))
    finally:
        control.disable(fault)
        poll(lambda: _healthy(profile), 90, "the mesh healthy again after the fault")
    assert scenario in run.scenarios, f"scenario not run: {run.stdout[-2000:]} {run.stderr[-2000:]}"
    result = run.scenarios[scenario]
    assert result.status in ("failed", "error"), f"{scenario} passed although {fault} was on"
    assert fragment in result.message, f"message does not name the cause ({fragment!r}): {result.message[:1500]}"


@pytest.mark.parametrize("fault,setting", [("discovery_stopped", "coral.discovery_url"),
                                           pytest.param("colony_killed", "coral.colony.connect_url",
                                                        marks=pytest.mark.slow)])
def test_a_stopped_part_fails_the_run_before_any_scenario(sandbox, control, tmp_path: Path, fault, setting):
    """Discovery or the colony down when the run starts: one line naming the setting, exit 2."""
    profile = yaml.safe_load(sandbox.profile_path.read_text())
    control.enable(fault)
    try:
        run = run_behave(sandbox.profile_path, tmp_path)
    finally:
        control.disable(fault)
        poll(lambda: _healthy(profile), 90, "the mesh healthy again after the fault")
    assert run.returncode == 2 and not run.scenarios, run.stdout[-500:]
    lines = [ln for ln in run.stderr.splitlines() if ln.startswith("e2et:")]
    assert len(lines) == 1 and setting in lines[0] and "unreachable" in lines[0], run.stderr[-800:]
