"""The soak's human-readable outputs: ``report.md`` (with the plots embedded), ``analysis.json``,
and a one-test Allure result carrying report and plots, so the soak shows up next to its cycles."""
from __future__ import annotations

import json
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from .analyze import analyze
from .plots import make_plots


def _mb(v: int | None) -> str:
    return "—" if not v else f"{v / 2**20:.1f} MiB"


def _s(v: float | None) -> str:
    return "—" if v is None else f"{v:.3f}"


def _cause(injection: dict[str, Any]) -> str:
    """The first failing scenario's message, one line, table-safe: the evidence for attribution."""
    msg = next((m for m in injection.get("messages", {}).values() if m), "")
    line = " ".join(msg.split())[:160].replace("|", "/")
    return f"`{line}`" if line else "—"


def render_markdown(a: dict[str, Any], plots: list[Path]) -> str:
    rate = a.get("success_rate")
    lines = [f"# Soak {str(a['soak_id']).removeprefix('soak-')}", "",
             f"**{a['passed']}/{a['cycles']} cycles passed"
             + (f" ({100 * rate:.1f} %)" if rate is not None else "") + "**"
             + (f"; clean (non-injected) cycles: {100 * a['clean_success_rate']:.1f} % of {a['clean_cycles']}"
                if a.get("clean_success_rate") is not None else "")
             + f". Status: {a['status']} ({a.get('stop_reason') or '—'}).", ""]
    cd = a.get("cycle_duration", {})
    if cd.get("count"):
        lines += [f"Cycle wall time: P50 {_s(cd['p50'])} s, P95 {_s(cd['p95'])} s, max {_s(cd['max'])} s.", ""]
    lines += ["## Phases (seconds)", "", "| phase | n | P50 | P90 | P95 | max |", "|---|---|---|---|---|---|"]
    for name, s in a.get("phases", {}).items():
        lines.append(f"| {name} | {s['count']} | {_s(s['p50'])} | {_s(s['p90'])} | {_s(s['p95'])} | {_s(s['max'])} |")
    lines += ["", "## Scenarios (seconds)", "", "| phase | scenario | n | P50 | P90 | P95 | max |",
              "|---|---|---|---|---|---|---|"]
    for name, s in a.get("scenarios", {}).items():
        lines.append(f"| {s['phase']} | {name} | {s['count']} | {_s(s['p50'])} | {_s(s['p90'])} | "
                     f"{_s(s['p95'])} | {_s(s['max'])} |")
    lines += ["", "## Regressions", ""]
    if a.get("regressions"):
        for f in a["regressions"]:
            lines.append(f"- **{f['group']} {f['name']}** {f['percentile']}: "
                         f"{_s(f['baseline'])} s → {_s(f['current'])} s")
    else:
        lines.append("None flagged" + ("" if a.get("baseline") else " (no baseline given)") + ".")
    lines += ["", "## Injected failures", ""]
    if a.get("injections"):
        lines += ["| cycle | fault | phase | cycle failed | failed scenarios (attributed to the fault) | first cause "
                  "| recovered in |",
                  "|---|---|---|---|---|---|---|"]
        for i in a["injections"]:
            lines.append(f"| {i['cycle']} | {i['fault']} | {i['phase'] or 'whole cycle'} | "
                         f"{'yes' if i['failed'] else '**no — fault had no effect**'} | "
                         f"{'; '.join(i['failed_scenarios']) or '—'} | {_cause(i)} | "
                         f"{i['recovered_in_cycle'] or '—'} |")
    else:
        lines.append("None.")
    if a.get("unattributed_failures"):
        lines += ["", "**Failures with no injected cause:**", ""]
        for f in a["unattributed_failures"]:
            lines.append(f"- cycle {f['cycle']} ({f['run_id']}): {'; '.join(f['failed']) or 'run error'}")
    lines += ["", "## Resources", ""]
    for key, label in (("runner_rss", "runner"), ("sandbox_rss", "sandbox (process tree)")):
        m = a.get("memory", {}).get(key)
        if m:
            lines.append(f"- {label} RSS: before {_mb(m['before_soak'])}, after cycle 1 {_mb(m['after_first_cycle'])}, "
                         f"after last {_mb(m['after_last_cycle'])}, max {_mb(m['max'])}, drift "
                         f"{100 * (m['drift'] or 0):+.1f} % — {'flat' if m['flat'] else '**not flat (> ±10 %)**'}")
    lines.append(f"- leaked envoy/telegraf processes (ppid 1) after cycles: {a.get('leaked_processes', 0)}")
    lines += ["", "## Plots", ""] + [f"![{p.stem}]({p.parent.name}/{p.name})" for p in plots]
    return "\n".join(lines) + "\n"


def attach_to_allure(directory: Path, report: Path, plots: list[Path], a: dict[str, Any]) -> Path:
    """One synthetic Allure test result ("Soak <id>") with the report and plots as attachments."""
    results = Path(directory) / "allure-results"
    results.mkdir(parents=True, exist_ok=True)
    attachments = []
    for src, mime in [(report, "text/markdown"), *[(p, "image/png") for p in plots]]:
        name = f"{uuid.uuid4()}-attachment{src.suffix}"
        shutil.copyfile(src, results / name)
        attachments.append({"name": src.name, "source": name, "type": mime})
    now = int(time.time() * 1000)
    ok = not a.get("unattributed_failures") and all(i["failed"] for i in a.get("injections", []))
    title = f"Soak {str(a['soak_id']).removeprefix('soak-')}"
    result = {"uuid": str(uuid.uuid4()), "historyId": f"soak-{a['soak_id']}", "name": title,
              "fullName": f"soak.{a['soak_id']}", "status": "passed" if ok else "failed",
              "stage": "finished", "start": now, "stop": now, "attachments": attachments,
              "labels": [{"name": "suite", "value": "soak"}, {"name": "feature", "value": "soak"}]}
    path = results / f"{result['uuid']}-result.json"
    path.write_text(json.dumps(result, indent=2))
    return path


def write_report(directory: Path, baseline_dir: Path | None = None, margin: float = 0.2,
                 min_delta: float = 0.05) -> dict[str, Any]:
    """analysis.json + plots + report.md + Allure attachment; returns the analysis."""
    directory = Path(directory)
    baseline = analyze(baseline_dir) if baseline_dir else None
    a = analyze(directory, baseline, margin, min_delta)
    a["baseline"] = str(baseline_dir) if baseline_dir else None
    (directory / "analysis.json").write_text(json.dumps(a, indent=2))
    plots = make_plots(a, directory / "plots") if a["cycles"] else []
    report = directory / "report.md"
    report.write_text(render_markdown(a, plots))
    for old in (directory / "allure-results").glob("*"):
        old.unlink()        # re-analysis (after --resume) replaces the soak's own Allure result
    attach_to_allure(directory, report, plots, a)
    return a
