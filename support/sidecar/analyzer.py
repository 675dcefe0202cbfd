"""The system's attach-rate analyzer, run as its own process on this run's status store and audit
log; its recommendation is compared with the chart's replica bounds (contract §9)."""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any


class AnalyzerUnavailable(Exception):
    """The analyzer did not complete or produced no recommendation (a skip per the contract)."""


def run_analyzer(analyzer: Path, status_json: Path, audit_log: Path | None, concurrency: int, token_mix: float,
                 timeout: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="e2et-analyzer-") as tmp:
        out = Path(tmp) / "attach_rate_summary.json"
        cmd = [sys.executable, str(analyzer), "--status-json", str(status_json), "--concurrency", str(concurrency),
               "--token-mix", str(token_mix), "--output", str(out), "--report-output", str(Path(tmp) / "report.md")]
        if audit_log is not None:
            cmd += ["--audit-log", str(audit_log)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise AnalyzerUnavailable(f"the analyzer did not complete within {timeout:g}s") from None
        if proc.returncode != 0 or not out.exists():
            raise AnalyzerUnavailable(f"the analyzer exited {proc.returncode}: {proc.stderr.strip()[-300:]}")
        summary = json.loads(out.read_text())
    if not summary.get("capacity_recommendations"):
        raise AnalyzerUnavailable("the analyzer produced no capacity recommendations")
    return summary


def recommendation_for(summary: dict[str, Any], concurrency: int) -> dict[str, Any]:
    recs = summary["capacity_recommendations"]
    exact = [r for r in recs if r.get("concurrency") == concurrency]
    return exact[0] if exact else min(recs, key=lambda r: abs(int(r.get("concurrency", 0)) - concurrency))


def compare(rec: dict[str, Any], min_replicas: int, max_replicas: int, slack: int = 2) -> list[str]:
    """The plan's rule: mean.optimistic.total ≥ min and p95.conservative.total ≤ max + slack."""
    opt = rec["replicas"]["mean"]["optimistic"]["total"]
    cons = rec["replicas"]["p95"]["conservative"]["total"]
    out = []
    if opt < min_replicas:
        out.append(f"mean optimistic total {opt} < KEDA minReplicaCount {min_replicas}")
    if cons > max_replicas + slack:
        out.append(f"p95 conservative total {cons} > KEDA maxReplicaCount {max_replicas} + {slack}")
    return out
