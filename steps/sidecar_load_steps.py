"""Steps of backpressure and the SLO under load (features 05, 06)."""
from __future__ import annotations

import json

from behave import given, then, when
from hamcrest import assert_that, empty, equal_to, greater_than, has_item, is_in, is_not, less_than_or_equal_to

from support.sidecar.load_checks import bp_signals, offered_over_limit, sample_graph_problems
from support.sidecar.steps_support import attach, skippable, state, world_of
from support.sidecar.world import Skip


@when("the load runs with the profile's duration, concurrency and attach rate")
@skippable
def run_the_load(context):
    w = world_of(context)
    g0, e0, result, g1, e1 = w.load_scrapes()
    if result.chats == 0:
        raise Skip("the load run could not start (no chat was sent)")
    state(context).update(load=result, g0=g0, g1=g1, e0=e0, e1=e1)


@then("the load summary is attached to the report")
def summary_attached(context):
    summary = state(context)["load"].summary()
    attach("load summary", json.dumps(summary, indent=2))
    print(json.dumps(summary))


@then("the chats beyond tenant A's write limit were shed with a retry hint and counted")
def shed_at_gateway(context):
    w = world_of(context)
    st = state(context)
    res = st["load"]
    if not offered_over_limit(res, w.s.rate_limits):
        print("note: the load stayed within tenant A's write limit: no shedding was due")
        return
    assert_that(res.statuses.get(429, 0), greater_than(0),
                f"the load offered more chats than the write limit admits but none got 429: {res.statuses}")
    bad = [h for h in res.retry_after if not (h.isdigit() and int(h) >= 1)]
    assert_that(bad[:5], empty(), "429 answers must carry Retry-After in integer seconds ≥ 1")
    if st["g0"] is not None and st["g1"] is not None:
        lab = {"category": "write", **({"tenant_id": w.s.tenant_a} if w.s.tenant_a else {})}
        delta = st["g1"].value("rate_limit_rejections_total", **lab) - st["g0"].value("rate_limit_rejections_total",
                                                                                      **lab)
        assert_that(delta, greater_than(0), "rate_limit_rejections_total did not count the load's 429s")


@then("the explainer's backpressure signals during the load are recorded")
def signals_recorded(context):
    st = state(context)
    signals = bp_signals(st["load"], st["e1"])
    attach("backpressure signals", json.dumps(signals, indent=2))
    print("backpressure signals: " + json.dumps(signals))


@then("at least one sampled attached trace serves a valid HIF v1 graph")
@skippable
def continuity(context):
    w = world_of(context)
    res = state(context)["load"]
    completed = [t for t in res.traces if t.state == "complete"]
    if not res.traces:
        raise Skip("the load produced no attached traces")
    if not completed:
        raise Skip("the load produced zero completed explanations")
    ok, problems = sample_graph_problems(w, res, w.s.load.sample_traces)
    assert_that(ok, greater_than(0), f"none of the sampled attached traces served a valid graph: {problems[:3]}")


@given("the load of this run has completed explanations")
@skippable
def load_for_slo(context):
    w = world_of(context)
    _, _, result, _, _ = w.load_scrapes()
    if not result.traces:
        raise Skip("the load produced no attached traces")
    if not any(t.state == "complete" for t in result.traces):
        raise Skip("the load produced zero completed explanations")
    state(context)["load"] = result
    attach("load summary", json.dumps(result.summary(), indent=2))


@then("the {granularity} explanations' 95th percentile latency is within the {objective} objective")
def slo(context, granularity, objective):
    w = world_of(context)
    summary = state(context)["load"].summary()
    p95 = summary["explanation"]["sla_p95_ms"][granularity]
    limit = getattr(w.s.slo, f"{granularity}_p95") * 1000
    if p95 is None:
        print(f"note: no completed {granularity} explanation in the load: nothing to judge (not a failure)")
        return
    assert_that(p95, less_than_or_equal_to(limit), f"{granularity} explanation p95 {p95:.0f} ms exceeds the "
                                                   f"{limit:.0f} ms objective ({summary['explanation']})")


# ---------------------------------------------------------------- chaos spike (backpressure)
@when("the chaos control raises a {severity} backpressure spike")
@skippable
def spike(context, severity):
    w = world_of(context)
    st = state(context)
    if "chaos" not in st:
        st["chaos"] = w.chaos()
    st["chaos"].write({"rate-limit-spike": {"enabled": True, "severity": severity}})
    st["severity"] = severity
    st["e0"] = w.explainer_metrics()


@when("tenant A asks for an explained chat at token granularity")
@skippable
def spike_chat(context):
    trace_id, resp = world_of(context).explained_chat("token")
    state(context).update(trace_id=trace_id, response=resp)


@then("the chat is answered at once")
def chat_answered(context):
    r = state(context)["response"]
    assert_that(r.status_code, equal_to(200), f"the chat lane must not degrade under backpressure: {r.status_code}")


@then("the trace completes with its backpressure level and degrade actions recorded")
def degraded(context):
    w = world_of(context)
    st = state(context)
    status = w.terminal(st["trace_id"])
    assert_that(status.get("state"), equal_to("complete"), f"a soft spike degrades, it does not fail: {status}")
    assert_that(status.get("bp_level"), is_in((1, 2)), f"the status records no backpressure level: {status}")
    assert_that(status.get("bp_actions") or [], has_item("reduce-samples"),
                f"a soft spike applies reduce-samples and reduce-topk: {status}")


@then("the trace is shed by backpressure and the explainer counts the drop")
def shed(context):
    w = world_of(context)
    st = state(context)
    status = w.terminal(st["trace_id"])
    assert_that((status.get("state"), status.get("error")), equal_to(("shed", "backpressure_dropped")),
                f"a hard spike sheds the job with error backpressure_dropped: {status}")
    e1 = w.explainer_metrics()
    if e1 is not None and st.get("e0") is not None:
        delta = e1.value("backpressure_actions_total", action="drop") - st["e0"].value("backpressure_actions_total",
                                                                                       action="drop")
        assert_that(delta, greater_than(0), "backpressure_actions_total{action='drop'} did not count the drop")
    assert_that(status, is_not(None))
