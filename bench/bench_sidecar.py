"""Benchmark of the @sidecar pack and its load generator — figures, not a timed test.

Measures, on this machine:
  1. stand-in cold start (process start → profile written);
  2. the whole `behave --tags @sidecar` wall (the stand-in started by the run itself, local defaults);
  3. the pack's async load generator (aiohttp engine, and its httpx engine) at concurrency 50 and 300
     against the stand-in, side by
     side in the same run with Debian's `wrk` on the same route (a plain chat, POST
     /v1/chat/completions, through the gateway to the upstream stub), so the generator's own
     overhead is known. The stand-in for (3) runs with rate limits lifted, so both tools measure
     the proxied 200 path rather than 429s.

Usage: .venv/bin/python bench/bench_sidecar.py [--duration 8] [--concurrency 50,300] [--skip-suite]
Prints a Markdown table; writes reports/bench/sidecar.json.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from support.sandboxes import start_sandbox  # noqa: E402

WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Explain how the circuit answers."}],'
  .. '"stream":false}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %s"
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format('WRK_JSON {"requests":%%d,"seconds":%%.3f,"non2xx":%%d,"errors":%%d,'
    .. '"p50":%%.3f,"p95":%%.3f,"p99":%%.3f}\\n', summary.requests, summary.duration / 1e6,
    summary.errors.status, errors, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000))
end
"""


def cold_start(tmp: Path, n: int = 3) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        h = start_sandbox("sidecar", tmp / f"cold{i}", timeout=40)
        out.append(time.perf_counter() - t0)
        h.stop()
    return out


def suite_wall() -> tuple[float, int]:
    env = {k: v for k, v in os.environ.items() if k != "E2ET_SANDBOX_PROFILE"}
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "behave", "--tags", "@sidecar", "-f", "plain", "-o", os.devnull,
                        "--no-junit"], cwd=REPO, env=env, capture_output=True, text=True)
    return time.perf_counter() - t0, p.returncode


def generator(base: str, token: str, concurrency: int, duration: float, client: str) -> dict:
    from support.sidecar.load import run_load
    from support.sidecar.settings import Load

    plan = Load(duration=duration, concurrency=concurrency, attach_rate=0.0, timeout=30, client=client)
    s = run_load(base, token, plan).summary()["chat"]
    return {"rps": s["rps"], "p50_ms": s["latency_ms"]["p50"], "p95_ms": s["latency_ms"]["p95"],
            "p99_ms": s["latency_ms"]["p99"], "errors": s["errors"]["4xx"] + s["errors"]["5xx"], "count": s["count"]}


def wrk(base: str, token: str, concurrency: int, duration: float, tmp: Path) -> dict | None:
    if shutil.which("wrk") is None:
        return None
    script = tmp / "chat.lua"
    script.write_text(WRK_SCRIPT % token)
    p = subprocess.run(["wrk", "-t2", f"-c{concurrency}", f"-d{int(duration)}s", "--timeout", "30s", "-s",
                        str(script), base + "/v1/chat/completions"], capture_output=True, text=True)
    m = re.search(r"WRK_JSON (\{.*\})", p.stdout)
    if not m:
        raise SystemExit(f"wrk printed no summary: {p.stdout[-500:]} {p.stderr[-500:]}")
    d = json.loads(m.group(1))
    return {"rps": round(d["requests"] / d["seconds"], 1), "p50_ms": d["p50"], "p95_ms": d["p95"],
            "p99_ms": d["p99"], "errors": d["non2xx"] + d["errors"], "count": d["requests"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=8.0)
    ap.add_argument("--concurrency", default="50,300")
    ap.add_argument("--skip-suite", action="store_true")
    args = ap.parse_args()
    out: dict = {"machine": {"cpus": os.cpu_count()}}
    with tempfile.TemporaryDirectory(prefix="e2et-bench-sidecar-") as t:
        tmp = Path(t)
        out["cold_start_s"] = [round(x, 2) for x in cold_start(tmp)]
        if not args.skip_suite:
            wall, rc = suite_wall()
            out["suite"] = {"wall_s": round(wall, 1), "exit": rc}
        cfg = tmp / "open-limits.yaml"
        cfg.write_text("rate_limits: {read_rps: 1000000, read_burst: 1000000, write_rps: 1000000, "
                       "write_burst: 1000000}\nllm_latency_ms: 0\n")
        with start_sandbox("sidecar", tmp / "load", config_file=cfg, timeout=40) as h:
            import yaml
            prof = yaml.safe_load(h.profile_path.read_text())["sidecar"]
            base, token = prof["base_url"], prof["auth_token_write"]
            out["load"] = []
            for c in [int(x) for x in args.concurrency.split(",")]:
                row = {"concurrency": c,
                       "generator (aiohttp)": generator(base, token, c, args.duration, "aiohttp"),
                       "generator (httpx)": generator(base, token, c, args.duration, "httpx"),
                       "wrk": wrk(base, token, c, args.duration, tmp)}
                out["load"].append(row)
    dest = REPO / "reports" / "bench"
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "sidecar.json").write_text(json.dumps(out, indent=2))
    print(f"stand-in cold start: {out['cold_start_s']} s")
    if "suite" in out:
        print(f"behave --tags @sidecar wall: {out['suite']['wall_s']} s (exit {out['suite']['exit']})")
    print("\n| concurrency | tool | rps | p50 ms | p95 ms | p99 ms | errors |\n|---|---|---|---|---|---|---|")
    for row in out["load"]:
        for tool in ("generator (aiohttp)", "generator (httpx)", "wrk"):
            r = row[tool]
            if r:
                print(f"| {row['concurrency']} | {tool} | {r['rps']} | {r['p50_ms']} | {r['p95_ms']} | "
                      f"{r['p99_ms']} | {r['errors']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
