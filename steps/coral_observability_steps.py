"""Steps: the observability layers L0–L3 (features/coral/07_otlp, 08_system, 09_ebpf)."""
from __future__ import annotations

import itertools
import time

from behave import given, then, when

from support.coral import state, world_of
from support.coral.observability import children, drive, expected_summaries, minute_of, new_batch, roots_by_marker
from support.waiting import poll

STEP_NAMES = ["validate-cart", "check-inventory", "process-payment", "update-inventory", "send-confirmation"]


def _spans(context):
    st = state(context)
    if "spans" not in st:
        w = world_of(context)
        st["traffic"] = w.obs.traffic()
        st["spans"] = w.once("otel-spans", lambda: w.obs.run_spans(st["traffic"]))
    return st["traffic"], st["spans"]


# -- L1 ------------------------------------------------------------------------------------------------
@given("the OpenTelemetry test app has served this run's traffic of user lookups, product lookups and checkouts")
def step_traffic(context):
    state(context)["traffic"] = world_of(context).obs.traffic()


@then("the app's agent holds a server span with trace and span ids for every request of this run")
def step_agent_holds(context):
    traffic, spans = _spans(context)
    roots = roots_by_marker(spans)
    missing = [r.marker for r in traffic.requests if r.marker not in roots]
    assert not missing, f"no server span for {len(missing)} requests, e.g. {missing[:3]}"
    for r in traffic.requests:
        sp = roots[r.marker]
        assert len(sp.trace_id) == 32 and len(sp.span_id) == 16, f"ids of {r.marker}: {sp.trace_id!r}/{sp.span_id!r}"
        assert sp.service == "otel-app" and sp.attributes.get("http.route") == r.path, f"{r.marker}: {sp}"


def _child_check(context, path: str, name: str, key: str, value: str) -> None:
    traffic, spans = _spans(context)
    roots = roots_by_marker(spans)
    for r in traffic.by_path(path):
        kids = [c for c in children(spans, roots[r.marker]) if c.name == name]
        names = [c.name for c in children(spans, roots[r.marker])]
        assert kids, f"{r.marker}: no {name} child span (children: {names})"
        assert all(c.kind == "INTERNAL" and c.attributes.get(key) == value for c in kids), \
            f"{r.marker}: {name} spans lack {key}={value}: {[c.attributes for c in kids]}"


@then("every user lookup has a database query child span on a postgresql database")
def step_users(context):
    _child_check(context, "/api/users", "database.query", "db.system", "postgresql")


@then("every product lookup has a cache lookup child span for the products key")
def step_products(context):
    _child_check(context, "/api/products", "cache.get", "cache.key", "products")


@then("some checkouts of this run failed with 500")
def step_some_failed(context):
    traffic, _ = _spans(context)
    codes = [r.status for r in traffic.by_path("/api/checkout")]
    assert 500 in codes, f"none of {len(codes)} checkouts failed (≈34 % should): {codes}"
    assert set(codes) <= {200, 500}, f"checkouts answered {sorted(set(codes))}, expected only 200 or 500"


@then("exactly the failed checkouts carry http status 500 and the error attribute on their server span")
def step_error_spans(context):
    traffic, spans = _spans(context)
    roots = roots_by_marker(spans)
    wrong = []
    for r in traffic.by_path("/api/checkout"):
        sp = roots[r.marker]
        flagged = sp.http_status == 500 and sp.attributes.get("error") == "true"
        if flagged != (r.status == 500) or sp.http_status != r.status:
            wrong.append(f"{r.marker}: answered {r.status}, span httpStatus {sp.http_status} error="
                         f"{sp.attributes.get('error')!r}")
    assert not wrong, "; ".join(wrong)


@then("every checkout of this run is one trace with one root and one to five step spans")
def step_checkout_trace(context):
    traffic, spans = _spans(context)
    roots = roots_by_marker(spans)
    for r in traffic.by_path("/api/checkout"):
        root = roots[r.marker]
        trace = [sp for sp in spans if sp.trace_id == root.trace_id]
        kids = children(spans, root)
        assert len([sp for sp in trace if sp.kind == "SERVER"]) == 1, f"{r.marker}: more than one root in its trace"
        assert 1 <= len(kids) <= 5 and len(trace) == len(kids) + 1, \
            (f"{r.marker}: trace {root.trace_id} has {len(kids)} steps of {len(trace)} spans: "
             f"{[sp.name for sp in trace]}")
        assert [k.name for k in sorted(kids, key=lambda k: k.timestamp)] == STEP_NAMES[:len(kids)], \
            f"{r.marker}: steps out of order: {[k.name for k in kids]}"


