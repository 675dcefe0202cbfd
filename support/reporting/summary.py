"""summary.json and summary.md: the one screen an on-call engineer reads first.

Per scenario PASS / FAIL / BROKEN / SKIP with the reason, the first failing step and its message,
and the category (product / infrastructure / configuration / harness); per phase timings; the
environment snapshot (tools and versions). Built from behave's model in after_scenario, so it
does not depend on which formatters ran.
"""
from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .categories import classify
from .text import clip

MESSAGE_LIMIT = 1500


@dataclass
class ScenarioOutcome:
    feature: str
    name: str
    status: str                      # PASS | FAIL | BROKEN | SKIP
    duration_s: float
    tags: list[str] = field(default_factory=list)
    reason: str | None = None        # skip reason
    failed_step: str | None = None
    message: str | None = None
    category: str | None = None
    evidence: int = 0                # attachments made


def _exc_name(exc: BaseException | None) -> str:
    return f"{type(exc).__module__}.{type(exc).__name__}" if exc is not None else ""


def outcome_of(scenario: Any, redact: Callable[[str], str], evidence: int = 0) -> ScenarioOutcome:
    """Translate behave's scenario (after it ran) into a summary row."""
    status_name = getattr(scenario.status, "name", str(scenario.status))
    tags = sorted(str(t) for t in scenario.effective_tags)
    base: dict[str, Any] = dict(feature=str(scenario.feature.name), name=str(scenario.name),
                                duration_s=round(scenario.duration or 0.0, 3), tags=tags, evidence=evidence)
    if status_name == "passed":
        return ScenarioOutcome(status="PASS", **base)
    if status_name in ("skipped", "untested"):
        reason = getattr(scenario, "skip_reason", None) or "skipped"
        return ScenarioOutcome(status="SKIP", reason=reason, category=classify("skipped"), **base)
    step = next((s for s in scenario.all_steps if getattr(s.status, "name", "") not in ("passed", "skipped",
                                                                                           "untested")), None)
    exc = getattr(step, "exception", None) if step is not None else getattr(scenario, "exception", None)
    if step is not None:
        failed_step = f"{step.keyword} {step.name}"
        message = step.error_message or str(exc or "")
    else:
        failed_step = "(hook)"
        message = getattr(scenario, "error_message", None) or str(exc or "")
    status = "FAIL" if isinstance(exc, AssertionError) else "BROKEN"
    allure_status = "failed" if status == "FAIL" else "broken"
    message = redact(str(message)).strip()
    category = classify(allure_status, f"{_exc_name(exc)}: {message}")
    return ScenarioOutcome(status=status, failed_step=failed_step, message=clip(message, MESSAGE_LIMIT),
                           category=category, **base)


class Summary:
    """Collects outcomes and phase timings during the run; writes both files at the end."""

    def __init__(self) -> None:
        self.started = time.time()
        self.phases: dict[str, float] = {}
        self._open: dict[str, float] = {}
        self.outcomes: list[ScenarioOutcome] = []
        self.environment: dict[str, str] = {}
        #: scenarios behave skipped because the run's tags did not select them (counted, not listed)
        self.not_selected = 0

    def duration(self) -> float:
        """The whole run so far, from process start (setup and sandbox start included)."""
        return max(0.0, time.time() - self.started)

    def begin(self, phase: str) -> None:
        self._open[phase] = time.monotonic()

    def end(self, phase: str) -> None:
        start = self._open.pop(phase, None)
        if start is not None:
            self.phases[phase] = round(self.phases.get(phase, 0.0) + time.monotonic() - start, 3)

    def add(self, outcome: ScenarioOutcome) -> None:
        self.outcomes.append(outcome)

    def counts(self) -> dict[str, int]:
        out = {"PASS": 0, "FAIL": 0, "BROKEN": 0, "SKIP": 0}
        for o in self.outcomes:
            out[o.status] = out.get(o.status, 0) + 1
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"started": dt.datetime.fromtimestamp(self.started, dt.UTC).isoformat(timespec="seconds"),
                "duration_s": round(self.duration(), 3), "counts": self.counts(), "not_selected": self.not_selected,
                "phases_s": self.phases, "environment": self.environment,
                "scenarios": [asdict(o) for o in self.outcomes]}

    def write(self, root: Path, redact: Callable[[str], str]) -> tuple[Path, Path]:
        """Write summary.json and summary.md; the whole text is redacted once more before writing."""
        root.mkdir(parents=True, exist_ok=True)
        data = self.as_dict()
        jpath, mpath = root / "summary.json", root / "summary.md"
        jpath.write_text(redact(json.dumps(data, indent=2, default=str)) + "\n")
        mpath.write_text(redact(render_markdown(data)))
        return jpath, mpath


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ").strip()


