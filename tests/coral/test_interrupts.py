"""Interrupting a @coral run (SIGINT/SIGTERM at random moments) leaves nothing on the machine:
no namespace, interface, guard route, process, ledger or temp dir."""
from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support.run import new_run_id
from support.waiting import poll

from .conftest import REPO_ROOT, leftovers, machine_state, needs_host

pytestmark = [needs_host]


def _interrupt_once(tmp: Path, sig: int, after: float) -> tuple[int, dict]:
    run_id = new_run_id()
    before = machine_state(run_id)
    env = {k: v for k, v in os.environ.items() if k != "E2ET_SANDBOX_PROFILE"}
    env["E2ET_RUN_ID"] = run_id
    with open(tmp / "stderr.log", "ab") as err:
        proc = subprocess.Popen([sys.executable, "-m", "behave", "--tags", "@coral", "-f", "null", "--no-junit"],
                                cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        proc.wait(after)
    except subprocess.TimeoutExpired:
        proc.send_signal(sig)
    try:
        code = proc.wait(90)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = proc.wait(5)
    with contextlib.suppress(AssertionError):
        poll(lambda: not leftovers(before, run_id), 15, "the interrupted run's leftovers gone",
             lambda: str(leftovers(before, run_id)))
    return code, leftovers(before, run_id)


@pytest.mark.parametrize("sig,after", [(signal.SIGINT, 2.0), (signal.SIGTERM, 14.0)],
                         ids=["sigint-while-the-sandbox-starts", "sigterm-during-a-scenario"])
def test_interrupt_leaves_nothing(tmp_path: Path, sig: int, after: float):
    code, left = _interrupt_once(tmp_path, sig, after)
    assert not left, f"left behind after {signal.Signals(sig).name} at {after:g}s: {left}"
    assert code in (130, 143, 0, 1), code


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_twenty_random_interrupts_leave_nothing(tmp_path: Path):
    rnd = random.Random(int(time.time()))
    failures = []
    for k in range(20):
        sig = rnd.choice([signal.SIGINT, signal.SIGTERM])
        after = rnd.uniform(0.3, 30.0)
        code, left = _interrupt_once(tmp_path, sig, after)
        if left:
            failures.append(f"#{k} {signal.Signals(sig).name} at {after:.1f}s (exit {code}): {left}")
    assert not failures, "\n".join(failures)
