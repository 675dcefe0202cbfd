"""Steps: the WireGuard mesh and mesh addresses (features/coral/02_mesh, 03_ip_allocation)."""
from __future__ import annotations

import ipaddress
import time

from behave import given, then, when

from support.coral import state, world_of
from support.waiting import poll


def _ip(value: str) -> ipaddress.IPv4Address:
    return ipaddress.ip_address(value.split("/")[0])


@then("the colony's mesh address is the first address of the mesh subnet")
def step_colony_first(context):
    w = world_of(context)
    st = w.colony.status()
    subnet = w.mesh_subnet()
    assert _ip(st.mesh_ipv4) == subnet[1], (f"the colony holds {st.mesh_ipv4}, but the first address of the mesh "
                                           f"subnet {subnet} is {subnet[1]}")
    entry = w.discovery.lookup_colony(w.colony_id)
    assert entry.mesh_ipv4 == st.mesh_ipv4, f"discovery advertises {entry.mesh_ipv4}, the colony holds {st.mesh_ipv4}"


@then("every agent's tunnel to the colony is up")
def step_tunnels_up(context):
    w = world_of(context)
    for name in w.live_agents():
        page = w.page(name)
        m = page.mesh
        problems = []
        if not m.interface_exists:
            problems.append("no WireGuard interface")
        if "UP" not in m.link_status:
            problems.append("link not UP")
        if m.peer_count < 1:
            problems.append("no peer")
        if not m.mesh_ip or _ip(m.mesh_ip) not in ipaddress.ip_network(m.mesh_subnet or "0.0.0.0/32", strict=False):
            problems.append(f"mesh address {m.mesh_ip!r} outside its subnet {m.mesh_subnet!r}")
        if not page.reachable:
            problems.append("colony not reachable over the mesh")
        assert not problems, f"{name}: tunnel not up ({'; '.join(problems)}). Seen: {page.summary()}"


@then("every agent reaches the colony through its tunnel")
def step_reach(context):
    w = world_of(context)
    for name in w.live_agents():
        page = poll(lambda name=name: (lambda p: p if p.reachable and p.ping_ok else None)(w.page(name)), 10,
                    f"{name} reaching the colony over the mesh", lambda name=name: w.page(name).summary())
        assert page.colony_mesh_ipv4, f"{name} does not know the colony's mesh address"


@when("a service of this run is connected on the first agent")
def step_connect_service(context):
    w = world_of(context)
    name = w.live_agents()[0]
    service = f"e2et-{w.run.run_id}-svc"
    w.agents[name].connect_service(service, 18080)
    state(context).update(service=service, agent=name)


@then("the colony lists that service for the first agent, learnt from the agent over the mesh")
def step_service_listed(context):
    w, st = world_of(context), state(context)
    agent_id = w.agent_id(st["agent"])
    poll(lambda: st["service"] in (w.listed().get(agent_id) or type("x", (), {"services": []})).services, 10,
         f"the colony listing {st['service']} for {agent_id} (it asks the agent over the mesh)",
         lambda: w.describe_agents([st["agent"]]))


@then("a ping crosses every agent's tunnel in both directions")
def step_ping(context):
    w = world_of(context)
    colony_ip = w.colony.status().mesh_ipv4
    listed = w.listed()
    for name in w.live_agents():
        ok, out = w.host(name).ping(colony_ip)
        assert ok, f"ping {name} → colony {colony_ip} over the tunnel failed: {out}. {w.describe_agents([name])}"
        agent_ip = listed[w.agent_id(name)].mesh_ipv4
        ok, out = w.host("colony").ping(agent_ip)
        assert ok, f"ping colony → {name} {agent_ip} over the tunnel failed: {out}. {w.describe_agents([name])}"


@then("WireGuard on every agent reports a recent handshake with the colony and received bytes")
def step_handshakes(context):
    w = world_of(context)
    for name in w.live_agents():
        peers = w.host(name).wg_peers()
        assert peers, f"{name}: WireGuard has no peer at all"
        assert any(p.up() for p in peers), (f"{name}: no peer with a handshake younger than 180 s and received "
                                            f"bytes: {[(p.endpoint, p.latest_handshake, p.rx_bytes) for p in peers]}")


@then("every agent has its own mesh address inside the mesh subnet")
def step_unique(context):
    w = world_of(context)
    listed = w.listed()
    subnet = w.mesh_subnet()
    ips = {}
    for name in w.live_agents():
        a = listed.get(w.agent_id(name))
        assert a and a.mesh_ipv4, f"{name} has no mesh address in the colony's list: {w.describe_agents()}"
        assert _ip(a.mesh_ipv4) in subnet, f"{name} got {a.mesh_ipv4}, outside the mesh subnet {subnet}"
        ips[name] = a.mesh_ipv4
    dupes = {ip for ip in ips.values() if list(ips.values()).count(ip) > 1}
    assert not dupes, f"agents share mesh addresses: {ips}"
    state(context)["ips"] = ips


@then("the addresses follow one another in the order the agents joined")
def step_sequential(context):
    ips = state(context)["ips"]
    names = list(ips)                         # the profile lists agents in the order they joined
    seq = [_ip(ips[n]) for n in names]
    for (a, x), (b, y) in zip(zip(names, seq, strict=False), zip(names[1:], seq[1:], strict=False), strict=False):
        assert int(y) == int(x) + 1, f"{b} got {y}, but the address after {a}'s {x} is {x + 1}: {ips}"


@then("the colony has a peer for each agent's address")
def step_peers(context):
    w = world_of(context)
    listed = w.listed()

    def missing() -> list[str]:
        page = w.colony.page()
        return [f"{n} ({listed[w.agent_id(n)].mesh_ipv4}/32)" for n in w.live_agents()
                if page.peer_for(listed[w.agent_id(n)].mesh_ipv4) is None]
    poll(lambda: not missing(), 10, "a colony peer for every agent's address",
         lambda: f"missing peers: {missing()}; colony peers: "
                 f"{[(p.public_key, p.allowed_ips) for p in w.colony.page().peers]}")


@when("a new agent of this run registers directly with the colony")
def step_register_direct(context):
    w = world_of(context)
    st = state(context)
    st["highest"] = max((_ip(a.mesh_ipv4) for a in w.listed().values() if a.mesh_ipv4), default=None)
    st["agent_id"], st["registration"] = w.register_direct()


@then("it is given the address after the highest one in use")
def step_next_address(context):
    st = state(context)
    reg = st["registration"]
    assert reg.accepted, f"registration rejected: {reg.reason or '(no reason)'}"
    want = st["highest"] + 1
    assert _ip(reg.assigned_ip) == want, (f"the new agent got {reg.assigned_ip}; the highest address in use was "
                                          f"{st['highest']}, so it should get {want}")


@given("each agent's mesh address is noted")
def step_note(context):
    w = world_of(context)
    listed = w.wait_healthy(timeout=30)
    state(context)["noted"] = {n: listed[w.agent_id(n)].mesh_ipv4 for n in w.live_agents()}


@when("the first agent is restarted")
def step_restart_agent(context):
    w = world_of(context)
    name = w.live_agents()[0]
    w.hold_agents([name])
    restarted_at = time.time()
    w.release_agents([name])
    state(context).update(restarted=name, restarted_at=restarted_at)


@then("the first agent is healthy again with the same address")
def step_same_address(context):
    w, st = world_of(context), state(context)
    name = st["restarted"]
    listed = w.wait_healthy([name], since=st["restarted_at"])
    got = listed[w.agent_id(name)].mesh_ipv4
    assert got == st["noted"][name], f"{name} came back with {got}, it had {st['noted'][name]}"
