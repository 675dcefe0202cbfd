"""Steps of the deploy artifacts, autoscaling, capacity and API versioning (features 07, 08, 10, 12)."""
from __future__ import annotations

import json
from pathlib import Path

from behave import given, then, when
from hamcrest import assert_that, empty, equal_to, has_length, is_not

from support.sidecar import analyzer, artifacts
from support.sidecar.steps_support import attach, skippable, state, world_of
from support.sidecar.world import Skip

OPENAPI_PATHS = {"/v1/chat/completions", "/v1/chat/completions/{id}/explanation", "/v1/traces/{trace_id}/status",
                 "/v1/traces/{trace_id}/graph", "/v1/traces/{trace_id}/stream", "/v1/traces/{trace_id}/webhooks",
                 "/v1/traces/{trace_id}"}


def _rendered(context):
    w = world_of(context)

    def render():
        text = artifacts.render_chart(Path(w.s.helm_chart))
        return text, artifacts.documents(text)
    return w.once("rendered_chart", render)


@when("the system's chart is rendered with Helm")
@skippable
def render(context):
    try:
        state(context)["text"], state(context)["docs"] = _rendered(context)
    except artifacts.HelmAbsent as e:
        raise Skip(str(e)) from None


@then("it holds deployments, services, disruption budgets, network policies and a scaled object")
def kinds(context):
    missing = [k for k in artifacts.KINDS if k not in artifacts.kind_lines(state(context)["text"])]
    assert_that(missing, empty(), "`helm template` output lacks `kind:` lines the contract lists")


@then("the chart's objects carry the specified names and labels")
def names(context):
    assert_that(artifacts.chart_problems(state(context)["docs"]), empty(), "chart objects differ from the contract")


@then("the ArgoCD application of the system points at the chart's path and syncs automatically")
def argocd(context):
    w = world_of(context)
    app = artifacts.argocd_app(Path(w.s.argocd_manifest))
    assert_that(app, is_not(None), f"{w.s.argocd_manifest} holds no Application named hypergraph")
    spec = app.get("spec", {})
    path = spec.get("source", {}).get("path") or ""
    chart = Path(w.s.helm_chart).resolve().as_posix()
    assert_that(bool(path) and chart.endswith("/" + path.strip("/")), equal_to(True),
                f"ArgoCD source.path {path!r} does not point at the chart {chart}")
    assert_that(app.get("metadata", {}).get("namespace"), equal_to("argocd"), "the Application lives in argocd")
    auto = spec.get("syncPolicy", {}).get("automated") or {}
    assert_that((auto.get("prune"), auto.get("selfHeal")), equal_to((True, True)),
                f"syncPolicy.automated must prune and selfHeal: {auto}")


@then("the explainer's minimum and maximum replicas and backlog target agree across the values, the rendered "
      "scaled object and the ArgoCD values")
def keda_agree(context):
    w = world_of(context)
    sources = artifacts.keda_sources(Path(w.s.helm_chart), state(context)["docs"], Path(w.s.argocd_manifest))
    attach("KEDA bounds by source", json.dumps(sources, indent=2))
    distinct = set(sources.values())
    assert_that(distinct, has_length(1), f"KEDA (min, max, backlog target) disagree: {sources}")
    assert_that(None in next(iter(distinct)), equal_to(False), f"a KEDA bound is missing: {sources}")


@then("the scaled object template takes its bounds and threshold from the values")
def keda_template(context):
    w = world_of(context)
    template = Path(w.s.keda_template) if w.s.keda_template else Path(w.s.helm_chart) / "templates/keda-scalers.yaml"
    assert_that(artifacts.keda_template_problems(template), empty(), f"{template} is not wired to the values")


@then("Karpenter defines the CPU and GPU node pools with their node classes, and the GPU pool requires an "
      "accelerator")
def karpenter(context):
    w = world_of(context)
    assert_that(artifacts.karpenter_problems(Path(w.s.karpenter_file)), empty(), f"{w.s.karpenter_file}")


@given("tenant A has explained chats in the status store")
@skippable
def traces_in_store(context):
    w = world_of(context)
    for _ in range(3):
        w.completed_trace("sentence")
    w.status_store()


@when("the system's attach-rate analyzer runs on the status store and the audit log")
@skippable
def run_analyzer(context):
    w = world_of(context)
    conc = w.s.analyzer_concurrency or w.s.load.concurrency
    audit = Path(w.s.audit_log) if w.s.audit_log and Path(w.s.audit_log).exists() else None
    try:
        summary = analyzer.run_analyzer(Path(w.s.analyzer), Path(w.s.status_json), audit, conc, w.s.load.token_mix,
                                        w.wait(w.s.timeouts.analyzer))
    except analyzer.AnalyzerUnavailable as e:
        raise Skip(str(e)) from None
    attach("attach-rate analyzer summary", json.dumps(summary, indent=2))
    state(context).update(summary=summary, concurrency=conc)


@then("its recommendation for the run's concurrency fits the chart's replica bounds")
@skippable
def fits(context):
    w = world_of(context)
    st = state(context)
    try:
        lo, hi, _ = artifacts.keda_triplet(artifacts.load_yaml(Path(w.s.helm_chart) / "values.yaml"))
    except (OSError, ValueError) as e:
        raise Skip(f"values.yaml missing or unparseable ({e})") from None
    if lo is None or hi is None:
        raise Skip("values.yaml has no explainer.keda bounds")
    rec = analyzer.recommendation_for(st["summary"], st["concurrency"])
    assert_that(analyzer.compare(rec, int(lo), int(hi)), empty(),
                f"the analyzer's recommendation for concurrency {rec['concurrency']} (attach rate "
                f"{st['summary']['attach_rate']['mean']:.2f}) does not fit KEDA {lo}..{hi}: {rec['replicas']}")


@then("the API description lists the seven specified paths, all under /v1 and none under /v2")
def openapi(context):
    w = world_of(context)
    paths = artifacts.openapi_paths(Path(w.s.openapi_file))
    outside = [p for p in paths if not p.startswith("/v1/")]
    assert_that(outside, empty(), "API paths outside /v1 (breaking changes belong in a new major version)")
    assert_that(sorted(set(paths) ^ OPENAPI_PATHS), empty(), "the OpenAPI paths differ from the 7 specified")


@then("the change-management document requires ADRs, a release freeze, deprecation windows and /v1 stability")
def change_doc(context):
    w = world_of(context)
    assert_that(artifacts.change_doc_missing(Path(w.s.change_management_doc)), empty(),
                f"{w.s.change_management_doc} lacks required terms")
