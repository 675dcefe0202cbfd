"""Steps: discovery leases, lookups and split-brain (features/coral/01_discovery.feature)."""
from __future__ import annotations

import time

from behave import given, then, when

from support.coral import state, world_of
from support.coral.connect import RpcError
from support.coral.keys import keypair
from support.waiting import poll


@when("the colony is looked up in discovery")
def step_lookup(context):
    state(context)["entry"] = world_of(context).discovery.lookup_colony(world_of(context).colony_id)


@then("discovery knows the colony with its public key, its endpoints and its mesh address")
def step_known(context):
    w, e = world_of(context), state(context)["entry"]
    assert e.mesh_id == w.colony_id, f"discovery returned mesh id {e.mesh_id!r}, expected {w.colony_id!r}"
    assert len(e.pubkey) == 44, f"colony public key {e.pubkey!r} is not a 44-character WireGuard key"
    assert e.endpoints and all(":" in ep for ep in e.endpoints), f"colony endpoints {e.endpoints!r} are not host:port"
    assert e.mesh_ipv4, f"discovery has no mesh address for the colony: {e}"
    assert e.connect_port > 0, f"discovery has no connect port for the colony: {e}"


@then("the identity discovery gives is the one the colony reports itself")
def step_same_identity(context):
    w, e = world_of(context), state(context)["entry"]
    st = w.colony.status()
    assert st.status == "running", f"colony GetStatus says {st.status!r}, expected 'running'"
    assert st.colony_id == w.colony_id, f"colony reports id {st.colony_id!r}, discovery {e.mesh_id!r}"
    assert st.public_key == e.pubkey, (f"discovery holds key {e.pubkey[:12]}… but the colony's WireGuard key is "
                                       f"{st.public_key[:12]}…")
    assert st.mesh_ipv4 == e.mesh_ipv4, f"discovery says mesh address {e.mesh_ipv4}, colony {st.mesh_ipv4}"


@when("the colony is looked up twice, one registration period apart")
def step_lookup_twice(context):
    w = world_of(context)
    first = w.discovery.lookup_colony(w.colony_id)
    period = w.settings.lease.register_interval
    seen = {"last": first.last_seen_raw}

    def renewed():
        try:
            e = w.discovery.lookup_colony(w.colony_id)
        except RpcError as err:
            raise AssertionError(f"the colony's lease lapsed instead of being renewed every {period:g}s: "
                                 f"{err.code}: {err.message}") from None
        seen["last"] = e.last_seen_raw
        return e if e.last_seen_raw != first.last_seen_raw else None
    later = poll(renewed, 2 * period + 5, f"the colony's lease renewed (register interval {period:g}s)",
                 lambda: f"lastSeen stayed {seen['last']!r}")
    state(context).update(first=first, later=later)


@then("the colony renewed its lease in between")
def step_renewed(context):
    st = state(context)
    assert st["later"].pubkey == st["first"].pubkey, "the renewing colony changed its key"
    assert st["later"].last_seen_raw != st["first"].last_seen_raw


@given("a colony of this run registered in discovery with a key of its own")
def step_suite_colony(context):
    mesh_id, pub = world_of(context).suite_colony()
    state(context).update(mesh_id=mesh_id, pubkey=pub, registered_at=time.monotonic())


@when("that colony stops renewing its lease")
def step_stop_renewing(context):
    pass      # the suite's colony renews only when a step registers it again


@then("discovery forgets that colony once its lease has run out")
def step_forgotten(context):
    w, st = world_of(context), state(context)
    ttl = w.settings.lease.ttl
    w.discovery.lookup_colony(st["mesh_id"])          # still known right after registering

    def gone() -> bool:
        try:
            w.discovery.lookup_colony(st["mesh_id"])
            return False
        except RpcError as e:
            assert e.code == "not_found", f"lookup of an expired lease failed with {e.code}, expected not_found"
            return True
    poll(gone, ttl + 10, f"discovery forgetting the lease (ttl {ttl:g}s)", lambda: "the lease was still served")
    age = time.monotonic() - st["registered_at"]
    assert age >= ttl - 1, f"the lease vanished after {age:.1f}s, before its ttl of {ttl:g}s"


@when("a mesh that nobody registered is looked up")
def step_unknown(context):
    w = world_of(context)
    try:
        w.discovery.lookup_colony(w.run.names.name("nobody"))
        state(context)["error"] = None
    except RpcError as e:
        state(context)["error"] = e


@then("discovery answers that the mesh was not found")
def step_not_found(context):
    err = state(context)["error"]
    assert err is not None, "discovery returned a colony for a mesh id nobody registered"
    assert err.code == "not_found", f"expected not_found, discovery answered {err.code}: {err.message}"


@when("another colony claims the same mesh id with a different key")
def step_claim(context):
    w, st = world_of(context), state(context)
    try:
        w.discovery.register_colony(st["mesh_id"], keypair()[1], ["198.51.100.251:41580"], "100.64.0.1")
        st["error"] = None
    except RpcError as e:
        st["error"] = e


@then("discovery refuses the claim because the mesh is already registered")
def step_refused(context):
    w, st = world_of(context), state(context)
    err = st["error"]
    assert err is not None, "discovery let a second key take over a live mesh id (split-brain)"
    expected = "internal" if w.settings.discovery_flavour == "go" else "already_exists"
    assert "already" in err.message, f"split-brain refusal does not say 'already': {err.message}"
    assert err.code == expected, f"split-brain refusal code {err.code}, expected {expected} for this discovery"
    assert w.discovery.lookup_colony(st["mesh_id"]).pubkey == st["pubkey"], "the claim replaced the owner's key"


@then("the owner renews the mesh id with its own key")
def step_owner_renews(context):
    w, st = world_of(context), state(context)
    lease = w.discovery.register_colony(st["mesh_id"], st["pubkey"], ["198.51.100.250:41580"], "100.64.0.1")
    assert lease.success and lease.ttl > 0, f"the owner's renewal was not a lease: {lease}"