@then("every successful checkout ran all five steps")
def step_five_steps(context):
    traffic, spans = _spans(context)
    roots = roots_by_marker(spans)
    short = {r.marker: len(children(spans, roots[r.marker])) for r in traffic.by_path("/api/checkout")
             if r.status == 200 and len(children(spans, roots[r.marker])) != 5}
    assert not short, f"successful checkouts without all five steps: {short}"


@then("the colony's one-minute summaries of the app count every server span the agent holds, bucket by bucket")
def step_summaries_count(context):
    w = world_of(context)
    traffic, _ = _spans(context)
    app = w.obs.app()
    buckets = sorted({minute_of(traffic.started * 1000), minute_of(traffic.ended * 1000)})
    lo, hi = buckets[0], buckets[-1]
    every = float(w.settings.observability.telemetry_poll_interval)
    seen = {}

    def matches() -> dict | None:
        start = _epoch(lo)
        agent_spans = w.obs.agent(app.agent).spans(app.service, start, _epoch(hi) + 60)
        want = {b: v for b, v in expected_summaries(agent_spans).items() if lo <= b <= hi}
        rows = w.obs.colony.sql(f"SELECT * FROM otel_summaries WHERE service_name='{app.service}' "
                                f"AND span_kind='SERVER' AND bucket_time>='{lo}' AND bucket_time<='{hi}'")
        got: dict[str, list[dict]] = {}
        for r in rows:
            got.setdefault(r["bucket_time"], []).append(r)
        totals = {b: sum(int(r["total_spans"]) for r in rs) for b, rs in got.items()}
        seen.update(want=want, got=totals)
        ok = want and all(totals.get(b) == v["total_spans"] for b, v in want.items())
        return {"want": want, "got": got} if ok else None
    t0 = time.monotonic()
    result = poll(matches, every + 90, "colony summaries counting the agent's server spans in every minute bucket",
                  lambda: f"agent spans per bucket {_totals(seen.get('want', {}))}, colony total_spans "
                          f"{seen.get('got')}", interval=1.0)
    state(context).update(summaries=result, summary_wait=time.monotonic() - t0)
    mine = len(traffic.requests)
    assert sum(v["total_spans"] for v in result["want"].values()) >= mine, "fewer server spans than requests sent"


def _totals(want: dict) -> dict:
    return {b: v["total_spans"] for b, v in want.items()}


def _epoch(bucket: str) -> float:
    import datetime as dt
    return dt.datetime.fromisoformat(bucket.replace("Z", "+00:00")).timestamp()


@then("their P50, P95 and P99 are the agent's span durations at the contract's percentile rule")
def step_percentiles(context):
    res = state(context)["summaries"]
    wrong = []
    for bucket, want in res["want"].items():
        rows = res["got"][bucket]
        if len(rows) != 1:
            wrong.append(f"{bucket}: the bucket is attributed to several agents {[r['agent_id'] for r in rows]}")
            continue
        got = rows[0]
        for key in ("p50_ms", "p95_ms", "p99_ms"):
            if abs(float(got[key]) - want[key]) > 1e-3:
                wrong.append(f"{bucket} {key}: colony {float(got[key]):.3f} ms, agent's spans give {want[key]:.3f} ms")
        if not float(got["p50_ms"]) <= float(got["p95_ms"]) <= float(got["p99_ms"]):
            wrong.append(f"{bucket}: P50 ≤ P95 ≤ P99 violated ({got['p50_ms']}, {got['p95_ms']}, {got['p99_ms']})")
    assert not wrong, "; ".join(wrong)


@then("the summaries are attributed to the app's agent")
def step_attributed(context):
    w = world_of(context)
    res = state(context)["summaries"]
    want = w.agent_id(w.obs.app().agent)
    wrong = {b: [r["agent_id"] for r in rows] for b, rows in res["got"].items()
             if any(r["agent_id"] != want for r in rows)}
    assert not wrong, f"summaries of {w.obs.app().service} attributed to {wrong}, expected {want}"


# -- L2 ------------------------------------------------------------------------------------------------
REQUIRED = {"system.cpu.utilization": "percent", "system.memory.usage": "bytes"}


def _metrics(w, name: str, since: float) -> list[dict]:
    return w.obs.agent(name).system_metrics(since, time.time() + 5)


@then("within 20 seconds every agent reports CPU utilisation in percent and memory usage in bytes")
def step_cpu_mem(context):
    w = world_of(context)
    since = time.time() - 120
    for name in w.live_agents():
        def have(name: str = name) -> list | None:
            got = _metrics(w, name, since)
            units = {m.get("name"): m.get("unit") for m in got}
            return got if all(units.get(k) == u for k, u in REQUIRED.items()) else None
        state(context).setdefault("metrics", {})[name] = poll(
            have, 20, f"{name} reporting {', '.join(REQUIRED)}",
            lambda name=name: f"{name} reported {sorted({m.get('name') for m in _metrics(w, name, since)})}")


