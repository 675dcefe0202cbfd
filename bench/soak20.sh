#!/usr/bin/env bash
# The 20-cycle @salus soak of issue 7's "Done when": one local sandbox, 20 full runs, then the
# figures (success rate, P50/P90/P95 per phase, memory drift, leaked processes) from analysis.json.
# Usage: bash bench/soak20.sh [OUTPUT_DIR] [extra e2et soak args…]   (≈ 3 min on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-reports/soak/soak20-$(date -u +%Y%m%dT%H%M%SZ)}"
shift || true
rc=0
.venv/bin/e2et soak --tags @salus --cycles 20 --output "$OUT" "$@" || rc=$?
.venv/bin/python - "$OUT" <<'PY'
import json, sys
a = json.load(open(f"{sys.argv[1]}/analysis.json"))
print(f"\nsoak {a['soak_id']}: {a['passed']}/{a['cycles']} passed ({100 * (a['success_rate'] or 0):.1f} %)")
cd = a["cycle_duration"]
print(f"cycle wall time  P50 {cd['p50']:.2f}s  P90 {cd['p90']:.2f}s  P95 {cd['p95']:.2f}s  max {cd['max']:.2f}s")
for name, s in a["phases"].items():
    print(f"  {name:<16} P50 {s['p50']:.3f}s  P90 {s['p90']:.3f}s  P95 {s['p95']:.3f}s  max {s['max']:.3f}s")
for key, m in a["memory"].items():
    print(f"{key}: after cycle 1 {m['after_first_cycle'] / 2**20:.1f} MiB → after last "
          f"{m['after_last_cycle'] / 2**20:.1f} MiB (max {m['max'] / 2**20:.1f}), drift {100 * m['drift']:+.1f} % "
          f"{'flat' if m['flat'] else 'NOT FLAT'}")
print(f"leaked processes: {a['leaked_processes']}; report: {sys.argv[1]}/report.md")
PY
exit $rc
