"""Steps of observability: families, exact deltas, the low-cardinality rule (feature 04)."""
from __future__ import annotations

from behave import given, then, when
from hamcrest import assert_that, empty, equal_to, greater_than, less_than

from support.errors import InfrastructureError
from support.sidecar.metrics import EXPLAINER_FAMILIES, GATEWAY_FAMILIES
from support.sidecar.steps_support import skippable, state, world_of
from support.sidecar.world import Skip


@given("the gateway exports metrics")
@skippable
def gateway_metrics_on(context):
    w = world_of(context)
    try:
        scrape = w.gateway_metrics()
    except InfrastructureError as e:
        raise Skip(f"metrics endpoints not enabled: {e}") from None
    if "http_requests_total" not in scrape.names():
        raise Skip("metrics endpoints not enabled: the gateway's /metrics lacks http_requests_total")


@then("the gateway's metrics hold every specified family, with request duration as a histogram")
def families_present(context):
    w = world_of(context)
    w.gw.call("GET", f"/v1/traces/{state(context)['trace_id']}/graph")      # labelled families need one use
    scrape = w.gateway_metrics()
    declared = scrape.names() | set(scrape.types)       # a labelled family may be declared before first use
    base = {"http_request_duration_seconds": ("_bucket", "_sum", "_count")}
    missing = [f for f in GATEWAY_FAMILIES if f not in base and f not in declared]
    missing += [f + s for f, sfx in base.items() for s in sfx if f + s not in scrape.names()]
    assert_that(missing, empty(), "the gateway's /metrics lacks specified families")
    assert_that(scrape.types.get("http_request_duration_seconds"), equal_to("histogram"),
                "http_request_duration_seconds must be a histogram")


@when("tenant A reads the status of that trace {n:d} times and its graph {m:d} times")
def read_n_times(context, n, m):
    w = world_of(context)
    w.exclusive()
    st = state(context)
    st["before"] = w.gateway_metrics()
    for _ in range(n):
        w.gw.ok(w.gw.status(st["trace_id"]), 200)
    for _ in range(m):
        w.gw.ok(w.graph(st["trace_id"]), 200)
    st["after"] = w.gateway_metrics()


@then("tenant A's status-read counter rose by exactly {n:d} and its graph-read counter by exactly {m:d}")
def deltas(context, n, m):
    w = world_of(context)
    st = state(context)
    t = w.s.tenant_a
    for name, want in (("traces_status_get_total", n), ("traces_graph_get_total", m)):
        delta = st["after"].value(name, tenant_id=t) - st["before"].value(name, tenant_id=t)
        assert_that(delta, equal_to(float(want)), f"{name}{{tenant_id={t!r}}} rose by {delta}, not by {want}")


@then("the request counter of the templated status path rose by exactly {n:d} for tenant A")
def templated_delta(context, n):
    w = world_of(context)
    st = state(context)
    lab = {"path": "/v1/traces/_/status", "method": "GET", "status": "200", "tenant_id": w.s.tenant_a}
    delta = st["after"].value("http_requests_total", **lab) - st["before"].value("http_requests_total", **lab)
    assert_that(delta, equal_to(float(n)), f"http_requests_total{lab} rose by {delta}, not {n}: paths must be "
                                           "templated (/v1/traces/_/status), never carry a trace id")


@when("tenant A completes {n:d} explained chats and reads each status")
@skippable
def many_traces(context, n):
    w = world_of(context)
    w.exclusive()
    st = state(context)
    st["before"] = w.gateway_metrics()
    ids = []
    for _ in range(n):
        tid, _ = w.completed_trace("sentence")
        w.gw.call("GET", f"/v1/traces/{tid}/graph")
        ids.append(tid)
    st["ids"], st["n"] = ids, n
    st["after"] = w.gateway_metrics()


@then("no metric label of the gateway or the explainer carries a trace id")
def no_trace_labels(context):
    w = world_of(context)
    ids = state(context)["ids"]
    bad = state(context)["after"].trace_id_labels(ids)
    ex = w.explainer_metrics()
    if ex is not None:
        bad += [f"explainer {b}" for b in ex.trace_id_labels(ids)]
    assert_that(bad, empty(), "metric labels carry trace ids (the low-cardinality rule)")


@then("the gateway's series grew by fewer than the {n:d} new traces")
def bounded(context, n):
    st = state(context)
    grew = st["after"].series_count() - st["before"].series_count()
    assert_that(grew, less_than(n), f"the gateway gained {grew} series for {n} traces: series must not grow "
                                    "with traffic")


@then("the explainer's metrics count the completed job and time each stage")
@skippable
def explainer_families(context):
    w = world_of(context)
    ex = w.explainer_metrics()
    if ex is None:
        raise Skip(f"explainer metrics endpoint unreachable ({w.s.metrics_explainer}; sidecar.metrics_explainer)")
    names = ex.names()
    missing = [f for f in EXPLAINER_FAMILIES if f not in names and f + "_count" not in names]
    assert_that(missing, empty(), "the explainer's /metrics lacks specified families")
    assert_that(ex.value("explainer_jobs_total", state="completed"), greater_than(0),
                "explainer_jobs_total{state='completed'} has not counted the completed job")
    stages = {lab.get("stage") for n, lab, _ in ex.samples if n == "explainer_stage_duration_seconds_count"}
    lacking = [s for s in ("decode", "attribution", "prune", "persist") if s not in stages]
    assert_that(lacking, empty(), f"explainer_stage_duration_seconds lacks stages (has {sorted(filter(None, stages))})")
