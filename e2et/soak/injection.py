"""Failure injection: which cycles get which sandbox fault, and the switch that turns it on/off.

Faults exist only in the local sandbox (its admin-only ``/_sandbox/faults`` endpoint). Without
``--inject-at-phase`` the orchestrator switches the fault on for the whole cycle; with it, the
behave child's ``phase_formatter`` switches it on when that feature starts and off when the feature
ends — synchronously inside the run, so there is no race with the first step. The orchestrator
clears the fault after every injected cycle either way (a killed child must not leave it on).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Mapping

RANDOM = "random"
# excluded from `random`: slow-responses stretches a cycle by minutes (15 s per request) and
# broker-stopped restarts the broker, whose effect outlives the cycle — both are valid explicit choices.
NOT_RANDOM = {"slow-responses", "broker-stopped"}


@dataclass(frozen=True)
class Injection:
    cycle: int
    fault: str
    phase: str | None
    param: Any = None

    def describe(self) -> str:
        where = f"during phase {self.phase!r}" if self.phase else "for the whole cycle"
        return f"{self.fault}{'' if self.param is None else f'={self.param}'} {where}"


def plan_injection(cycle: int, fault: str | None, every: int | None, phase: str | None,
                   catalog: list[str], seed: int, param: Any = None) -> Injection | None:
    """The injection for ``cycle`` or None; ``random`` is seeded per (soak seed, cycle), so a resumed
    soak and a dry run pick the same fault for the same cycle."""
    if not fault or cycle % (every or 1):
        return None
    if fault == RANDOM:
        choices = sorted(set(catalog) - NOT_RANDOM)
        if not choices:
            raise ValueError("no faults to pick from for --inject-failure random")
        fault = random.Random(seed * 100003 + cycle).choice(choices)
        param = None
    return Injection(cycle, fault, phase, param)


def fault_control(profile: str, env: Mapping[str, str]) -> Any:
    """``support.salus.faults.FaultControl`` for the soak's profile (admin sign-in, redacted log)."""
    from support.config import load_settings
    from support.salus.faults import FaultControl
    return FaultControl.from_settings(load_settings(profile, env))


def child_env(injection: Injection | None) -> dict[str, str]:
    """Environment telling ``phase_formatter`` in the behave child what to switch, and when."""
    if injection is None or injection.phase is None:
        return {}
    import json
    return {"E2ET_SOAK_INJECT": injection.fault, "E2ET_SOAK_INJECT_PHASE": injection.phase,
            "E2ET_SOAK_INJECT_PARAM": json.dumps(injection.param)}