@then("every agent reports disk and network metrics too")
def step_disk_net(context):
    for name, got in state(context)["metrics"].items():
        names = {m.get("name") for m in got}
        missing = {"system.disk.usage", "system.network.io.receive", "system.network.io.transmit"} - names
        assert not missing, f"{name} lacks {sorted(missing)} (has {sorted(names)})"


@then("every agent's samples are one collection interval apart")
def step_interval(context):
    w = world_of(context)
    every = float(w.settings.observability.system_metrics_interval)
    for name in w.live_agents():
        def two(name: str = name) -> list | None:
            ts = sorted(float(m["timestamp"]) for m in _metrics(w, name, time.time() - 4 * every - 10)
                        if m.get("name") == "system.cpu.utilization")
            return ts if len(ts) >= 3 else None
        ts = poll(two, 3 * every + 10, f"three CPU samples from {name}", lambda: "fewer samples")
        gaps = [(b - a) / 1000 for a, b in itertools.pairwise(ts)][-3:]
        assert all(0.5 * every <= g <= 1.5 * every + 1 for g in gaps), \
            f"{name}'s samples are {gaps} s apart; the collection interval is {every:g} s"


@then("within the poll interval plus 30 seconds the colony summarises every agent's CPU, memory and network")
def step_colony_system(context):
    w = world_of(context)
    every = float(w.settings.observability.system_metrics_poll_interval)
    ids = {w.agent_id(n) for n in w.live_agents()}
    names = ("system.cpu.utilization", "system.memory.usage", "system.network.io.receive")
    since = minute_of((time.time() - 60) * 1000)

    def counts() -> dict:
        rows = w.obs.colony.sql(f"SELECT * FROM system_metrics_summaries WHERE bucket_time>='{since}'")
        out: dict = {}
        for r in rows:
            key = (r["agent_id"], r["metric_name"])
            out[key] = max(out.get(key, ("", 0)), (r["bucket_time"], int(r["sample_count"])))
        return {"rows": rows, "latest": out}
    before = counts()["latest"]
    seen = {}

    def fresh() -> list | None:
        now = counts()
        seen["latest"] = {f"{a}/{m}": v for (a, m), v in now["latest"].items() if a in ids and m in names}
        # polled *now*: every (agent, metric) has a newer bucket or more samples than when the step began
        ok = all((a, m) in now["latest"] and now["latest"][(a, m)] > before.get((a, m), ("", 0))
                 for a in ids for m in names)
        return now["rows"] if ok else None
    state(context)["system_rows"] = poll(fresh, every + 30, "the colony summarising fresh CPU, memory and network "
                                                            "samples of every agent",
                                         lambda: f"latest (bucket, samples) per agent/metric: {seen.get('latest')}")


@then("every agent's network summary lies within the values that agent reported itself")
def step_attribution(context):
    """A counter's latest value in a minute bucket is the colony's max: it must be one this agent sent.
    (Its min may predate an agent restart, whose in-memory samples are gone; the max never does.)"""
    w = world_of(context)
    rows = state(context)["system_rows"]
    for name in w.live_agents():
        aid = w.agent_id(name)
        reported = _metrics(w, name, time.time() - 180)
        for row in (r for r in rows if r["agent_id"] == aid and r["metric_name"] == "system.network.io.receive"):
            own = {float(m.get("value") or 0) for m in reported if m.get("name") == "system.network.io.receive"
                   and minute_of(float(m["timestamp"])) == row["bucket_time"]}
            hi = float(row["max_value"])
            assert not own or hi in own, (f"the colony's {row['bucket_time']} network summary for {aid} (max "
                                          f"{hi:.0f}) is not from {aid}'s own samples ({sorted(own)[-3:]})")


@when("the CPU-intensive test app is kept busy")
def step_busy(context):
    w = world_of(context)
    app = w.obs.app("cpu_app")
    drive(app.url, new_batch(w.run.run_id), [("/", 30)], timeout=30)
    state(context)["busy_until"] = time.time()


@then("its agent holds CPU samples whose stacks name the app's hashing work")
def step_cpu_samples(context):
    w = world_of(context)
    app = w.obs.app("cpu_app")
    samples = poll(lambda: w.obs.agent(app.agent).cpu_samples(app.service, time.time() - 120, time.time()), 60,
                   f"CPU samples of {app.service}")
    frames = [f for smp in samples for f in (smp.get("stackFrames") or [])]
    assert any("cpuIntensiveWork" in str(f) or "sha256" in str(f) for f in frames), f"no hashing frame in {frames[:10]}"


