"""Steps of chaos recovery (feature 09)."""
from __future__ import annotations

from behave import given, then, when
from hamcrest import assert_that, equal_to, greater_than

from support.sidecar.steps_support import skippable, state, world_of
from support.sidecar.world import Skip


def _trace(context, budget):
    w = world_of(context)
    trace_id = w.accepted_chat("sentence")
    return w.terminal(trace_id, budget)


@given("the chaos control is cleared and a baseline trace completes")
@skippable
def baseline(context):
    w = world_of(context)
    st = state(context)
    st["chaos"] = w.chaos()
    st["chaos"].disable_all()
    status = _trace(context, "chaos_baseline")
    if status.get("state") != "complete":
        raise Skip(f"the baseline trace did not complete ({status.get('state')}, {status.get('error')}): "
                   "chaos cannot be judged")


@when("the chaos control fails every attribution")
def fail_attribution(context):
    w = world_of(context)
    st = state(context)
    st["e0"] = w.explainer_metrics()
    st["chaos"].enable("fail-attribution", percent=100, mode="fail")


@then("a new trace fails with the attribution chaos error")
def fails(context):
    status = _trace(context, "chaos")
    assert_that((status.get("state"), status.get("error")), equal_to(("failed", "chaos_fail_attribution")),
                f"with fail-attribution at 100 % a new trace must fail with chaos_fail_attribution: {status}")
    state(context)["failed_status"] = status


@then("the explainer counts that failed job")
@skippable
def failed_counted(context):
    w = world_of(context)
    st = state(context)
    e1 = w.explainer_metrics()
    if e1 is None or st.get("e0") is None:
        raise Skip(f"explainer metrics endpoint unreachable ({w.s.metrics_explainer})")
    delta = e1.value("explainer_jobs_total", state="failed") - st["e0"].value("explainer_jobs_total", state="failed")
    assert_that(delta, greater_than(0), "explainer_jobs_total{state='failed'} did not rise for the failed trace")


@when("the chaos control is cleared")
def cleared(context):
    state(context)["chaos"].disable_all()


@then("a new trace completes again")
def recovers(context):
    status = _trace(context, "recovery")
    assert_that(status.get("state"), equal_to("complete"),
                f"after chaos is disabled new traces must complete again (recovery): {status}")
