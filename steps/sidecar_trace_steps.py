"""Steps of the trace workflow: explained chats, status, HIF graphs, streams, webhooks, cancel,
and tenant isolation of a trace (features 02, 03, 12)."""
from __future__ import annotations

from behave import given, then, when
from hamcrest import assert_that, empty, equal_to, is_in, is_not

from support.sidecar.steps_support import skippable, state, world_of
from support.sidecar.world import Skip

FEATURESET = "sae-gpt4-2m"


@given("the chat upstream answers explained chats")
@skippable
def upstream_answers(context):
    def probe():
        r = world_of(context).gw.chat("upstream probe", explain=False)
        if r.status_code >= 500:
            raise Skip(f"chat upstream error (LLM proxy not configured): HTTP {r.status_code} {r.text[:120]}")
        return r.status_code
    world_of(context).once("upstream_probe", probe)


@when("tenant A asks for an explained chat at {granularity} granularity with its own trace id")
@skippable
def ask_explained(context, granularity):
    trace_id, resp = world_of(context).explained_chat(granularity)
    st = state(context)
    st.update(trace_id=trace_id, response=resp, granularity=granularity)


@then("the answer names that trace and says it is queued or running")
def answer_names_trace(context):
    st = state(context)
    body = world_of(context).gw.ok(st["response"], 200, what="explained chat")
    meta = body.get("explanation_metadata") or {}
    assert_that(meta.get("trace_id"), equal_to(st["trace_id"]),
                f"explanation_metadata.trace_id must echo the sent x-trace-id: {meta}")
    assert_that(meta.get("status"), is_in(("queued", "running", "processing", "partial")),
                f"a new trace must be reported queued or running: {meta}")
    assert_that(meta.get("stream_endpoint"), equal_to(f"/v1/traces/{st['trace_id']}/stream"),
                f"explanation_metadata.stream_endpoint is wrong: {meta}")
    assert_that(st["response"].headers.get("x-trace-id"), equal_to(st["trace_id"]),
                "the x-trace-id response header must echo the client's trace id")


@then("the trace completes within the explanation timeout with full progress")
def trace_completes(context):
    w = world_of(context)
    st = state(context)
    status = w.terminal(st["trace_id"])
    st["status"] = status
    assert_that(status.get("state"), equal_to("complete"),
                f"trace {st['trace_id']} ended {status.get('state')} (error {status.get('error')})")
    assert_that(float(status.get("progress") or 0), equal_to(100.0), f"a complete trace reports progress 100: {status}")


@then("the trace status echoes the {granularity} granularity and the feature set")
def status_echoes(context, granularity):
    status = state(context)["status"]
    assert_that((status.get("granularity"), status.get("featureset")), equal_to((granularity, FEATURESET)),
                f"the status must echo granularity and featureset: {status}")


@then("the graph of the trace is valid HIF v1 at {granularity} granularity")
def graph_valid(context, granularity):
    w = world_of(context)
    st = state(context)
    graph = w.gw.ok(w.graph(st["trace_id"]), 200, what=f"graph of {st['trace_id']}")
    st["graph"] = graph
    assert_that(w.graph_problems(graph, granularity), empty(), f"graph of {st['trace_id']} is not valid HIF v1")


@then("the stored artifact of the trace holds the same graph")
def artifact_matches(context):
    w = world_of(context)
    st = state(context)
    stored = w.stored_artifact(st["status"].get("s3_key"))
    if stored is None:
        print(f"note: artifact {st['status'].get('s3_key')} not readable under sidecar.s3_check — not compared")
        return
    assert_that(stored, equal_to(st["graph"]), "the stored artifact differs from the served graph")


@when("tenant A asks for an explained chat at token granularity and follows its stream")
@skippable
def chat_and_stream(context):
    w = world_of(context)
    trace_id = w.accepted_chat("token")
    state(context).update(trace_id=trace_id, stream=w.follow_stream(trace_id))


@then("the stream shows status updates with rising progress, then the completion event naming the trace")
def stream_progress(context):
    st = state(context)
    res = st["stream"]
    assert_that(res.status, equal_to(200), f"the trace stream answered {res.describe()}")
    names = res.names()
    assert_that(names and names[-1], equal_to("complete"), f"the stream must end with a complete event: "
                                                            f"{res.describe()}")
    updates = [d for n, d in res.events if n == "status_update"]
    assert_that(updates, is_not(empty()), f"no status_update before complete: {res.describe()}")
    progress = [float((u or {}).get("progress") or 0) for u in updates]
    assert_that(progress, equal_to(sorted(progress)), f"progress must never fall: {progress}")
    assert_that((updates[-1] or {}).get("state"), equal_to("complete"), f"last status_update: {updates[-1]}")
    assert_that((res.events[-1][1] or {}).get("trace_id"), equal_to(st["trace_id"]),
                f"the complete event must name the trace: {res.events[-1]}")


@when("tenant A asks for an explained chat at token granularity and registers a webhook receiver of this run")
@skippable
def chat_and_hook(context):
    w = world_of(context)
    trace_id = w.accepted_chat("token")
    name, reg = w.register_webhook(trace_id)
    state(context).update(trace_id=trace_id, hook=name, registration=reg)


@then("the registration is accepted with an id naming the trace")
def hook_registered(context):
    st = state(context)
    body = world_of(context).gw.ok(st["registration"], 201, what="webhook registration")
    assert_that(body.get("trace_id"), equal_to(st["trace_id"]), f"registration must name the trace: {body}")
    assert_that(bool(body.get("id")), equal_to(True), f"registration carries no id: {body}")


