"""A spec that cannot fail is a defect: for every fault switch of the sandbox, the @salus specs
that check the broken behaviour must fail — with a message naming the cause — and the
independent ones must still pass."""
from __future__ import annotations

import pytest

from .behave_runner import run_behave

TOKENS = "Identity issues tokens to the regular and the admin user"
CATALOG = "The agent catalog offers a telegraf release for this platform"
ZONE = "A private zone is created for this run"
ISOLATION = "The tenant sees only its own envoy tokens"
JANITOR = "Leftovers of an earlier, dead e2et run are removed from the dedicated tenant"
PRESENCE = "A new envoy attaches and is seen by the platform"
NO_AGENT = "An envoy with no matching install holds no agent"
INSTALL = "An agent install lands in the envoy's data directory"
UNINSTALL = "Deleting an install removes the agent from an attached envoy"
TCP = "A TCP monitor on a closed port raises a critical event"
HTTP = "An account-type HTTP policy monitor in a public zone raises a critical event"
RECOVERY = "A TCP target that starts accepting connections recovers to OK"

ALL_RUN = {TOKENS, CATALOG, ZONE, ISOLATION, JANITOR, PRESENCE, NO_AGENT, INSTALL, TCP, HTTP, RECOVERY}
EVENTS = {TCP, HTTP, RECOVERY}

CASES = [
    # fault, param, scenarios that must fail, words the failure message must contain
    ("attach-events-dropped", None, {PRESENCE}, ["attach"]),
    ("presence-zero", None, {PRESENCE}, ["presence", "connected"]),
    ("installs-withheld", None, {INSTALL} | EVENTS, ["agent"]),
    ("install-wrong-path", None, {INSTALL} | EVENTS, ["agents/TELEGRAF"]),
    ("events-drop-critical", None, EVENTS, ["CRITICAL"]),
    ("events-ok-instead", None, EVENTS, ["CRITICAL"]),
    ("route-500", "zones", {ZONE, JANITOR, PRESENCE, NO_AGENT, INSTALL} | EVENTS, ["500"]),
    ("tenant-leak", None, {ISOLATION}, ["tenant isolation"]),
]


@pytest.mark.acceptance
@pytest.mark.parametrize("fault,param,expected,words", CASES, ids=[c[0] for c in CASES])
def test_spec_fails_when_behaviour_breaks(sandbox, faults, tmp_path, fault, param, expected, words):
    faults.on(fault, param)
    run = run_behave(sandbox.profile_path, tmp_path, tags="@salus")
    assert run.returncode == 1, run.stderr[-2000:]
    assert run.failed() == expected, (
        f"fault {fault}: expected exactly {sorted(expected)} to fail, got {sorted(run.failed())}\n"
        + run.stdout[-3000:])
    assert run.passed() == ALL_RUN - expected
    for name in expected:
        msg = run.message(name)
        missing = [w for w in words if w.lower() not in msg.lower()]
        assert not missing, f"{name!r} failed without naming the cause {missing}: {msg[:1500]}"


@pytest.mark.acceptance
def test_slow_responses_fail_setup_with_a_timeout(sandbox, faults, tmp_path):
    faults.on("slow-responses", 6)
    run = run_behave(sandbox.profile_path, tmp_path, "--include", "01_test_run_setup", tags="@salus")
    assert run.returncode == 1
    assert run.failed() == {TOKENS, CATALOG, ZONE, ISOLATION, JANITOR}
    for name in run.failed():
        assert "timed out" in run.message(name).lower(), run.message(name)[:1000]
