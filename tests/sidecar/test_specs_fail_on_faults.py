"""A spec that cannot fail is a defect: for every fault switch of the stand-in, the @sidecar specs
that check the broken behaviour fail with a message naming the cause, and the other scenarios of
the same features still pass."""
from __future__ import annotations

import pytest

from sandbox.sidecar.faults import CATALOG
from support.sandboxes import start_sandbox

from .conftest import messages, run_specs, statuses

DENY_AUDIT = "A refused request creates nothing and is counted and audited"
MATRIX = "Each token kind reaches exactly the routes its scopes allow"
RATE = "A tenant that reads too fast is slowed down and the other tenant is not"
ISOLATION = "Another tenant can neither see nor touch a trace"
OWNER = "The status store keeps the owner when another tenant reuses the trace id"
HIF_S = "An explained chat at sentence granularity yields a valid HIF v1 graph"
HIF_T = "An explained chat at token granularity yields a valid HIF v1 graph"
STREAM = "The trace stream shows progress, then completion"
WEBHOOK = "A registered webhook hears that the trace completed"
CANCEL = "A running trace can be canceled once, and a finished one not at all"
FAMILIES = "The gateway exports the specified metric families"
DELTAS = "Counters move by exactly this scenario's traffic"
CARDINALITY = "No metric label carries a trace id and the series stay bounded"
SPIKE = "An explanation-lane spike degrades explanations, not chats"
SLO = "Explanations meet their latency objectives under load"
CHAOS = "Failing attribution fails new traces, and traces recover when chaos is off"
PII = "Personal data in a prompt reaches the audit log only masked"
CREDENTIALS = "The audit log records every action and never a credential"
PATHS = "Every API path is versioned under /v1"
KINDS = "The chart renders with Helm and holds the specified kinds of objects"
KEDA = "The explainer's autoscaling bounds agree wherever they are stated"
CAPACITY = "The analyzer's recommendation fits the chart's replica bounds"

FAST = {"E2ET_SIDECAR__TIMEOUTS__WEBHOOK": "3", "E2ET_SIDECAR__TIMEOUTS__STREAM": "5",
        "E2ET_SIDECAR__LOAD__DURATION": "3", "E2ET_SIDECAR__LOAD__POLL_CAP": "20"}

CASES = [
    # fault, param, features to run, scenarios that must fail, words their message must contain
    ("cross-tenant-access", None, ("03",), {ISOLATION}, ["tenant isolation"]),
    ("tenant-overwrite", None, ("03",), {OWNER}, ["owner"]),
    ("scope-check-off", None, ("01",), {MATRIX, DENY_AUDIT}, ["missing_scope"]),
    ("denied-creates-trace", None, ("01",), {DENY_AUDIT}, ["created trace"]),
    ("rate-limiter-off", None, ("01",), {RATE}, ["rate limited"]),
    ("hif-schema-violation", None, ("02",), {HIF_S, HIF_T}, ["not HIF v1", "is not of type"]),
    ("hif-dangling-reference", None, ("02",), {HIF_S, HIF_T}, ["missing node"]),
    ("webhook-never-sent", None, ("02",), {WEBHOOK}, ["webhook delivery"]),
    ("sse-no-complete", None, ("02",), {STREAM}, ["complete event"]),
    ("cancel-terminal-accepted", None, ("02",), {CANCEL}, ["409"]),
    ("metrics-missing", None, ("04",), {FAMILIES, DELTAS}, ["traces_status_get_total"]),
    ("metrics-trace-id-label", None, ("04",), {DELTAS, CARDINALITY}, ["trace id"]),
    ("metrics-double-count", None, ("04",), {DELTAS}, ["rose by 6.0, not by 3"]),
    ("no-backpressure", None, ("05",), {SPIKE}, ["backpressure"]),
    ("slow-stage", 3.0, ("06",), {SLO}, ["sentence explanation p95"]),
    ("chaos-ignored", None, ("09",), {CHAOS}, ["chaos_fail_attribution"]),
    ("chaos-never-recovers", None, ("09",), {CHAOS}, ["recovery"]),
    ("pii-raw", None, ("11",), {PII}, ["personal data raw"]),
    ("token-in-audit", None, ("11",), {CREDENTIALS}, ["credentials"]),
    ("path-outside-v1", None, ("12",), {PATHS}, ["/v2/"]),
    ("chart-missing-kind", None, ("07",), {KINDS}, ["PodDisruptionBudget"]),
    ("keda-drift", None, ("08",), {KEDA}, ["disagree"]),
    ("replica-bounds-too-small", None, ("10",), {CAPACITY}, ["maxReplicaCount 2"]),
]


#: Faults whose damage outlives switching them off (series with trace ids stay in the registry, as
#: on a real deployment): they get a stand-in of their own, started with the fault on.
FRESH = {"metrics-trace-id-label"}


def test_every_fault_switch_has_a_failing_spec_case():
    assert {c[0] for c in CASES} == set(CATALOG)


@pytest.mark.acceptance
@pytest.mark.parametrize("fault,param,features,expected,words", CASES, ids=[c[0] for c in CASES])
def test_spec_fails_when_behaviour_breaks(sidecar, faults, tmp_path, fault, param, features, expected, words):
    if fault in FRESH:
        with start_sandbox("sidecar", tmp_path / "sandbox", faults=[fault], timeout=40) as own:
            run = run_specs(own.profile_path, tmp_path, *features, env=FAST)
    else:
        faults.on(fault, param)
        run = run_specs(sidecar.profile_path, tmp_path, *features, env=FAST)
    status, msgs = statuses(run), messages(run)
    assert status, f"behave ran no scenario: {run.stderr[-2000:]}"
    assert run.returncode == 1, f"fault {fault}: behave exited {run.returncode}\n{run.stdout[-3000:]}"
    failed = {n for n, st in status.items() if st in ("failed", "error")}
    assert failed == expected, (f"fault {fault}: expected exactly {sorted(expected)} to fail, got {sorted(failed)}; "
                                f"{msgs}")
    others = {n: st for n, st in status.items() if n not in expected}
    assert set(others.values()) <= {"passed", "skipped"}, others
    for name in expected:
        missing = [w for w in words if w.lower() not in msgs.get(name, "").lower()]
        assert not missing, f"{name!r} failed without naming the cause {missing}: {msgs.get(name, '')[:1500]}"
