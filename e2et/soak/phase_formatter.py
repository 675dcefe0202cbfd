"""A behave formatter that switches a sandbox fault on while one feature (phase) runs.

Formatters are called synchronously by behave: ``feature()`` before the feature's hooks and
scenarios, ``eof()`` after them. Switching there puts the fault exactly around the phase without
watching output from outside. Each switch is logged as a JSON line (``E2ET_SOAK_INJECT_LOG``) so
the soak record proves when the fault was on. Configured only through ``E2ET_SOAK_INJECT*``.
"""
from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from behave.formatter.base import Formatter


def _all_packs() -> list[str]:
    from support import packs
    return list(packs.registry())


class PhaseFaultFormatter(Formatter):
    name = "soak-phase-fault"
    description = "switch E2ET_SOAK_INJECT on during feature E2ET_SOAK_INJECT_PHASE"

    def __init__(self, stream_opener: Any, config: Any) -> None:
        super().__init__(stream_opener, config)
        self.fault = os.environ.get("E2ET_SOAK_INJECT")
        self.phase = os.environ.get("E2ET_SOAK_INJECT_PHASE")
        self.param = json.loads(os.environ.get("E2ET_SOAK_INJECT_PARAM") or "null")
        self.log_path = os.environ.get("E2ET_SOAK_INJECT_LOG")
        self._control: Any = None
        self._on = False

    def _switch(self, on: bool, feature: str) -> None:
        try:
            if self._control is None:
                from .injection import FaultSwitches
                # the orchestrator passes the fault as ``pack:name``, so every registered pack may be asked
                self._control = FaultSwitches(_all_packs(), os.environ.get("E2ET_PROFILE", "local"), os.environ)
            if on:
                self._control.enable(self.fault, self.param)
            else:
                self._control.disable(self.fault)
            self._on = on
            self._log({"event": "on" if on else "off", "fault": self.fault, "phase": feature})
        except Exception as e:  # noqa: BLE001 — a failed switch must be recorded, not crash the run
            print(f"soak: switching fault {self.fault} {'on' if on else 'off'} failed: {e}", file=sys.stderr)
            self._log({"event": "error", "fault": self.fault, "phase": feature, "error": str(e)})

    def _log(self, rec: dict[str, Any]) -> None:
        if self.log_path:
            with open(self.log_path, "a") as fh:
                fh.write(json.dumps({**rec, "ts": time.time()}) + "\n")

    def feature(self, feature: Any) -> None:
        self._current = feature.name
        if self.fault and feature.name == self.phase:
            self._switch(True, feature.name)

    def eof(self) -> None:
        if self._on:
            self._switch(False, getattr(self, "_current", ""))

    def close(self) -> None:
        if self._on:
            self._switch(False, getattr(self, "_current", ""))
        if self._control is not None:
            self._control.close()
