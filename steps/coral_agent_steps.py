"""Steps: registration, heartbeats, health, reconnection (features/coral/04–06)."""
from __future__ import annotations

import ipaddress
import time

from behave import given, then, when

from support.coral import state, world_of
from support.coral.connect import RpcError
from support.errors import ApiError, InfrastructureError
from support.waiting import poll

REASONS = {"of the wrong colony": "wrong_colony", "of the invalid secret": "invalid_secret",
           "the WireGuard key is missing": "missing_wireguard_pubkey"}


# -- registration ----------------------------------------------------------------------------------
@given("the colony's peers are noted")
def step_note_peers(context):
    page = world_of(context).colony.page()
    state(context).update(peer_count=page.peer_count, peer_ips=[ip for p in page.peers for ip in p.allowed_ips])


@when("a new agent of this run registers naming another colony")
def step_wrong_colony(context):
    w = world_of(context)
    state(context)["agent_id"], state(context)["registration"] = w.register_direct(colony_id=w.run.names.name("other"))


@when("a new agent of this run registers with a wrong secret")
def step_wrong_secret(context):
    w = world_of(context)
    state(context)["agent_id"], state(context)["registration"] = w.register_direct(secret="e2et-wrong-secret")


@when("a new agent of this run registers without a WireGuard key")
def step_no_key(context):
    state(context)["agent_id"], state(context)["registration"] = world_of(context).register_direct(pubkey="")


@then("the registration is accepted with an address inside the mesh subnet")
def step_accepted(context):
    w, reg = world_of(context), state(context)["registration"]
    assert reg.accepted, f"registration rejected: reason {reg.reason or '(none given)'}"
    subnet = ipaddress.ip_network(reg.mesh_subnet, strict=False)
    assert ipaddress.ip_address(reg.assigned_ip) in subnet, f"assigned {reg.assigned_ip} outside {reg.mesh_subnet}"
    assert subnet == w.mesh_subnet(), f"registration names subnet {subnet}, agents report {w.mesh_subnet()}"


@then("the colony has exactly one more peer, for that address")
def step_one_more_peer(context):
    w, st = world_of(context), state(context)
    ip = st["registration"].assigned_ip
    page = w.colony.page()
    assert page.peer_count == st["peer_count"] + 1, (f"colony peer count went {st['peer_count']} → {page.peer_count},"
                                                     f" expected exactly one more. Peers: "
                                                     f"{[p.allowed_ips for p in page.peers]}")
    assert page.peer_for(ip), f"no colony peer allows {ip}/32: {[p.allowed_ips for p in page.peers]}"


@then("the answer lists the colony's other peers but not the new agent itself")
def step_answer_peers(context):
    st = state(context)
    reg = st["registration"]
    own = f"{reg.assigned_ip}/32"
    listed = [ip for _, ip in reg.peers]
    assert own not in listed, f"the answer lists the new agent's own address {own} among its peers"
    missing = [ip for ip in st["peer_ips"] if ip not in listed]
    assert not missing, f"the answer omits existing colony peers {missing} (it listed {listed})"


@then("the registration is rejected because {why}")
def step_rejected(context, why):
    reg = state(context)["registration"]
    want = REASONS[why]
    assert not reg.accepted, f"the colony accepted a registration that should fail with {want} (got {reg.assigned_ip})"
    assert reg.reason == want, f"rejected with reason {reg.reason!r}, expected {want!r}"
    assert not reg.assigned_ip, f"a rejected registration still carries an address {reg.assigned_ip}"


@then("the colony's peers are unchanged and the agent is not listed")
def step_unchanged(context):
    w, st = world_of(context), state(context)
    page = w.colony.page()
    assert page.peer_count == st["peer_count"], f"peer count changed {st['peer_count']} → {page.peer_count}"
    assert st["agent_id"] not in w.listed(), f"the rejected agent {st['agent_id']} is listed by the colony"


# -- heartbeats and health -----------------------------------------------------------------------
@then("every agent's last-seen advances within two heartbeat intervals")
def step_last_seen(context):
    w = world_of(context)
    first = w.wait_healthy(timeout=30)
    budget = 2 * w.interval + 5
    for name in w.live_agents():
        aid = w.agent_id(name)
        before = first[aid].last_seen or 0
        poll(lambda aid=aid, before=before: (w.listed().get(aid).last_seen or 0) > before, budget,
             f"{name}'s last-seen advancing past {first[aid].last_seen_raw} (interval {w.interval:g}s)",
             lambda name=name: w.describe_agents([name]))


@then("every agent stays healthy")
def step_stay_healthy(context):
    w = world_of(context)
    listed = w.listed()
    bad = {n: listed.get(w.agent_id(n)) for n in w.live_agents()
           if (listed.get(w.agent_id(n)) is None or listed[w.agent_id(n)].status != "healthy")}
    assert not bad, f"agents not healthy: {w.describe_agents(list(bad))}"


@when("an agent the colony never registered sends a heartbeat")
def step_unknown_heartbeat(context):
    w = world_of(context)
    state(context)["ok"] = w.colony.heartbeat(w.new_agent_id())


@then("the colony refuses the heartbeat")
def step_refused(context):
    assert state(context)["ok"] is False, "the colony accepted a heartbeat from an agent it never registered"


@when("the second agent stops")
def step_stop_second(context):
    w = world_of(context)
    name = w.live_agents()[1]
    last = w.wait_healthy([name], timeout=30)[w.agent_id(name)].last_seen
    w.hold_agents([name])
    state(context).update(stopped=name, stopped_at=time.time(), last_before=last)