@then("the colony's historical profile of the app has samples")
def step_historical(context):
    w = world_of(context)
    app = w.obs.app("cpu_app")
    out = poll(lambda: (lambda o: o if int(o.get("totalSamples") or 0) > 0 else None)(
        w.obs.colony.historical_profile(app.service, time.time() - 300, time.time())), 60 + 30,
        f"the colony's historical CPU profile of {app.service}")
    assert out.get("samples"), out


# -- L0 / L3 ----------------------------------------------------------------------------------------
@when("the CPU-intensive test app is connected to its agent and serves 20 requests of this run")
def step_beyla_traffic(context):
    w = world_of(context)
    app = w.obs.app("cpu_app")
    w.obs.agent(app.agent).connect_service(app.service, int(app.url.rsplit(":", 1)[1].strip("/")))
    state(context)["beyla_since"] = time.time()
    state(context)["beyla_traffic"] = drive(app.url, new_batch(w.run.run_id), [("/", 20)], timeout=30)


@then("its agent's eBPF metrics count at least those GET requests with status 200, with matching latency buckets")
def step_beyla_agent(context):
    w, st = world_of(context), state(context)
    app = w.obs.app("cpu_app")
    sent = sum(1 for r in st["beyla_traffic"].requests if r.status == 200)

    def counted() -> list | None:
        http = w.obs.agent(app.agent).ebpf_metrics(app.service, st["beyla_since"] - 5, time.time()).get("httpMetrics")
        rows = [m for m in http or [] if m.get("httpMethod") == "GET" and str(m.get("httpStatusCode")) == "200"]
        return rows if sum(int(m.get("requestCount") or 0) for m in rows) >= sent else None
    rows = poll(counted, 60, f"Beyla counting {sent} GET / 200 requests", lambda: "fewer counted")
    assert all(len(m.get("latencyBuckets") or []) == len(m.get("latencyCounts") or []) for m in rows), rows[:2]


@then("the colony holds eBPF metrics of the app")
def step_beyla_colony(context):
    w = world_of(context)
    app = w.obs.app("cpu_app")
    poll(lambda: int(w.obs.colony.unified_ebpf(app.service).get("totalMetrics") or 0) > 0, 90,
         f"the colony's eBPF metrics of {app.service}")


@when("the colony profiles the app for 10 seconds at 99 Hz")
def step_profile(context):
    w = world_of(context)
    t0 = time.monotonic()
    state(context)["profile"] = w.obs.colony.profile_cpu(w.obs.app("cpu_app").service, 10, 99)
    state(context)["profile_seconds"] = time.monotonic() - t0


@then("the profile succeeded with samples that have frames and counts")
def step_profile_ok(context):
    out = state(context)["profile"]
    assert out.get("success") is True, f"profile failed: {out.get('error')}"
    samples = out.get("samples") or []
    assert int(out.get("totalSamples") or 0) > 0 and samples, f"no samples: {out}"
    assert all(smp.get("frameNames") and int(smp.get("count") or 0) > 0 for smp in samples), samples[:3]


@then("the profile took at least its duration")
def step_profile_duration(context):
    took = state(context)["profile_seconds"]
    assert 10 <= took < 300, f"the 10 s profile returned after {took:.1f}s"


@when("the colony attaches a uprobe to the SDK app's ProcessPayment function")
def step_attach(context):
    w = world_of(context)
    app = w.obs.app("sdk_app")
    out = w.obs.colony.attach_uprobe(w.agent_id(app.agent), app.service, "main.ProcessPayment", "30s")
    assert out.get("success") is True and out.get("sessionId"), f"attach failed: {out}"
    state(context)["session"] = out["sessionId"]
    w.on_scenario("detach uprobe", lambda: w.obs.colony.detach(out["sessionId"]))


@when("the SDK app is triggered 10 times")
def step_trigger(context):
    w = world_of(context)
    drive(w.obs.app("sdk_app").url, new_batch(w.run.run_id), [("/trigger", 10)], timeout=30)


@then("every call was recorded on entry, and returns last at least 50 milliseconds")
def step_events(context):
    w, session = world_of(context), state(context)["session"]
    events = poll(lambda: (lambda ev: ev if sum(1 for e in ev if e.get("eventType") == "entry") >= 10 else None)(
        w.obs.colony.uprobe_events(session)), 30, "10 uprobe entry events", lambda: "fewer entries")
    returns = [e for e in events if e.get("eventType") == "return"]
    assert all(int(e.get("durationNs") or 0) >= 50_000_000 for e in returns), returns[:3]


@then("the debug results hold a call tree with invocations")
def step_tree(context):
    w, session = world_of(context), state(context)["session"]
    tree = w.obs.colony.debug_results(session).get("callTree") or {}
    assert int(tree.get("totalInvocations") or 0) >= 1, tree


@then("the uprobe is detached")
def step_detach(context):
    w, session = world_of(context), state(context)["session"]
    assert w.obs.colony.detach(session).get("success") is True
