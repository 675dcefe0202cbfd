"""Steps of the audit log and PII scrubbing (feature 11)."""
from __future__ import annotations

from behave import then, when
from hamcrest import assert_that, empty, equal_to, is_not, less_than_or_equal_to

from support.sidecar.audit_checks import PII_PROMPT, credential_leaks, expected_masks, raw_pii, scrub
from support.sidecar.ratelimits import burst_reads
from support.sidecar.steps_support import skippable, state, world_of
from support.sidecar.world import Skip


def _tail(context):
    w = world_of(context)
    tail = w.audit()
    tail.mark()
    state(context)["tail"] = tail
    return w, tail


def _events(context, wanted, trace_id=None):
    tail = state(context)["tail"]
    if not tail.available():
        raise Skip(f"audit log unavailable: {tail.path} is missing or empty (sidecar.audit_log)")
    events, _ = tail.events()
    return [e for e in events if e.get("event") in wanted and (trace_id is None or e.get("trace_id") == trace_id)]


@when("tenant A asks for an explained chat whose prompt holds an e-mail address, a phone number and a long number")
@skippable
def pii_chat(context):
    w, _ = _tail(context)
    trace_id = w.accepted_chat("sentence", prompt=PII_PROMPT)
    state(context)["trace_id"] = trace_id


@then("the audit snippet of that chat holds only their masks, within 64 characters")
@skippable
def snippet_masked(context):
    w = world_of(context)
    hits = _events(context, {"chat.submit"}, state(context)["trace_id"])
    if not hits:
        raise Skip("audit log unavailable: no chat.submit line for this chat")
    snippet = str(hits[0].get("snippet") or "")
    state(context)["snippet"] = snippet
    assert_that(raw_pii(snippet, w.s.audit), empty(), f"the audit snippet keeps personal data raw: {snippet!r}")
    for mask in expected_masks(w.s.audit):
        assert_that(mask in snippet, equal_to(True), f"the audit snippet lacks the mask {mask}: {snippet!r}")
    assert_that(len(snippet), less_than_or_equal_to(64), f"the audit snippet is longer than 64: {snippet!r}")


@then("scrubbing that snippet again changes nothing")
def idempotent(context):
    w = world_of(context)
    snippet = state(context)["snippet"]
    assert_that(scrub(snippet, w.s.audit), equal_to(snippet), "the scrub is not idempotent on the snippet")


@when("tenant A chats, cancels the trace and registers a webhook on it, the read-only caller is refused "
      "and tenant A reads too fast")
@skippable
def every_action(context):
    w, _ = _tail(context)
    w.exclusive()
    st = state(context)
    trace_id = w.accepted_chat("token")
    w.gw.ok(w.gw.call("DELETE", f"/v1/traces/{trace_id}"), 202, what="cancel of a running trace")
    _, reg = w.register_webhook(trace_id)
    w.gw.ok(reg, 201, what="webhook registration")
    denied = w.trace_id("sentence")
    r = w.gw.chat("denied", as_="read", trace_id=denied, retry_429=False)
    assert_that(r.status_code, equal_to(403), "the read-only caller's chat must be refused")
    burst = burst_reads(w.s, w.gw.auth("write"), w.gw.auth("read"), w.s.rate_limits.read_burst + 60)
    assert_that(burst.rejected > 0, equal_to(True), f"the read burst was never rate limited: {burst.describe()}")
    st.update(trace_id=trace_id, denied=denied)


@then("the audit log records each of those actions for the right tenant")
def actions_audited(context):
    w = world_of(context)
    st = state(context)
    a, b = w.s.tenant_a, w.s.tenant_b
    want = [("chat.submit", st["trace_id"], a), ("trace.queued", st["trace_id"], a),
            ("webhook.register", st["trace_id"], a), ("trace.cancel", st["trace_id"], a),
            ("rbac.deny", st["denied"], b), ("rate_limited", None, a)]
    events = _events(context, {e for e, _, _ in want})
    missing = [f"{e} (trace {t}, tenant {ten})" for e, t, ten in want
               if not any(x.get("event") == e and (t is None or x.get("trace_id") == t) and x.get("tenant_id") == ten
                          for x in events)]
    assert_that(missing, empty(), f"audit events missing after the actions (seen: "
                                  f"{sorted({x.get('event') for x in events})})")


@then("no audit line holds an authorization field or any token")
def no_credentials(context):
    w = world_of(context)
    tail = state(context)["tail"]
    leaks = credential_leaks(tail.raw_lines(), [*w.s.secrets(), w.gw.unknown_token])
    assert_that(leaks, empty(), "the audit log holds credentials")


@then("every new audit line is a JSON object")
def all_json(context):
    tail = state(context)["tail"]
    events, bad = tail.events()
    assert_that(events, is_not(empty()), "no new audit line at all")
    assert_that(bad, empty(), "audit lines that are not JSON objects")
