"""Interrupts at random moments clean up fully: no envoy/agent process, no run-scoped object in
the tenant, no temp dir — and the exit code says which signal stopped the run (130/143)."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys

import pytest

from support.run import new_run_id

from .tenant import objects_of_run, processes_of_run, temp_dirs_of_run, world_for

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MOMENTS = int(os.environ.get("E2ET_INTERRUPT_MOMENTS", "20"))


@pytest.mark.acceptance
def test_interrupts_at_random_moments_leave_nothing(sandbox, tmp_path):
    rng = random.Random(int(os.environ.get("E2ET_INTERRUPT_SEED", "7")))
    world = world_for(sandbox.profile_path)
    problems: list[str] = []
    outcomes: list[str] = []
    try:
        for i in range(MOMENTS):
            run_id = new_run_id()
            sig = signal.SIGINT if i % 2 == 0 else signal.SIGTERM
            delay = rng.uniform(0.3, 7.0)
            env = dict(os.environ, E2ET_SANDBOX_PROFILE=str(sandbox.profile_path), E2ET_RUN_ID=run_id,
                       E2ET_PROFILE="local")
            proc = subprocess.Popen([sys.executable, "-m", "behave", "--tags", "@salus", "-f", "null", "--no-junit"],
                                    cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            try:
                proc.wait(timeout=delay)          # the interrupt moment (the run may finish first)
                finished_first = True
            except subprocess.TimeoutExpired:
                finished_first = False
                proc.send_signal(sig)
            try:
                rc = proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                problems.append(f"{run_id}: did not stop within 60 s after {sig.name}")
                continue
            expected = {0} if finished_first else {130 if sig == signal.SIGINT else 143, -sig, 0}
            outcomes.append(f"{run_id} {sig.name}@{delay:.1f}s rc={rc}")
            if rc not in expected:
                problems.append(f"{run_id}: exit {rc} after {sig.name} at {delay:.1f}s; stderr: "
                                f"{proc.stderr.read().decode(errors='replace')[-600:]}")
            left = processes_of_run(run_id)
            if left:
                problems.append(f"{run_id}: processes survived {sig.name} at {delay:.1f}s: {left}")
            objs = objects_of_run(world, run_id)
            if objs:
                problems.append(f"{run_id}: objects left after {sig.name} at {delay:.1f}s: {objs}")
            dirs = temp_dirs_of_run(run_id)
            if dirs:
                problems.append(f"{run_id}: temp dirs left: {dirs}")
    finally:
        world.close()
    assert not problems, "\n".join([*problems, "outcomes:", *outcomes])
