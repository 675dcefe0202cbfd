"""Real soaks against a real local sandbox (the orchestrator starts it), each well under a minute:
an injected fault fails exactly its cycle and is attributed; SIGINT mid-soak then ``--resume``
continues at the interrupted cycle without redoing finished ones."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from e2et.soak.state import load_state
from e2et.soak.sysmon import orphans

REPO_ROOT = Path(__file__).resolve().parents[2]
ISOLATION = "The tenant sees only its own envoy tokens"
SETUP_ONLY = "@salus and @feature:test-run-setup"

pytestmark = pytest.mark.acceptance


def _env() -> dict[str, str]:
    env = dict(os.environ)
    for k in ("E2ET_SANDBOX_PROFILE", "E2ET_RUN_ID", "E2ET_REPORTS_DIR", "E2ET_PROFILE", "E2ET_CONFIG"):
        env.pop(k, None)                      # the soak must start (and stop) its own sandbox
    return env


def _soak(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "e2et.cli", "soak", *args], cwd=REPO_ROOT, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_injected_fault_fails_exactly_its_cycle_and_is_attributed(tmp_path):
    out = tmp_path / "soak-inject"
    before = orphans()
    proc = _soak("--cycles", "2", "--tags", "@salus", "--output", str(out), "--inject-failure", "tenant-leak",
                 "--inject-at-phase", "Test run setup", "--inject-every", "2")
    log, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, log[-3000:]          # the only failure was the injected one
    a = json.loads((out / "analysis.json").read_text())
    assert [(c["cycle"], c["status"], c["injected"]) for c in a["per_cycle"]] == [
        (1, "passed", None), (2, "failed", "tenant-leak")]
    [inj] = a["injections"]
    assert inj["attributed_to"] == "tenant-leak" and inj["phase"] == "Test run setup"
    assert inj["failed_scenarios"] == [ISOLATION]
    assert "tenant isolation" in inj["messages"][ISOLATION].lower()
    assert a["unattributed_failures"] == [] and a["clean_success_rate"] == 1.0
    switches = [json.loads(x) for x in (out / "cycles/0002/injection.jsonl").read_text().splitlines()]
    assert [(s["event"], s["phase"]) for s in switches] == [("on", "Test run setup"), ("off", "Test run setup")]
    assert not (out / "cycles/0001/injection.jsonl").exists()
    for f in ("manifest.json", "metrics.jsonl", "state.json", "report.md", "plots/durations.png",
              "plots/percentiles.png"):
        assert (out / f).stat().st_size > 0, f
    assert list((out / "cycles/0001/allure-results").glob("*-result.json"))
    assert list((out / "allure-results").glob("*-attachment.png"))
    report = (out / "report.md").read_text()
    assert "| 2 | tenant-leak | Test run setup | yes |" in report
    assert a["leaked_processes"] == 0 and orphans() <= before


def _wait_for(proc: subprocess.Popen, predicate, timeout: float, what: str) -> None:
    """Poll with a deadline; waiting on the process between polls also catches an early exit."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        try:
            proc.wait(0.1)
            raise AssertionError(f"soak exited ({proc.returncode}) before {what}")
        except subprocess.TimeoutExpired:
            pass
    raise AssertionError(f"timed out waiting for {what}")


def _behave_running(soak_pid: int) -> bool:
    try:
        return any("behave" in " ".join(c.cmdline()) for c in psutil.Process(soak_pid).children())
    except psutil.Error:
        return False


def test_sigint_mid_soak_then_resume_continues_at_the_interrupted_cycle(tmp_path):
    out = tmp_path / "soak-resume"
    proc = _soak("--cycles", "3", "--tags", SETUP_ONLY, "--output", str(out))
    _wait_for(proc, lambda: (out / "cycles/0002").exists() and _behave_running(proc.pid), 60, "cycle 2 to start")
    proc.send_signal(signal.SIGINT)
    log, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, log[-3000:]
    st = load_state(out)
    assert st.status == "interrupted" and [c.cycle for c in st.completed] == [1] and st.next_cycle == 2
    first_run_id = st.completed[0].run_id

    proc = _soak("--resume", "--output", str(out))
    log, _ = proc.communicate(timeout=90)
    assert proc.returncode == 0, log[-3000:]
    assert "resuming soak soak-resume at cycle 2" in " ".join(log.split())
    st = load_state(out)
    assert st.status == "finished" and st.resumes == 1
    assert [c.cycle for c in st.completed] == [1, 2, 3] and st.completed[0].run_id == first_run_id
    assert len({c.run_id for c in st.completed}) == 3
    a = json.loads((out / "analysis.json").read_text())
    assert a["cycles"] == 3 and a["success_rate"] == 1.0
    assert list(a["phases"]) == ["Test run setup"]
