"""Benchmark of the Salus sandbox and the @salus suite — figures, not a timed test.

Measures, on this machine:
  1. sandbox cold start: process start → every service ready (profile written);
  2. envoy attach → AttachEvent on Kafka;
  3. a full `behave --tags @salus` wall time against a running sandbox (N repetitions);
  4. event detection latency with the events topic preloaded with --preload messages
     (default 1,000,000): time from producing a matching event to the watcher returning it.

Usage: .venv/bin/python bench/bench_salus.py [--runs 3] [--preload 1000000] [--skip-preload]
Prints a Markdown table; writes reports/bench/salus.json.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from support.sandboxes import start_sandbox  # noqa: E402


def cold_start(tmp: Path, n: int = 3) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        h = start_sandbox("salus", tmp / f"cold{i}")
        out.append(time.perf_counter() - t0)
        h.stop()
    return out


def behave_runs(profile: Path, n: int) -> list[float]:
    env = dict(os.environ, E2ET_SANDBOX_PROFILE=str(profile), E2ET_PROFILE="local")
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, "-m", "behave", "--tags", "@salus", "-f", "null",
                            "--no-junit"], cwd=REPO, env=env, capture_output=True, text=True)
        out.append(time.perf_counter() - t0)
        if p.returncode != 0:
            print(p.stdout[-3000:], p.stderr[-2000:], file=sys.stderr)
            raise SystemExit(f"behave run failed (exit {p.returncode})")
    return out


def attach_latency(profile: Path, tmp: Path, n: int = 3) -> list[float]:
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


def detection_latency(profile: Path, preload: int) -> dict[str, float]:
    from kafka import KafkaProducer

    from support.config import load_settings
    from support.kafka import expect
    from support.salus import events

    os.environ["E2ET_SANDBOX_PROFILE"] = str(profile)
    settings = load_settings("local", packs=["salus"]).salus
    topic = settings.events.topic
    bootstrap = settings.kafka.brokers[0]
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, batch_size=512 * 1024)
    filler = json.dumps({"id": "x", "tenantId": "999999", "state": "CRITICAL", "taskId": "t",
                         "metricGroup": "net_response", "labels": {"system_resource_id": "old"}}).encode()
    t0 = time.perf_counter()
    for i in range(preload):
        producer.send(topic, value=filler, partition=i % 6)
    producer.flush()
    preload_s = time.perf_counter() - t0
    lat = []
    for i in range(5):
        watcher = events.watcher(settings, "events", None)
        watcher.start()
        needle = {"id": f"n{i}", "tenantId": "424242", "taskId": f"bench-{i}", "state": "CRITICAL",
                  "metricGroup": "net_response", "labels": {"system_resource_id": f"bench-{i}"},
                  "timestamp": "2026-01-01T00:00:00Z"}
        t1 = time.perf_counter()
        producer.send(topic, value=json.dumps(needle).encode(), partition=i % 6)
        producer.flush()
        watcher.wait_for(expect(tenantId="424242", resourceId=f"bench-{i}", state="CRITICAL"), timeout=10)
        lat.append(time.perf_counter() - t1)
        watcher.close()
    return {"preload_messages": preload, "preload_seconds": preload_s,
            "detect_median_s": statistics.median(lat), "detect_max_s": max(lat)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--preload", type=int, default=1_000_000)
    ap.add_argument("--skip-preload", action="store_true")
    args = ap.parse_args()
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="e2et-bench-") as d:
        tmp = Path(d)
        cs = cold_start(tmp)
        results["cold_start_s"] = {"median": statistics.median(cs), "max": max(cs)}
        handle = start_sandbox("salus", tmp / "main")
        try:
            al = attach_latency(handle.profile_path, tmp)
            results["attach_to_event_s"] = {"median": statistics.median(al), "max": max(al)}
            br = behave_runs(handle.profile_path, args.runs)
            results["behave_salus_wall_s"] = {"median": statistics.median(br), "max": max(br),
                                              "runs": br}
            t0 = time.perf_counter()
            p = subprocess.run([sys.executable, "-m", "e2et.cli", "run", "--parallel", "3", "--reports",
                                str(tmp / "par")], cwd=REPO, capture_output=True, text=True,
                               env=dict(os.environ, E2ET_SANDBOX_PROFILE=str(handle.profile_path)))
            par = time.perf_counter() - t0
            results["parallel_3_flows_wall_s"] = {"wall": par, "ratio_to_one_flow": par / statistics.median(br),
                                                  "exit": p.returncode}
            if not args.skip_preload:
                results["event_detection"] = detection_latency(handle.profile_path, args.preload)
        finally:
            handle.stop()
    out = REPO / "reports" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "salus.json").write_text(json.dumps(results, indent=2))
    print("| measure | value |\n|---|---|")
    for k, v in results.items():
        print(f"| {k} | {json.dumps(v)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
