"""Benchmark of the Salus sandbox and the @salus suite — figures, not a timed test.

Measures, on this machine (medians; every figure is one real run of the real thing):
  1. sandbox cold start: process start → every service ready (profile written);
  2. envoy attach → AttachEvent on Kafka;
  3. the full `behave --tags @salus` wall time against a running sandbox (``--runs`` repetitions),
     and where its seconds go: each step kind (what it waits for), and outside the steps the
     interpreter start, before_all, scenario cleanups (by kind), run cleanups and reports;
  4. one flow (`e2et run --tags @salus`) against three parallel flows (`--parallel 3`), the
     same command path, ``--runs`` times each; every flow must pass;
  5. event detection latency with an empty events topic and with ``--preload`` messages (default
     1,000,000) ahead of the watch: producing a matching event → the watcher returns it;
  6. with ``--mutations``: the curated sandbox mutations (tests/acceptance/mutations.py), killed or not.

Usage: .venv/bin/python bench/bench_salus.py [--runs 5] [--preload 1000000] [--skip-preload] [--mutations]
Prints a Markdown table; writes reports/bench/salus.json (or --out).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from support.sandboxes import start_sandbox  # noqa: E402

#: step text → what the step waits for (the breakdown's rows), first match wins
STEP_KINDS = [
    (r"check event (is published|follows)", "event waits (gather + telegraf flush/jitter + engine)"),
    (r"run by the .* poller", "poller check (reads the metrics already seen)"),
    (r"attached in another zone|running the telegraf agent|envoy attached|envoy starts",
     "envoy start + attach (+ the monitoring envoy's install)"),
    (r"attach event|presence monitor reports|agent history", "attach event / presence / history waits"),
    (r"agent binary|holds no agent|current link", "install waits (and the no-agent settle time)"),
    (r"monitor|task|event.* watched|target starts|target|decoy|labelled", "monitors, tasks, targets, watches (HTTP)"),
]
#: cleanup name → kind, for the outside-steps breakdown
CLEANUP_KINDS = [(r"^stop envoy", "stop envoys"), (r"^close .*watcher", "close Kafka watchers"),
                 (r"^close target|listener", "close targets"), (r"^delete", "DELETEs read back"),
                 (r"^stop sandboxes", "stop sandboxes")]

# Runs behave in a child with its hooks timed (plain Python; prints one JSON line at the end).
_TIMED_BEHAVE = r'''
import json, re, sys, time
t0 = time.perf_counter()
import support.lifecycle as lc, support.run as run
times = {"cleanups": {}, "start_run": 0.0, "stop_run": 0.0, "after_all_reports": 0.0}
orig_bounded = run.CleanupStack._bounded
def bounded(name, action, timeout):
    t = time.perf_counter(); res = orig_bounded(name, action, timeout)
    times["cleanups"].setdefault(name, 0.0); times["cleanups"][name] += time.perf_counter() - t
    return res
run.CleanupStack._bounded = staticmethod(bounded)
for hook in ("start_run", "stop_run"):
    def timed(context, _f=getattr(lc, hook), _n=hook):
        t = time.perf_counter(); _f(context); times[_n] += time.perf_counter() - t
    setattr(lc, hook, timed)
import support.reporting as rep
orig_after = rep.after_all
def after_all(context):
    t = time.perf_counter(); out = orig_after(context); times["after_all_reports"] += time.perf_counter() - t
    return out
rep.after_all = after_all
times["imports"] = time.perf_counter() - t0
from behave.__main__ import main
sys.argv = ["behave", "--tags", "@salus", "-f", "json", "-o", sys.argv[1], "--no-junit"]
try:
    code = main()
finally:
    times["total_in_process"] = time.perf_counter() - t0
    print("BENCH-TIMES " + json.dumps(times), file=sys.__stderr__, flush=True)
sys.exit(code)
'''


def cold_start(tmp: Path, n: int = 3) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        h = start_sandbox("salus", tmp / f"cold{i}")
        out.append(time.perf_counter() - t0)
        h.stop()
    return out


def _env(profile: Path, reports: Path) -> dict[str, str]:
    return dict(os.environ, E2ET_SANDBOX_PROFILE=str(profile), E2ET_PROFILE="local", E2ET_REPORTS_DIR=str(reports))


def step_breakdown(behave_json: Path) -> tuple[float, dict[str, float]]:
    total, kinds = 0.0, {}
    for feature in json.loads(behave_json.read_text()):
        for el in feature.get("elements", []):
            for step in el.get("steps", []):
                d = float((step.get("result") or {}).get("duration") or 0)
                kind = next((k for pat, k in STEP_KINDS if re.search(pat, step["name"])), "other steps")
                kinds[kind] = kinds.get(kind, 0.0) + d
                total += d
    return total, kinds


def behave_runs(profile: Path, tmp: Path, n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        js = tmp / f"behave-{i}.json"
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, "-m", "behave", "--tags", "@salus", "-f", "json", "-o", str(js),
                            "--no-junit"], cwd=REPO, env=_env(profile, tmp / f"rep{i}"), capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if p.returncode != 0:
            print(p.stdout[-3000:], p.stderr[-2000:], file=sys.stderr)
            raise SystemExit(f"behave run failed (exit {p.returncode})")
        steps, kinds = step_breakdown(js)
        out.append({"wall": wall, "steps": steps, "kinds": kinds})
    return out


def timed_run(profile: Path, tmp: Path) -> dict[str, Any]:
    """One more run with its hooks timed: what the seconds outside the steps are spent on."""
    js = tmp / "behave-timed.json"
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", _TIMED_BEHAVE, str(js)], cwd=REPO, env=_env(profile, tmp / "rep-timed"),
                       capture_output=True, text=True)
    wall = time.perf_counter() - t0
    line = next((ln for ln in p.stderr.splitlines() if ln.startswith("BENCH-TIMES ")), None)
    if p.returncode != 0 or line is None:
        raise SystemExit(f"timed behave run failed (exit {p.returncode}): {p.stderr[-2000:]}")
    times = json.loads(line.removeprefix("BENCH-TIMES "))
    kinds: dict[str, float] = {}
    for name, secs in times.pop("cleanups").items():
        kind = next((k for pat, k in CLEANUP_KINDS if re.search(pat, name)), "other cleanups")
        kinds[kind] = kinds.get(kind, 0.0) + secs
    steps, _ = step_breakdown(js)
    times.update(wall=wall, steps=steps, cleanups=kinds,
                 interpreter_start=wall - times["total_in_process"])
    return times


def e2et_runs(profile: Path, tmp: Path, n: int, parallel: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        cmd = [sys.executable, "-m", "e2et.cli", "run", "--tags", "@salus", "--reports",
               str(tmp / f"e2et-{parallel}-{i}")]
        if parallel > 1:
            cmd[4:4] = ["--parallel", str(parallel)]
        t0 = time.perf_counter()
        p = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                           env=dict(os.environ, E2ET_SANDBOX_PROFILE=str(profile), E2ET_PROFILE="local"))
        wall = time.perf_counter() - t0
        flows = re.findall(r"^flow \S+ .*", p.stdout, re.M)
        if p.returncode != 0:
            print(p.stdout[-4000:], p.stderr[-2000:], file=sys.stderr)
        out.append({"wall": wall, "exit": p.returncode, "flows": flows})
    return out


def attach_latency(profile: Path, n: int = 3) -> list[float]:
    from support.config import load_settings
    from support.run import RunContext
    from support.salus.world import SalusWorld

    os.environ["E2ET_SANDBOX_PROFILE"] = str(profile)
    settings = load_settings("local", packs=["salus"]).salus
    world = SalusWorld(settings, RunContext())
    out = []
    try:
        zone = world.fixtures.private_zone()
        for _ in range(n):
            watch = world.watch("attaches")
            t0 = time.perf_counter()
            envoy = world.fixtures.envoy(zone)
            world.expect.attach_event(watch, envoy)
            out.append(time.perf_counter() - t0)
    finally:
        world.close()
    return out


def detection_latency(profile: Path, preload: int, samples: int = 5) -> dict[str, float]:
    from kafka import KafkaProducer

    from support.config import load_settings
    from support.matching import expect
    from support.salus import events

    os.environ["E2ET_SANDBOX_PROFILE"] = str(profile)
    settings = load_settings("local", packs=["salus"]).salus
    topic = settings.events.topic
    producer = KafkaProducer(bootstrap_servers=settings.kafka.brokers[0], linger_ms=20, batch_size=512 * 1024)
    filler = json.dumps({"id": "x", "tenantId": "999999", "state": "CRITICAL", "taskId": "t",
                         "metricGroup": "net_response", "labels": {"system_resource_id": "old"}}).encode()
    t0 = time.perf_counter()
    for i in range(preload):
        producer.send(topic, value=filler, partition=i % 6)
    producer.flush()
    preload_s = time.perf_counter() - t0
    lat = []
    for i in range(samples):
        watcher = events.watcher(settings, "events", None)
        watcher.start()
        tag = f"bench-{preload}-{i}"
        needle = {"id": tag, "tenantId": "424242", "taskId": tag, "state": "CRITICAL", "metricGroup": "net_response",
                  "labels": {"system_resource_id": tag}, "timestamp": "2026-01-01T00:00:00Z"}
        t1 = time.perf_counter()
        producer.send(topic, value=json.dumps(needle).encode(), partition=i % 6)
        producer.flush()
        watcher.wait_for(expect(tenantId="424242", resourceId=tag, state="CRITICAL"), timeout=10)
        lat.append(time.perf_counter() - t1)
        watcher.close()
    producer.close()
    return {"preload_messages": preload, "preload_seconds": round(preload_s, 1),
            "detect_median_s": statistics.median(lat), "detect_max_s": max(lat)}


def mutations(tmp: Path) -> dict[str, Any]:
    from tests.acceptance.mutation_runner import kill_rate, run_all

    t0 = time.perf_counter()
    outcomes = run_all(tmp / "mutations", progress=lambda o: print(
        f"  mutation {o.mutation.id}: {'killed' if o.killed else 'SURVIVED'} ({o.seconds:.0f}s)", file=sys.stderr))
    return {"mutations": len(outcomes), "killed": sum(o.killed for o in outcomes), "kill_rate": kill_rate(outcomes),
            "survivors": {o.mutation.id: o.mutation.survives or "(not expected)" for o in outcomes if not o.killed},
            "seconds": round(time.perf_counter() - t0)}


def med(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--preload", type=int, default=1_000_000)
    ap.add_argument("--skip-preload", action="store_true")
    ap.add_argument("--mutations", action="store_true", help="also run the curated sandbox mutations (~15 min)")
    ap.add_argument("--out", type=Path, default=REPO / "reports" / "bench" / "salus.json")
    args = ap.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="e2et-bench-") as d:
        tmp = Path(d)
        cs = cold_start(tmp)
        results["cold_start_s"] = {"median": med(cs), "max": round(max(cs), 2)}
        handle = start_sandbox("salus", tmp / "main")
        try:
            al = attach_latency(handle.profile_path)
            results["attach_to_event_s"] = {"median": med(al), "max": round(max(al), 2)}
            runs = behave_runs(handle.profile_path, tmp, args.runs)
            kinds = {k: med([r["kinds"].get(k, 0.0) for r in runs]) for k in {k for r in runs for k in r["kinds"]}}
            by_kind = dict(sorted(kinds.items(), key=lambda kv: -kv[1]))
            results["behave_salus_wall_s"] = {"median": med([r["wall"] for r in runs]),
                                              "runs": [round(r["wall"], 2) for r in runs],
                                              "steps_median": med([r["steps"] for r in runs]),
                                              "steps_by_kind_median": by_kind}
            timed = timed_run(handle.profile_path, tmp)
            results["outside_steps_one_run_s"] = {k: (round(v, 2) if isinstance(v, float) else
                                                      {n: round(s, 2) for n, s in v.items()})
                                                  for k, v in timed.items()}
            one = e2et_runs(handle.profile_path, tmp, args.runs, 1)
            three = e2et_runs(handle.profile_path, tmp, args.runs, 3)
            results["flows"] = {"one_flow_wall_median": med([r["wall"] for r in one]),
                                "three_flows_wall_median": med([r["wall"] for r in three]),
                                "ratio": round(med([r["wall"] for r in three]) / med([r["wall"] for r in one]), 2),
                                "exits": [r["exit"] for r in one + three],
                                "three_flow_runs": [round(r["wall"], 2) for r in three]}
            if not args.skip_preload:
                results["event_detection_empty"] = detection_latency(handle.profile_path, 0)
                results["event_detection_backlog"] = detection_latency(handle.profile_path, args.preload)
        finally:
            handle.stop()
        if args.mutations:
            results["mutations"] = mutations(tmp)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print("| measure | value |\n|---|---|")
    for k, v in results.items():
        print(f"| {k} | {json.dumps(v)} |")
    failed = [e for e in results["flows"]["exits"] if e != 0]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
