"""One soak cycle: a full behave run in its own child process, run id and report directories.

The child gets its own session so a terminal Ctrl-C reaches only the orchestrator, which forwards
exactly one SIGINT (behave then runs its cleanups and exits 130). Waiting is a poll with a
deadline: past ``timeout`` the child gets SIGTERM (cleanups run), then SIGKILL.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .. import exitcodes
from .behave_results import CycleResults, parse_behave_json

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class CycleRun:
    cycle: int
    run_id: str
    dir: Path
    rc: int
    duration_s: float
    results: CycleResults
    timed_out: bool = False

    @property
    def status(self) -> str:
        if self.rc == exitcodes.OK:
            return "passed"
        if self.rc == exitcodes.FAILED:
            return "failed"
        return "error"


def cycle_dir(root: Path, cycle: int) -> Path:
    return Path(root) / "cycles" / f"{cycle:04d}"


def behave_command(tags: list[str], d: Path, extra: list[str], phase_fault: bool) -> list[str]:
    cmd = [sys.executable, "-m", "behave"]
    for t in tags:
        cmd += ["--tags", t]
    cmd += ["-f", "json", "-o", str(d / "behave.json"),
            "-f", "allure", "-o", str(d / "allure-results"),
            "-f", "plain", "-o", str(d / "console.log"),
            "--junit", "--junit-directory", str(d / "junit")]
    if phase_fault:
        cmd += ["-f", "e2et.soak.phase_formatter:PhaseFaultFormatter", "-o", os.devnull]
    return cmd + list(extra)


def run_cycle(cycle: int, run_id: str, root: Path, tags: list[str], env: dict[str, str],
              extra: list[str], timeout: float, on_start: Callable[[subprocess.Popen], None],
              phase_fault: bool = False) -> CycleRun:
    d = cycle_dir(root, cycle)
    d.mkdir(parents=True, exist_ok=True)
    for stale in ("behave.json", "injection.jsonl"):
        (d / stale).unlink(missing_ok=True)        # a redone (interrupted) cycle starts clean
    child_env = {**env, "E2ET_RUN_ID": run_id, "E2ET_REPORTS_DIR": str(d / "reports"),
                 "E2ET_SOAK_INJECT_LOG": str(d / "injection.jsonl")}
    started = time.monotonic()
    with open(d / "stdout.log", "wb") as out:
        proc = subprocess.Popen(behave_command(tags, d, extra, phase_fault), cwd=str(REPO_ROOT),
                                env=child_env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        on_start(proc)
        timed_out = False
        deadline = started + timeout
        while True:
            try:
                rc = proc.wait(timeout=max(0.1, min(1.0, deadline - time.monotonic())))
                break
            except subprocess.TimeoutExpired:
                if time.monotonic() >= deadline and not timed_out:
                    timed_out = True
                    proc.send_signal(signal.SIGTERM)
                    deadline = time.monotonic() + 60      # its cleanups get a minute
                elif timed_out and time.monotonic() >= deadline:
                    proc.kill()
    rc = exitcodes.of_child(rc)
    results = parse_behave_json(d / "behave.json", d / "reports" / "summary.json")
    return CycleRun(cycle, run_id, d, rc, round(time.monotonic() - started, 3), results, timed_out)