def _wait_status(context, status: str, threshold: float) -> None:
    w, st = world_of(context), state(context)
    name, aid = st["stopped"], w.agent_id(st["stopped"])
    slack = w.interval + 5
    poll(lambda: (w.listed().get(aid) or None) and w.listed()[aid].status == status,
         threshold + slack + w.interval, f"{name} reported {status} after {threshold:g}s without heartbeats",
         lambda: w.describe_agents([name]), interval=0.25)
    a = w.listed()[aid]
    quiet = time.time() - (a.last_seen or 0)
    assert quiet >= threshold - 1, (f"{name} was reported {status} only {quiet:.1f}s after its last heartbeat; the "
                                    f"threshold is {threshold:g}s")
    assert quiet <= threshold + slack, (f"{name} turned {status} {quiet:.1f}s after its last heartbeat "
                                        f"(threshold {threshold:g}s)")


@then("the colony reports the second agent degraded once the healthy threshold has passed")
def step_degraded(context):
    _wait_status(context, "degraded", world_of(context).settings.thresholds.healthy)


@then("the colony reports the second agent unhealthy once the degraded threshold has passed")
def step_unhealthy(context):
    _wait_status(context, "unhealthy", world_of(context).settings.thresholds.degraded)


# -- reconnection ----------------------------------------------------------------------------------
@when("the colony is killed")
def step_kill_colony(context):
    w = world_of(context)
    w.fault("colony_killed")
    state(context)["killed_at"] = time.monotonic()


@then("every agent sees that the colony is unreachable")
def step_unreachable(context):
    w = world_of(context)
    for name in w.live_agents():
        poll(lambda name=name: not w.page(name).reachable, 10, f"{name} noticing the colony is unreachable",
             lambda name=name: w.page(name).summary())


@then("discovery forgets the colony once its lease has run out")
def step_colony_forgotten(context):
    w = world_of(context)
    ttl = w.settings.lease.ttl

    def gone() -> bool:
        try:
            w.discovery.lookup_colony(w.colony_id)
            return False
        except RpcError as e:
            return e.code == "not_found"
    poll(gone, ttl + w.settings.lease.register_interval + 10,
         f"discovery dropping the dead colony's lease (ttl {ttl:g}s)", lambda: "discovery still served the colony")


@when("the colony is started again")
def step_start_colony(context):
    w = world_of(context)
    w.control().disable("colony_killed")
    state(context)["restarted_at"] = time.time()
    state(context)["restarted_mono"] = time.monotonic()


@then("within the reconnection budget every agent registered again and is healthy with the same address")
def step_reconnected(context):
    w, st = world_of(context), state(context)
    listed = w.wait_healthy(timeout=w.reconnect_budget(), since=st["restarted_at"])
    st["reconnect_seconds"] = time.monotonic() - st["restarted_mono"]
    moved = {n: (st["noted"][n], listed[w.agent_id(n)].mesh_ipv4) for n in w.live_agents()
             if listed[w.agent_id(n)].mesh_ipv4 != st["noted"][n]}
    assert not moved, f"agents changed address across the colony restart (before, after): {moved}"
    lookup = w.discovery.lookup_colony(w.colony_id)
    assert lookup.mesh_id == w.colony_id and w.colony.status().status == "running"


@given("discovery is stopped")
def step_discovery_down(context):
    w = world_of(context)
    w.fault("discovery_stopped")
    poll(lambda: _discovery_down(w), 10, "discovery refusing connections", lambda: "discovery still answered")


def _discovery_down(w) -> bool:
    try:
        w.discovery.health()
        return False
    except InfrastructureError:
        return True


@when("a new agent starts")
def step_spare_starts(context):
    w = world_of(context)
    spare = next((a.name for a in w.settings.agents if a.spare), None)
    assert spare, "the profile has no spare agent host (coral.agents[].spare)"
    w.release_agents([spare])
    w.on_scenario(f"hold {spare} again", lambda: w.set_held(sorted(set(w.held_agents()) | {spare})))
    state(context).update(spare=spare, spare_started=time.monotonic())


@then("the agents that were already registered stay healthy")
def step_others_healthy(context):
    w = world_of(context)
    listed = w.wait_healthy(timeout=10)
    assert all(listed[w.agent_id(n)].status == "healthy" for n in w.live_agents())


@then("the new agent has no mesh address and is not listed by the colony")
def step_spare_waiting(context):
    w, spare = world_of(context), state(context)["spare"]
    page = poll(lambda: _page_or_none(w, spare), 15, f"{spare} serving /status", lambda: "no /status yet")
    assert not page.mesh.mesh_ip, f"{spare} has mesh address {page.mesh.mesh_ip} although discovery is down"
    assert w.agent_id(spare) not in w.listed(), f"{spare} is registered although discovery is down"


def _page_or_none(w, name):
    try:
        return w.page(name)
    except (ApiError, InfrastructureError):     # 503 until ready, refused while starting
        return None


@when("discovery is started again")
def step_discovery_up(context):
    w = world_of(context)
    w.control().disable("discovery_stopped")
    state(context)["discovery_back"] = time.monotonic()


@then("the new agent is healthy within the discovery budget")
def step_spare_healthy(context):
    w, st = world_of(context), state(context)
    w.wait_healthy([st["spare"]], timeout=w.discovery_budget())
    st["spare_seconds"] = time.monotonic() - st["discovery_back"]
