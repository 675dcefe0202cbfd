"""A spec that cannot fail is a defect: for every fault switch of the sandbox, the @salus specs
that check the broken behaviour must fail — with a message naming the cause — and the
independent ones must still pass.

Faults whose scenarios do not overlap share one behave run (a *family*): each of them breaks only
its own scenarios, and each failing scenario must name its own fault's cause, so one run proves
every fault of the family — and the run waits only the sandbox-derived budgets (the sandbox
profile's events/presence/installs timeouts), once per family instead of once per fault.
"""
from __future__ import annotations

import pytest

from .behave_runner import run_behave

TOKENS = "Identity issues tokens to the regular and the admin user"
CATALOG = "The agent catalog offers a telegraf release for this platform"
ZONE = "A private zone is created for this run"
ISOLATION = "The tenant sees only its own envoy tokens"
JANITOR = "Leftovers of an earlier, dead e2et run are removed from the dedicated tenant"
PRESENCE = "A new envoy attaches and is seen by the platform"
DISCONNECT = "An envoy that stops is no longer reported connected"
INSTALL = "An agent install lands only in the data directory of the envoy it selects"
TCP = "A TCP check raises CRITICAL while its port is closed and recovers to OK once it accepts connections"
HTTP = ("An account-type HTTP policy monitor in a public zone raises CRITICAL and recovers to OK once its "
        "address answers")
BINDING = "A monitor selecting by labels is bound only to the resources it selects"

ALL_RUN = {TOKENS, CATALOG, ZONE, ISOLATION, JANITOR, PRESENCE, DISCONNECT, INSTALL, TCP, HTTP, BINDING}
EVENTS = {TCP, HTTP}

#: fault → (param, {scenario that must fail: words its message must contain (the cause)})
FAULTS: dict[str, tuple[object, dict[str, list[str]]]] = {
    "attach-events-dropped": (None, {PRESENCE: ["attach event", "telemetry.attaches.json"]}),
    "presence-zero": (None, {PRESENCE: ["presence monitor reports", "connected", "value='0'"]}),
    "presence-stuck-connected": (None, {DISCONNECT: ["disconnected after its envoy stopped", "value='1'"]}),
    "installs-withheld": (None, {INSTALL: ["agent binary", "no agent"],
                                 TCP: ["agent binary", "no agent"], HTTP: ["agent binary", "no agent"]}),
    "install-wrong-path": (None, {INSTALL: ["agents/TELEGRAF", "1.13.2-wrong"],
                                  TCP: ["agents/TELEGRAF", "1.13.2-wrong"], HTTP: ["agents/TELEGRAF", "1.13.2-wrong"]}),
    "installs-unselected": (None, {INSTALL: ["reached an envoy its selector does not match"]}),
    "events-drop-critical": (None, {TCP: ["CRITICAL net_response event", "result=connection_failed"],
                                    HTTP: ["CRITICAL http_response event", "result=connection_failed"]}),
    # OK instead of CRITICAL: the initial OK is not announced, so no event at all — the checks' failing
    # results (which the message lists) show that the engine, not the check, broke
    "events-ok-instead": (None, {TCP: ["CRITICAL net_response event", "result=connection_failed"],
                                 HTTP: ["CRITICAL http_response event", "result=connection_failed"]}),
    "events-wrong-tenant": (None, {TCP: ["WRONG TENANT"], HTTP: ["WRONG TENANT"]}),
    "wrong-poller": (None, {TCP: ["wrong poller or zone", "private zone"],
                            HTTP: ["wrong poller or zone", "public zone", "region's poller"]}),
    "http-url-ignored": (None, {HTTP: ["OK http_response event", "probed http://localhost"]}),
    "selector-overbinds": (None, {BINDING: ["label selector does not select"]}),
    "tenant-leak": (None, {ISOLATION: ["tenant isolation"]}),
    "deletes-ignored": ("resources", {name: ["resources: DELETE answered 204 but", "still exist"]
                                      for name in (JANITOR, PRESENCE, DISCONNECT, INSTALL, BINDING)}),
    "route-500": ("zones", {name: ["500"] for name in (ZONE, JANITOR, PRESENCE, DISCONNECT, INSTALL, TCP, HTTP,
                                                         BINDING)}),
}
#: faults whose failing scenarios are disjoint and that leave each other's scenarios alone
FAMILIES = [
    ["attach-events-dropped", "presence-stuck-connected", "installs-unselected", "selector-overbinds",
     "tenant-leak", "http-url-ignored"],
    ["presence-zero", "wrong-poller"],
    ["deletes-ignored", "events-ok-instead"],
    ["installs-withheld"],
    ["install-wrong-path"],
    ["events-drop-critical"],
    ["events-wrong-tenant"],
    ["route-500"],
]


def test_every_fault_switch_has_a_failing_spec() -> None:
    """Each switch of the catalogue is proven here or by its own test (the slow / broker ones)."""
    from sandbox.salus.faults import CATALOG

    own_tests = {"slow-responses", "broker-stopped"}
    assert set(CATALOG) == set(FAULTS) | own_tests
    assert sorted(f for family in FAMILIES for f in family) == sorted(FAULTS)
    for family in FAMILIES:
        scenarios = [set(FAULTS[f][1]) for f in family]
        assert all(a.isdisjoint(b) for i, a in enumerate(scenarios) for b in scenarios[i + 1:]), family


@pytest.mark.acceptance
@pytest.mark.parametrize("family", FAMILIES, ids=["+".join(f) for f in FAMILIES])
def test_specs_fail_when_behaviour_breaks(sandbox, faults, tmp_path, family):
    expected: dict[str, list[str]] = {}
    for fault in family:
        param, scenarios = FAULTS[fault]
        faults.on(fault, param)
        expected.update(scenarios)
    run = run_behave(sandbox.profile_path, tmp_path, tags="@salus")
    assert run.returncode == 1, run.stderr[-2000:]
    assert run.failed() == set(expected), (
        f"faults {family}: expected exactly {sorted(expected)} to fail, got {sorted(run.failed())}\n"
        + run.stdout[-3000:])
    assert run.passed() == ALL_RUN - set(expected)
    for name, words in expected.items():
        msg = run.message(name)
        missing = [w for w in words if w.lower() not in msg.lower()]
        assert not missing, f"{name!r} failed without naming the cause {missing}: {msg[:2500]}"


@pytest.mark.acceptance
def test_slow_responses_fail_setup_with_a_timeout(sandbox, faults, tmp_path):
    """Responses slower than http.timeout: every setup scenario fails naming the timeout (a 1 s
    budget against 2 s responses proves it as well as the default 5 s against 6 s, 5 times faster)."""
    faults.on("slow-responses", 2)
    run = run_behave(sandbox.profile_path, tmp_path, "--include", "01_test_run_setup", tags="@salus",
                     env={"E2ET_HTTP__TIMEOUT": "1"})
    assert run.returncode == 1
    assert run.failed() == {TOKENS, CATALOG, ZONE, ISOLATION, JANITOR}
    for name in run.failed():
        assert "timed out" in run.message(name).lower(), run.message(name)[:1000]