def render_markdown(data: dict[str, Any]) -> str:
    """One screen: verdict line, failures first with their cause, then every scenario, then environment."""
    c = data["counts"]
    env = data["environment"]
    verdict = "FAILED" if c.get("FAIL") or c.get("BROKEN") else "PASSED"
    lines = [f"# e2et run {env.get('run_id', '?')} — {verdict}", "",
             f"profile `{env.get('profile', '?')}` · {c['PASS']} passed, {c['FAIL']} failed, {c['BROKEN']} broken, "
             f"{c['SKIP']} skipped" + (f" (+{data['not_selected']} not selected by the tags)"
                                       if data.get("not_selected") else "")
             + f" · {data['duration_s']:.1f}s · git {env.get('git.revision', '?')}", ""]
    bad = [s for s in data["scenarios"] if s["status"] in ("FAIL", "BROKEN")]
    if bad:
        lines += ["## Where it broke", ""]
        for s in bad:
            msg = (s["message"] or "").strip().splitlines()
            lines += [f"- **{s['status']}** {s['feature']} › {s['name']} — *{s.get('category') or 'uncategorised'}*",
                      f"  - step: `{s['failed_step']}`",
                      f"  - {clip(_cell(' '.join(msg[:3])), 400)}"]
        lines.append("")
    lines += ["## Scenarios", "", "| status | feature | scenario | time | reason / first failure |",
              "|---|---|---|---|---|"]
    for s in data["scenarios"]:
        why = s.get("reason") or (f"{s['failed_step']}: {(s['message'] or '').splitlines()[0] if s['message'] else ''}"
                                  if s["status"] in ("FAIL", "BROKEN") else "")
        lines.append(f"| {s['status']} | {_cell(s['feature'])} | {_cell(s['name'])} | {s['duration_s']:.1f}s | "
                     f"{clip(_cell(why), 200)} |")
    lines += ["", "## Phases", "", "| phase | seconds |", "|---|---|"]
    lines += [f"| {k} | {v:.1f} |" for k, v in data["phases_s"].items()]
    lines += ["", "## Environment", "", "| key | value |", "|---|---|"]
    lines += [f"| {_cell(k)} | {_cell(str(v))} |" for k, v in sorted(env.items())]
    lines += ["", "Details: Allure report `allure-report/index.html` (`e2et report`), JUnit `junit/` — both next to "
              "this file.", ""]
    return "\n".join(lines)


def write_combined(root: Path, flows: list[dict[str, Any]]) -> tuple[Path, Path]:
    """The summary of a parallel run: one row per flow plus every flow's failures.

    ``flows`` items carry ``run_id``, ``tags``, ``exit_code``, ``duration_s`` and ``summary`` (that
    flow's own summary.json, already redacted, or None when the flow died before writing it).
    Why a combined file: the on-call reader opens ``reports/summary.md`` whatever ran; the flows'
    own summaries stay under ``reports/runs/<run-id>/``.
    """
    root.mkdir(parents=True, exist_ok=True)
    data = {"parallel": True, "flows": flows,
            "counts": {k: sum(((f.get("summary") or {}).get("counts") or {}).get(k, 0) for f in flows)
                       for k in ("PASS", "FAIL", "BROKEN", "SKIP")}}
    jpath, mpath = root / "summary.json", root / "summary.md"
    jpath.write_text(json.dumps(data, indent=2, default=str) + "\n")
    mpath.write_text(render_combined(data))
    return jpath, mpath


def render_combined(data: dict[str, Any]) -> str:
    c = data["counts"]
    failed = any(f["exit_code"] for f in data["flows"])
    lines = [f"# e2et parallel run ({len(data['flows'])} flows) — {'FAILED' if failed else 'PASSED'}", "",
             f"{c['PASS']} passed, {c['FAIL']} failed, {c['BROKEN']} broken, {c['SKIP']} skipped", "",
             "| flow (run id) | tags | exit | passed | failed | skipped | time | details |",
             "|---|---|---|---|---|---|---|---|"]
    broke: list[str] = []
    for f in data["flows"]:
        s = f.get("summary") or {}
        fc = s.get("counts") or {}
        lines.append(f"| {f['run_id']} | {_cell(' '.join(f['tags']))} | {f['exit_code']} | {fc.get('PASS', 0)} | "
                     f"{fc.get('FAIL', 0) + fc.get('BROKEN', 0)} | {fc.get('SKIP', 0)} | {f['duration_s']:.1f}s | "
                     f"`runs/{f['run_id']}/summary.md` |")
        if not s and f["exit_code"]:
            broke.append(f"- **{f['run_id']}** ended with exit {f['exit_code']} before writing a summary; "
                         f"see `runs/{f['run_id']}/stdout.log`")
        for sc in s.get("scenarios", []):
            if sc["status"] in ("FAIL", "BROKEN"):
                first = (sc.get("message") or "").strip().splitlines()[:1]
                broke.append(f"- **{sc['status']}** [{f['run_id']}] {sc['feature']} › {sc['name']} — "
                             f"`{sc.get('failed_step')}`: {clip(_cell(' '.join(first)), 300)}")
    if broke:
        lines += ["", "## Where it broke", "", *broke]
    lines += ["", "Combined Allure results: `reports/allure-results/` (`e2et report`).", ""]
    return "\n".join(lines)
