"""Read a soak directory back into numbers: success rate, percentiles per phase and scenario,
injected-cycle attribution and recovery, memory drift, leaks, and regressions against a baseline.

Only cycles the state file lists as completed count (by run id), so an interrupted, redone cycle
is counted once. The result is a plain dict (also written as ``analysis.json``) that the report,
the plots and ``e2et compare`` all read.
"""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from .metrics import read_metrics
from .state import load_state
from .stats import regressed, summarize

FLAT_TOLERANCE = 0.10      # memory must stay within ±10 % (issue 7, "Done when")


def _drift(first: int, last: int) -> float | None:
    return (last - first) / first if first else None


def analyze(directory: Path, baseline: dict[str, Any] | None = None, margin: float = 0.2,
            min_delta: float = 0.05) -> dict[str, Any]:
    directory = Path(directory)
    state = load_state(directory)
    run_ids = {c.run_id for c in state.completed} if state else None
    recs = list(read_metrics(directory, run_ids))
    cycles = sorted((r for r in recs if r["kind"] == "cycle"), key=lambda r: r["cycle"])
    phases: dict[str, list[float]] = defaultdict(list)
    scenarios: dict[str, list[float]] = defaultdict(list)
    scenario_phase: dict[str, str] = {}
    for r in recs:
        if r["kind"] == "phase" and r["status"] != "skipped":
            phases[r["phase"]].append(r["duration_s"])
        elif r["kind"] == "scenario" and r["status"] != "skipped":
            scenarios[r["scenario"]].append(r["duration_s"])
            scenario_phase[r["scenario"]] = r["phase"]
    clean = [c for c in cycles if not c.get("injected")]
    passed = sum(1 for c in cycles if c["status"] == "passed")
    clean_passed = sum(1 for c in clean if c["status"] == "passed")
    out: dict[str, Any] = {
        "soak_id": state.soak_id if state else directory.name,
        "status": state.status if state else "unknown",
        "stop_reason": state.stop_reason if state else None,
        "cycles": len(cycles), "passed": passed,
        "success_rate": passed / len(cycles) if cycles else None,
        "clean_cycles": len(clean),
        "clean_success_rate": clean_passed / len(clean) if clean else None,
        "cycle_duration": summarize([c["duration_s"] for c in cycles]),
        "phases": {k: summarize(v) for k, v in phases.items()},
        "scenarios": {k: {**summarize(v), "phase": scenario_phase[k]} for k, v in scenarios.items()},
        "per_cycle": [{"cycle": c["cycle"], "run_id": c["run_id"], "status": c["status"],
                       "duration_s": c["duration_s"], "injected": c.get("injected"),
                       "runner_rss": c.get("runner_rss"), "sandbox_rss": c.get("sandbox_rss"),
                       "leaked": len(c.get("leaked") or [])} for c in cycles],
        "phase_series": _series(recs, "phase"),
    }
    out["injections"] = _attribution(cycles, recs)
    out["unattributed_failures"] = [{"cycle": c["cycle"], "run_id": c["run_id"],
                                     "failed": c.get("failed_scenarios", [])}
                                    for c in clean if c["status"] != "passed"]
    out["memory"] = _memory(cycles, state.samples if state else {})
    out["leaked_processes"] = sum(len(c.get("leaked") or []) for c in cycles)
    out["regressions"] = regressions(out, baseline, margin, min_delta) if baseline else []
    return out


def _series(recs: list[dict[str, Any]], kind: str) -> dict[str, list[tuple[int, float]]]:
    series: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for r in recs:
        if r["kind"] == kind:
            series[r["phase"]].append((r["cycle"], r["duration_s"]))
    return {k: sorted(v) for k, v in series.items()}


def _attribution(cycles: list[dict[str, Any]], recs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per injected cycle: did it fail, which scenarios (with messages), and did the next clean
    cycle pass (recovery)."""
    msgs: dict[tuple[int, str], str] = {(r["cycle"], r["scenario"]): r.get("message", "")
                                        for r in recs if r["kind"] == "scenario" and r.get("attributed_to")}
    out = []
    for i, c in enumerate(cycles):
        if not c.get("injected"):
            continue
        nxt = next((n for n in cycles[i + 1:] if not n.get("injected")), None)
        failed = c.get("failed_scenarios", [])
        out.append({"cycle": c["cycle"], "fault": c["injected"], "phase": c.get("injected_phase"),
                    "failed": c["status"] != "passed", "failed_scenarios": failed,
                    "attributed_to": c["injected"] if c["status"] != "passed" else None,
                    "messages": {n: msgs.get((c["cycle"], n), "")[:300] for n in failed},
                    "recovered_in_cycle": nxt["cycle"] if nxt and nxt["status"] == "passed" else None})
    return out


def _memory(cycles: list[dict[str, Any]], samples: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("runner_rss", "sandbox_rss"):
        vals = [c[key] for c in cycles if c.get(key)]
        if not vals:
            continue
        drift = _drift(vals[0], vals[-1])
        out[key] = {"before_soak": (samples.get("start") or {}).get(key), "after_first_cycle": vals[0],
                    "after_last_cycle": vals[-1], "max": max(vals), "drift": drift,
                    "flat": drift is not None and abs(drift) <= FLAT_TOLERANCE}
    return out


def regressions(current: dict[str, Any], baseline: dict[str, Any], margin: float,
                min_delta: float) -> list[dict[str, Any]]:
    """Every (phase or scenario, percentile) where current exceeds baseline by > margin and > min_delta."""
    flagged = []
    for group in ("phases", "scenarios"):
        for name, cur in current.get(group, {}).items():
            base = baseline.get(group, {}).get(name)
            if not base or not cur.get("count") or not base.get("count"):
                continue
            for p in ("p50", "p90", "p95"):
                if regressed(base[p], cur[p], margin, min_delta):
                    flagged.append({"group": group[:-1], "name": name, "percentile": p,
                                    "baseline": base[p], "current": cur[p],
                                    "ratio": cur[p] / base[p] if base[p] else None})
    return flagged


def load_analysis(directory: Path) -> dict[str, Any]:
    """A soak's analysis: recomputed from its metrics (so old soaks benefit from analyzer fixes)."""
    directory = Path(directory)
    if not (directory / "metrics.jsonl").exists() and (directory / "analysis.json").exists():
        return json.loads((directory / "analysis.json").read_text())
    return analyze(directory)
