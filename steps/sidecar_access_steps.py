"""Steps of access control, the scope matrix, rate limits and tenant isolation (features 01, 03)."""
from __future__ import annotations

from behave import given, then, when
from hamcrest import assert_that, empty, equal_to, greater_than, is_in, is_not

from support.sidecar.ratelimits import burst_reads
from support.sidecar.scopes import ROUTES, SCOPE, Answer, call_route, detail, judge
from support.sidecar.steps_support import skippable, state, world_of
from support.sidecar.world import Skip


@given("the gateway enforces access control")
@skippable
def rbac_on(context):
    w = world_of(context)
    r = w.gw.call("GET", "/v1/traces/trc_probe/status", as_="none")
    if r.status_code not in (401, 403):
        raise Skip(f"RBAC disabled (AUTH_MODE=none): the unauthenticated probe got {r.status_code}")


def _answers(context, kinds, trace_id, label):
    w = world_of(context)
    out = []
    for kind in kinds:
        for route in ROUTES:
            r = call_route(route, trace_id, kind, w.gw.call, w.receiver().hook_url("matrix"))
            code, msg = detail(r)
            out.append(Answer(route, kind, label, r.status_code, code, msg, r.headers.get("WWW-Authenticate")))
    return out


@when("every protected route is called without a token, with a non-bearer credential and with an unknown token")
def call_unauthenticated(context):
    state(context)["answers"] = _answers(context, ("none", "basic", "unknown"), "trc_e2et_probe_unknown", "unknown")


@then("every call without a token is refused as unauthorized with a bearer challenge")
def no_token_401(context):
    bad = [f"{a.route}: {a.status} {a.code} challenge={a.www_authenticate!r}" for a in state(context)["answers"]
           if a.kind == "none" and (a.status != 401 or a.code != "unauthorized"
                                    or "bearer" not in (a.www_authenticate or "").lower())]
    assert_that(bad, empty(), "calls without a token must get 401 unauthorized with WWW-Authenticate: Bearer")


@then("every call with a non-bearer credential is refused as unauthorized")
def basic_401(context):
    bad = [f"{a.route}: {a.status} {a.code}" for a in state(context)["answers"]
           if a.kind == "basic" and (a.status != 401 or a.code != "unauthorized")]
    assert_that(bad, empty(), "calls with a non-Bearer scheme must get 401 unauthorized")


@then("every call with an unknown token is refused as forbidden")
def unknown_403(context):
    bad = [f"{a.route}: {a.status} {a.code}" for a in state(context)["answers"]
           if a.kind == "unknown" and (a.status != 403 or a.code != "forbidden")]
    assert_that(bad, empty(), "calls with an unknown token must get 403 forbidden")


@then("the health check stays open to everyone")
def healthz_open(context):
    r = world_of(context).gw.call("GET", "/healthz", as_="none")
    assert_that(r.status_code, equal_to(200), f"/healthz must be open without a token, got {r.status_code}")


@given("a completed trace of tenant A")
@skippable
def completed_trace(context):
    trace_id, status = world_of(context).completed_trace("sentence")
    st = state(context)
    st["trace_id"], st["status"] = trace_id, status


@when("every route is called on that trace and on an unknown trace with each configured token kind")
def call_matrix(context):
    w = world_of(context)
    kinds = [k for k in ("write", "read", "write_only") if w.s.token(k)]
    state(context)["kinds"] = kinds
    own = _answers(context, kinds, state(context)["trace_id"], "own")
    unknown = _answers(context, kinds, "trc_e2et_matrix_" + w.run.run_id + "_none", "unknown")
    state(context)["answers"] = own + [a for a in unknown if a.route != "chat"]


@then("every answer is the one the scope matrix specifies")
def matrix_holds(context):
    problems = [judge(a, owned=a.kind != "read") for a in state(context)["answers"]]
    problems = [p for p in problems if p]
    assert_that(problems, empty(), f"scope matrix broken ({len(problems)} answers wrong)")
    if "write_only" not in state(context)["kinds"]:
        print("note: no write-only token configured (sidecar.auth_token_write_only): that column was not checked")


