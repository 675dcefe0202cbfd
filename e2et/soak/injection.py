"""Failure injection: which cycles get which sandbox fault, and the switch that turns it on/off.

Faults exist only in local sandboxes (each pack's fault control, docs/adding-a-system.md). Without
``--inject-at-phase`` the orchestrator switches the fault on for the whole cycle; with it, the
behave child's ``phase_formatter`` switches it on when that feature starts and off when the feature
ends — synchronously inside the run, so there is no race with the first step. The orchestrator
clears the fault after every injected cycle either way (a killed child must not leave it on).
"""
from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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


class FaultSwitches:
    """Switches faults of the soak's packs by name (``name`` or ``pack:name``), each through its
    pack's own fault control (which knows the sandbox's authentication)."""

    def __init__(self, pack_names: list[str], profile: str, env: Mapping[str, str] | None = None) -> None:
        self.pack_names = pack_names
        self.profile = profile
        self.env: Mapping[str, str] | None = env
        self._controls: dict[str, Any] = {}

    def _control(self, fault: str) -> tuple[Any, str]:
        from support import faults
        pack, name = faults.resolve(fault, self.pack_names)
        if pack not in self._controls:
            self._controls[pack] = faults.control_for(pack, self.profile, self.env)
        return self._controls[pack], name

    def enable(self, fault: str, param: Any = None) -> None:
        control, name = self._control(fault)
        control.enable(name, param)

    def disable(self, fault: str) -> None:
        control, name = self._control(fault)
        control.disable(name)

    def close(self) -> None:
        for c in self._controls.values():
            c.close()
        self._controls.clear()


def child_env(injection: Injection | None, pack_names: list[str] | None = None) -> dict[str, str]:
    """Environment telling ``phase_formatter`` in the behave child what to switch, and when
    (the fault qualified as ``pack:name``, so the child needs no pack selection of its own)."""
    if injection is None or injection.phase is None:
        return {}
    import json

    from support import faults
    pack, name = faults.resolve(injection.fault, pack_names or [])
    return {"E2ET_SOAK_INJECT": f"{pack}:{name}", "E2ET_SOAK_INJECT_PHASE": injection.phase,
            "E2ET_SOAK_INJECT_PARAM": json.dumps(injection.param)}