@then("the receiver is told that the trace completed")
def hook_delivered(context):
    w = world_of(context)
    st = state(context)
    w.terminal(st["trace_id"])
    w.receiver().wait_for(st["hook"], st["trace_id"], "complete", w.wait(w.s.timeouts.webhook))


@when("tenant A asks for an explained chat at token granularity and cancels it at once")
@skippable
def chat_and_cancel(context):
    w = world_of(context)
    trace_id = w.accepted_chat("token")
    state(context).update(trace_id=trace_id, cancel=w.gw.call("DELETE", f"/v1/traces/{trace_id}"))


@then("the cancel is accepted and the trace is canceled")
def cancel_accepted(context):
    st = state(context)
    body = world_of(context).gw.ok(st["cancel"], 202, what=f"cancel of running trace {st['trace_id']}")
    assert_that((body.get("state"), body.get("stage")), equal_to(("canceled", "canceled")),
                f"a 202 cancel answers the status, now canceled: {body}")


@then("a second cancel of that trace is refused as a conflict")
def second_cancel(context):
    st = state(context)
    r = world_of(context).gw.call("DELETE", f"/v1/traces/{st['trace_id']}")
    assert_that(r.status_code, equal_to(409), f"a second cancel must be 409 Cannot cancel, got {r.status_code} "
                                              f"{r.text[:200]}")


@then("the trace stays canceled and never serves a graph")
def stays_canceled(context):
    w = world_of(context)
    st = state(context)
    status = w.gw.ok(w.gw.status(st["trace_id"]), 200, what="status of a canceled trace")
    assert_that(status.get("state"), equal_to("canceled"), f"a canceled trace must stay canceled: {status}")
    r = w.graph(st["trace_id"])
    assert_that(r.status_code, equal_to(404), f"a canceled trace must never serve a graph, got {r.status_code}")


@then("canceling a completed trace is refused as a conflict")
def cancel_completed(context):
    w = world_of(context)
    trace_id, _ = w.completed_trace("sentence")
    r = w.gw.call("DELETE", f"/v1/traces/{trace_id}")
    assert_that(r.status_code, equal_to(409), f"cancel of completed trace {trace_id} must be 409, got "
                                              f"{r.status_code} {r.text[:200]}")
    status = w.gw.ok(w.gw.status(trace_id), 200)
    assert_that(status.get("state"), equal_to("complete"), f"a terminal state never changes: {status}")


# ---------------------------------------------------------------- tenant isolation (feature 03)
@when("tenant B reads its status, graph and stream, registers a webhook on it and cancels it")
def tenant_b_attempts(context):
    w = world_of(context)
    tid = state(context)["trace_id"]
    kind = "b_write" if w.s.token("b_write") else "read"
    hook = {"url": w.receiver().hook_url("intruder"), "events": ["complete"]}
    calls = {"status": ("GET", f"/v1/traces/{tid}/status", None), "graph": ("GET", f"/v1/traces/{tid}/graph", None),
             "stream": ("GET", f"/v1/traces/{tid}/stream", None),
             "webhook": ("POST", f"/v1/traces/{tid}/webhooks", hook), "cancel": ("DELETE", f"/v1/traces/{tid}", None)}
    answers = {}
    for name, (method, path, body) in calls.items():
        for k in dict.fromkeys((kind, "read")):
            answers[f"{name} ({k})"] = w.gw.call(method, path, as_=k, json=body).status_code
    state(context)["attempts"] = answers


@then("each of tenant B's attempts is refused as forbidden or not found")
def b_refused(context):
    leaked = {k: v for k, v in state(context)["attempts"].items() if v not in (403, 404)}
    assert_that(leaked, equal_to({}), "tenant isolation broken: tenant B reached tenant A's trace")


@then("tenant A's trace is unchanged")
def a_unchanged(context):
    w = world_of(context)
    st = state(context)
    now = w.gw.ok(w.gw.status(st["trace_id"]), 200, what="owner's status read")
    keys = ("trace_id", "state", "progress", "stage", "s3_key", "error", "granularity", "featureset")
    assert_that({k: now.get(k) for k in keys}, equal_to({k: st["status"].get(k) for k in keys}),
                "tenant A's trace changed after tenant B's attempts")


@when("tenant B asks for an explained chat with the same trace id")
def b_reuses_id(context):
    w = world_of(context)
    st = state(context)
    st["reuse"] = w.gw.chat("reuse another tenant's trace id", as_="b_write", trace_id=st["trace_id"])


@then("the status store still names tenant A as the owner of that trace, with its lifecycle fields")
@skippable
def store_keeps_owner(context):
    w = world_of(context)
    tid = state(context)["trace_id"]
    item = w.status_store().get(tid)
    assert_that(item is not None, equal_to(True), f"trace {tid} is missing from the status store")
    assert_that(item.get("tenant_id"), equal_to(w.s.tenant_a),
                f"the status store's owner of {tid} changed to {item.get('tenant_id')!r} after tenant B reused the id")
    missing = [k for k in ("state", "progress", "stage", "granularity", "featureset", "created_at", "updated_at",
                           "expires_at") if k not in item]
    assert_that(missing, empty(), f"status store item lacks lifecycle fields: {item}")


@then("tenant A still reads its trace unchanged")
def a_still_reads(context):
    a_unchanged(context)


@then("its graph declares the version hif-1")
def graph_version(context):
    w = world_of(context)
    graph = w.gw.ok(w.graph(state(context)["trace_id"]), 200, what="graph")
    assert_that((graph.get("meta") or {}).get("version"), equal_to("hif-1"), "graphs must declare meta.version hif-1")


