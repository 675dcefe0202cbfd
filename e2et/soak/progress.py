"""The live soak display: cycle, elapsed, success rate, ETA — on stderr, so stdout stays parseable.

ETA is the mean cycle time (cooldown included) × cycles left, or the time left of ``--run-hours``
when that ends first. Each finished cycle also gets one permanent line, so a log keeps the history.
"""
from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn


def _hms(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    s = int(max(0, seconds))
    return f"{s // 3600:d}:{s % 3600 // 60:02d}:{s % 60:02d}"


class SoakProgress:
    def __init__(self, total: int | None, run_hours: float | None, first_cycle: int,
                 console: Console | None = None) -> None:
        self.total = total
        self.deadline = time.monotonic() + run_hours * 3600 if run_hours else None
        self.started = time.monotonic()
        self.first_cycle = first_cycle
        self.done = 0
        self.passed = 0
        self.console = console or Console(stderr=True)
        self.progress = Progress(TextColumn("[bold]soak[/]"), BarColumn(),
                                 TextColumn("{task.fields[info]}"), console=self.console)
        self.task = self.progress.add_task("soak", total=total, completed=first_cycle - 1, info="")

    def __enter__(self) -> SoakProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.stop()

    def eta(self) -> float | None:
        if not self.done:
            return None
        per = (time.monotonic() - self.started) / self.done
        left = [per * (self.total - (self.first_cycle - 1) - self.done)] if self.total else []
        if self.deadline:
            left.append(self.deadline - time.monotonic())
        return min(left) if left else None

    def update(self, cycle: int, state: str) -> None:
        rate = f"{100 * self.passed / self.done:.0f}%" if self.done else "–"
        total = self.total or "∞"
        completed = self.first_cycle - 1 + self.done
        self.progress.update(self.task, completed=completed, info=(
            f"cycle {cycle}/{total} {state} • elapsed {_hms(time.monotonic() - self.started)} • "
            f"success {self.passed}/{self.done} ({rate}) • ETA {_hms(self.eta())}"))

    def finished(self, cycle: int, line: str, passed: bool) -> None:
        self.done += 1
        self.passed += int(passed)
        self.progress.console.print(line)
        nxt = cycle + 1 if self.total is None or cycle < self.total else cycle
        self.update(nxt, "next" if nxt > cycle else "done")