@when("the read-only caller asks for an explained chat with a trace id of its own")
def read_only_chat(context):
    w = world_of(context)
    st = state(context)
    w.exclusive()               # an exact counter delta: no other flow's traffic meanwhile
    st["denied_trace"] = w.trace_id("sentence")
    st["audit"] = w.audit() if w.s.audit_log else None
    if st["audit"] is not None:
        st["audit"].mark()
    st["before"] = w.gateway_metrics()
    st["response"] = w.gw.chat("denied chat", as_="read", trace_id=st["denied_trace"], retry_429=False)


@then("the chat is refused for the missing write scope")
def refused_missing_scope(context):
    r = state(context)["response"]
    code, msg = detail(r)
    assert_that((r.status_code, code), equal_to((403, "missing_scope")),
                f"a read-only token's chat must be refused 403 missing_scope, got {r.status_code} {code} {msg!r}")
    assert_that(SCOPE["chat"], is_in(msg), f"the refusal must name the missing scope: {msg!r}")


@then("no trace with that id exists afterwards")
def nothing_created(context):
    w = world_of(context)
    tid = state(context)["denied_trace"]
    for kind in ("write", "read"):
        r = w.gw.status(tid, kind)
        assert_that(r.status_code, equal_to(404), f"a refused chat created trace {tid}: status for {kind} "
                                                  f"answered {r.status_code} {r.text[:200]}")
    if w.s.status_json:
        store = w.status_store()
        assert_that(tid in store, equal_to(False), f"a refused chat created trace {tid} in the status store")


@then("the refusal is counted once for the read-only caller's tenant")
def refusal_counted(context):
    w = world_of(context)
    tenant = w.s.tenant_b
    delta = (w.gateway_metrics().value("rbac_denied_total", tenant_id=tenant)
             - state(context)["before"].value("rbac_denied_total", tenant_id=tenant))
    assert_that(delta, equal_to(1.0), f"rbac_denied_total{{tenant_id={tenant!r}}} must rise by 1, rose by {delta}")


@then("the audit log records the refusal for that tenant with the missing-scope reason")
@skippable
def refusal_audited(context):
    w = world_of(context)
    tail = state(context)["audit"]
    if tail is None or not tail.available():
        raise Skip("audit log unavailable (sidecar.audit_log)")
    tid = state(context)["denied_trace"]
    events, _ = tail.events()
    hits = [e for e in events if e.get("event") == "rbac.deny" and e.get("trace_id") == tid]
    assert_that(hits, is_not(empty()), f"no rbac.deny audit line for trace {tid}; new events: "
                                       f"{[e.get('event') for e in events][:10]}")
    assert_that((hits[0].get("tenant_id"), hits[0].get("reason")), equal_to((w.s.tenant_b, "missing_scope")),
                f"rbac.deny line names the wrong tenant or reason: {hits[0]}")


@when("tenant A reads trace status faster than its read limit allows")
def read_burst(context):
    w = world_of(context)
    w.exclusive()
    st = state(context)
    st["before"] = w.gateway_metrics()
    st["burst"] = burst_reads(w.s, w.gw.auth("write"), w.gw.auth("read"), w.s.rate_limits.read_burst + 60)
    st["after"] = w.gateway_metrics()


@then("some of those reads are refused as rate limited with a retry hint of at least one second")
def some_429(context):
    b = state(context)["burst"]
    assert_that(b.rejected, greater_than(0), f"no read was rate limited: {b.describe()}")
    assert_that(b.bad_rejections, empty(), "429 answers must carry detail.code rate_limited and an integer "
                                           "Retry-After ≥ 1")


@then("the rejections are counted for tenant A's read bucket")
def rejections_counted(context):
    w = world_of(context)
    st = state(context)
    delta = (st["after"].value("rate_limit_rejections_total", tenant_id=w.s.tenant_a, category="read")
             - st["before"].value("rate_limit_rejections_total", tenant_id=w.s.tenant_a, category="read"))
    assert_that(delta, equal_to(float(st["burst"].rejected)),
                f"rate_limit_rejections_total{{tenant_id={w.s.tenant_a!r},category='read'}} rose by {delta}, "
                f"but {st['burst'].rejected} reads got 429")


@then("tenant B can still read at the same moment")
def other_tenant_reads(context):
    b = state(context)["burst"]
    assert_that(b.other_status, equal_to(404), f"tenant B's read during A's burst got {b.other_status}: one "
                                               "tenant's bucket must never affect another's")
