"""Starting the Coral sandbox: faults in force from the first request, bad input, clean stop."""
from __future__ import annotations

import contextlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from support.sandboxes import start_sandbox

from .conftest import CORAL_FEATURES, REPO_ROOT, leftovers, machine_state, needs_host, run_behave

pytestmark = [needs_host]


def test_duplicate_addresses_from_the_start_fail_the_allocation_spec(tmp_path: Path):
    """Agents that joined while the colony handed out duplicates: the uniqueness spec names them."""
    with start_sandbox("coral", tmp_path / "sb", faults=["duplicate_address"], timeout=60) as handle:
        run = run_behave(handle.profile_path, tmp_path, "-n",
                         "^" + re.escape("Agents get unique, sequential addresses") + "$")
    result = run.scenarios["Agents get unique, sequential addresses"]
    assert result.status == "failed" and "share mesh addresses" in result.message, result.message[:800]


def _up(args: list[str], tmp: Path, timeout: float = 20) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sandbox.coral", "up", f"--profile-out={tmp / 'p.yaml'}", *args],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("args,says", [
    (["--fault=no_such_fault"], "unknown fault"),
    (["--config={cfg}"], "mesh_subnet"),
    (["--config=/nonexistent/coral.yaml"], "cannot read sandbox config"),
])
def test_bad_input_is_one_line_exit_2_and_nothing_created(tmp_path: Path, args, says):
    (tmp_path / "bad.yaml").write_text("mesh_subnet: 192.0.2.0/24\n")
    before = machine_state()
    res = _up([a.format(cfg=tmp_path / "bad.yaml") for a in args], tmp_path)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], res.stderr
    assert not (tmp_path / "p.yaml").exists()
    assert not leftovers(before), leftovers(before)


def test_uplink_range_is_refused_anywhere_in_the_plan():
    from sandbox.coral.netplan import check_address
    for bad in ("192.0.2.7", "192.0.2.0/24", "192.0.0.0/16", "8.8.8.8", "fd00::1", "::ffff:198.51.100.21"):
        with pytest.raises(ValueError):
            check_address(bad, "test")
    check_address("198.51.100.21", "test")
    check_address("100.64.0.0/10", "test")


def _wait_gone(before: dict, timeout: float = 20) -> dict:
    from support.waiting import poll
    with contextlib.suppress(AssertionError):
        poll(lambda: not leftovers(before), timeout, "sandbox leftovers removed", lambda: str(leftovers(before)))
    return leftovers(before)


def test_sigterm_leaves_nothing_behind(tmp_path: Path):
    before = machine_state()
    handle = start_sandbox("coral", tmp_path / "sb", timeout=60)
    during = leftovers(before)
    assert during["netns"] and during["routes"] and during["procs"], during
    handle.stop()
    assert not _wait_gone(before)


def test_sigkill_of_the_supervisor_is_swept_by_the_next_start(tmp_path: Path):
    """Components die with the supervisor (PDEATHSIG); namespaces, routes and dirs wait for the next start."""
    import os
    import signal
    before = machine_state()
    first = start_sandbox("coral", tmp_path / "one", timeout=60)
    os.kill(first.pid, signal.SIGKILL)          # the stand-in itself (``process`` is its guardian)
    first.process.wait(10)
    left = leftovers(before)
    assert left.get("netns") and left.get("ledgers"), left
    second = start_sandbox("coral", tmp_path / "two", timeout=60)
    try:
        now = leftovers(before)
        first_run = [n for n in left["netns"] if n not in now.get("netns", [])]
        assert first_run == left["netns"], f"the second start did not sweep {left['netns']}: {now}"
    finally:
        second.stop()
    assert not _wait_gone(before)


def test_a_dead_runner_takes_the_sandbox_down(tmp_path: Path):
    """The runner SIGKILLed (no cleanup at all): the sandbox notices its parent is gone and stops."""
    import os
    import signal
    before = machine_state()
    code = ("import sys, time; sys.path.insert(0, {!r})\n"
            "from support.sandboxes import start_sandbox\n"
            "h = start_sandbox('coral', __import__('pathlib').Path({!r}), timeout=60)\n"
            "print(h.process.pid, flush=True); time.sleep(600)\n").format(str(REPO_ROOT), str(tmp_path / "sb"))
    runner = subprocess.Popen([sys.executable, "-c", code], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        sandbox_pid = int(runner.stdout.readline())
        assert leftovers(before).get("netns")
    finally:
        os.kill(runner.pid, signal.SIGKILL)
        runner.wait(5)
    assert not _wait_gone(before, 30), f"sandbox {sandbox_pid} outlived its runner"


def test_the_specs_read_a_head_era_coral_alike(tmp_path: Path):
    """HEAD behaviour (Workers discovery, re-keyed /status, no secret check): the same specs pass, the
    secret one skips with its reason — the pack's readers and version switch work both ways."""
    cfg = tmp_path / "head.yaml"
    cfg.write_text("version: head\ndiscovery_flavour: workers\n")
    with start_sandbox("coral", tmp_path / "sb", config_file=cfg, timeout=60) as handle:
        run = run_behave(handle.profile_path, tmp_path, "--include", "0[1-4]_")
    coral = {n: r for n, r in run.scenarios.items() if r.feature in CORAL_FEATURES}
    assert len(coral) >= 15, sorted(coral)
    bad = {n: r.message[:300] for n, r in coral.items() if r.status not in ("passed", "skipped")}
    assert not bad, bad
    skipped = {n for n, r in coral.items() if r.status == "skipped"}
    assert skipped == {"A registration with a wrong secret is rejected and adds no peer"}, skipped
