"""Per-phase and per-scenario results of one cycle, read from behave's JSON output.

A *phase* is a feature ("Test run setup", "Envoy presence", …). behave's JSON carries step
durations only, so a scenario's duration is the sum of its steps and a phase's the sum of its
scenarios (hooks excluded — they are in the cycle's wall time). Failure messages come from the
run's redacted ``summary.json`` when present (behave's JSON omits the message of an *error*
step), else from the failing step in behave's JSON.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class ScenarioTiming:
    phase: str
    name: str
    status: str
    duration_s: float
    message: str = ""


@dataclass
class PhaseTiming:
    name: str
    status: str
    duration_s: float


@dataclass
class CycleResults:
    phases: list[PhaseTiming] = field(default_factory=list)
    scenarios: list[ScenarioTiming] = field(default_factory=list)

    def failed(self) -> list[ScenarioTiming]:
        return [s for s in self.scenarios if s.status in ("failed", "error")]


def _step_message(step: dict) -> str:
    em = step.get("result", {}).get("error_message", "")
    return "\n".join(em) if isinstance(em, list) else str(em or "")


def parse_behave_json(path: Path, summary_json: Path | None = None) -> CycleResults:
    """Empty results when the file is missing or unreadable (a crashed cycle still gets a record)."""
    out = CycleResults()
    try:
        features = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return out
    messages = _summary_messages(summary_json)
    for feature in features:
        total = 0.0
        for el in feature.get("elements", []):
            if el.get("type") != "scenario":
                continue
            steps = el.get("steps", [])
            dur = sum(float(s.get("result", {}).get("duration", 0.0) or 0.0) for s in steps)
            status = el.get("status", "unknown")
            msg = ""
            if status in ("failed", "error"):
                msg = messages.get(el["name"]) or next(
                    (_step_message(s) for s in steps
                     if s.get("result", {}).get("status") in ("failed", "error")), "")
            out.scenarios.append(ScenarioTiming(feature["name"], el["name"], status, round(dur, 6),
                                                msg.strip()[:2000]))
            total += dur
        out.phases.append(PhaseTiming(feature["name"], feature.get("status", "unknown"), round(total, 6)))
    return out


def _summary_messages(path: Path | None) -> dict[str, str]:
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return {s["name"]: " — ".join(x for x in (s.get("failed_step"), s.get("message")) if x)
            for s in data.get("scenarios", []) if s.get("message") or s.get("failed_step")}
