"""The resume record: which cycles finished, so ``--resume`` neither redoes nor skips one.

Written atomically (temp file + rename) after every finished cycle, so a crash or SIGKILL at any
moment leaves either the old or the new state — never a torn file. A cycle counts as done only
once its metrics lines are on disk; an interrupted cycle is run again (with a fresh run id).
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

STATE_FILE = "state.json"


@dataclass
class CycleRecord:
    cycle: int
    run_id: str
    status: str            # passed | failed | error
    rc: int
    duration_s: float
    injected: str | None = None


@dataclass
class SoakState:
    soak_id: str
    config: dict[str, Any]
    status: str = "running"          # running | interrupted | finished | stopped
    started: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    stop_reason: str | None = None
    completed: list[CycleRecord] = field(default_factory=list)
    resumes: int = 0
    samples: dict[str, Any] = field(default_factory=dict)   # memory at start/end

    @property
    def next_cycle(self) -> int:
        """The first cycle not yet completed; completed cycles are always 1..n without gaps."""
        return (self.completed[-1].cycle + 1) if self.completed else 1

    def failures(self, unexpected_only: bool = True) -> int:
        """Failed cycles; injected cycles fail on purpose and do not count unless asked."""
        return sum(1 for c in self.completed
                   if c.status != "passed" and not (unexpected_only and c.injected))

    def add(self, record: CycleRecord) -> None:
        if record.cycle != self.next_cycle:
            raise ValueError(f"cycle {record.cycle} finished but cycle {self.next_cycle} was next")
        self.completed.append(record)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["next_cycle"] = self.next_cycle
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SoakState:
        d = dict(d)
        d.pop("next_cycle", None)
        d["completed"] = [CycleRecord(**c) for c in d.get("completed", [])]
        return cls(**d)


def save_state(directory: Path, state: SoakState) -> None:
    state.updated = time.time()
    path = Path(directory) / STATE_FILE
    tmp = path.with_suffix(".json.tmp")
    with open(tmp, "w") as fh:
        json.dump(state.to_dict(), fh, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def load_state(directory: Path) -> SoakState | None:
    path = Path(directory) / STATE_FILE
    if not path.exists():
        return None
    return SoakState.from_dict(json.loads(path.read_text()))
