"""Turn one finished cycle into metrics lines: a cycle line, one per phase, one per scenario.

Every line carries soak id, cycle, run id and the injected fault (if any); failed scenarios of an
injected cycle carry ``attributed_to`` — the analyzer's attribution starts here, where the cycle's
injection is known for certain.
"""
from __future__ import annotations

import time
from typing import Any

from .cycle import CycleRun
from .injection import Injection


def cycle_records(soak_id: str, run: CycleRun, injection: Injection | None,
                  sample: dict[str, Any]) -> list[dict[str, Any]]:
    base = {"soak_id": soak_id, "cycle": run.cycle, "run_id": run.run_id,
            "injected": injection.fault if injection else None,
            "injected_phase": injection.phase if injection else None,
            "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    lines: list[dict[str, Any]] = [{**base, "kind": "cycle", "status": run.status, "rc": run.rc,
                                    "duration_s": run.duration_s, "timed_out": run.timed_out,
                                    "failed_scenarios": [s.name for s in run.results.failed()], **sample}]
    for ph in run.results.phases:
        lines.append({**base, "kind": "phase", "phase": ph.name, "status": ph.status,
                      "duration_s": ph.duration_s})
    for sc in run.results.scenarios:
        rec = {**base, "kind": "scenario", "phase": sc.phase, "scenario": sc.name,
               "status": sc.status, "duration_s": sc.duration_s}
        if sc.message:
            rec["message"] = sc.message
        if injection and sc.status in ("failed", "error"):
            rec["attributed_to"] = injection.fault
        lines.append(rec)
    return lines
