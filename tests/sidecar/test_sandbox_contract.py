"""The stand-in keeps the sandbox ↔ suite contract: bad input exits 2 with one line and creates
nothing, a failed start exits 3 and leaves nothing running, the profile is 0600, SIGTERM (and
the sandbox's own death) stops every child, and the fault control has the specified shape."""
from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import psutil
import pytest
import yaml

from support.processes import wait_gone
from support.sandboxes import start_sandbox

REPO = Path(__file__).resolve().parents[2]


def up(tmp_path: Path, *args: str, env: dict | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "sandbox.sidecar", "up", f"--profile-out={tmp_path / 'p.yaml'}", "--quiet", *args]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.mark.parametrize("args, words", [
    (("--fault=no-such-fault",), "unknown fault 'no-such-fault'"),
    (("--config=/nonexistent/sidecar.yaml",), "unreadable"),
    (("--bogus",), "unrecognized arguments"),
])
def test_bad_input_is_one_line_exit_2_and_nothing_created(tmp_path, args, words):
    proc = up(tmp_path, *args)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], proc.stderr
    assert not (tmp_path / "p.yaml").exists()


def test_a_bad_config_key_names_the_key(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("explainer:\n  costs_sentence: warp=5\n")
    proc = up(tmp_path, f"--config={cfg}")
    assert proc.returncode == 2
    assert "explainer.costs_sentence" in proc.stderr and "unknown stage" in proc.stderr, proc.stderr


def test_a_failed_start_exits_3_and_leaves_nothing_running(tmp_path):
    env = {**os.environ, "PATH": "/nonexistent"}          # no redis-server to be found
    before = {p.pid for p in psutil.process_iter()}
    proc = up(tmp_path, env=env)
    assert proc.returncode == 3, proc.stderr
    assert "redis-server not found" in proc.stderr and "scripts/setup.sh" in proc.stderr
    assert not (tmp_path / "p.yaml").exists()
    new = [p for p in psutil.process_iter(["cmdline"]) if p.pid not in before
           and "sandbox.sidecar" in " ".join(p.info["cmdline"] or [])]
    assert not new, new


def _children(pid: int) -> list[int]:
    return [c.pid for c in psutil.Process(pid).children(recursive=True)]


def test_profile_is_private_and_sigterm_stops_every_child(tmp_path):
    handle = start_sandbox("sidecar", tmp_path / "run", timeout=40)
    try:
        profile = handle.profile_path
        assert stat.S_IMODE(profile.stat().st_mode) == 0o600
        data = yaml.safe_load(profile.read_text())["sidecar"]
        assert data["sandbox"]["pid"] == handle.pid
        assert data["base_url"].startswith("http://127.0.0.1:")
        kids = _children(handle.process.pid)
        names = " ".join(" ".join(psutil.Process(k).cmdline()) for k in kids)
        assert "redis-server" in names and "sandbox.sidecar.gateway" in names and "sandbox.sidecar.explainer" in names
    finally:
        handle.process.send_signal(signal.SIGTERM)
        handle.process.wait(15)
    assert handle.process.returncode == 0
    assert wait_gone(kids, 5) == []


def test_children_die_with_a_killed_sandbox(tmp_path):
    handle = start_sandbox("sidecar", tmp_path / "run", timeout=40)
    kids = _children(handle.process.pid)
    os.kill(handle.process.pid, signal.SIGKILL)
    handle.process.wait(5)
    assert wait_gone(kids, 10) == [], "children outlived a SIGKILLed sandbox"


def test_fault_control_shape(sidecar):
    url = yaml.safe_load(sidecar.profile_path.read_text())["sidecar"]["sandbox"]["control_url"]
    with httpx.Client(base_url=url, timeout=10) as c:
        body = c.delete("faults").json()
        assert body["active"] == {} and "slow-stage" in body["catalog"]
        assert c.put("faults/slow-stage", json={"param": 1.5}).json()["active"] == {"slow-stage": 1.5}
        assert c.put("faults/nope", json={}).status_code == 404
        assert c.delete("faults/slow-stage").json()["active"] == {}
        assert c.get("faults").json()["active"] == {}


def test_artifact_faults_rewrite_the_copy_and_restore_it(sidecar, faults):
    openapi = Path(yaml.safe_load(sidecar.profile_path.read_text())["sidecar"]["openapi_file"])
    pristine = openapi.read_text()
    faults.on("path-outside-v1")
    assert "/v2/" in openapi.read_text()
    faults.off("path-outside-v1")
    assert openapi.read_text() == pristine


def test_an_orphaned_stand_in_stops_itself(tmp_path):
    """A suite killed outright (SIGKILL, a broken pipe) runs no cleanup: the stand-in notices."""
    prof = tmp_path / "p.yaml"
    code = (f"import subprocess, sys; p = subprocess.Popen([sys.executable, '-m', 'sandbox.sidecar', 'up', "
            f"'--quiet', '--profile-out={prof}'], start_new_session=True); print(p.pid, flush=True); "
            "import signal; signal.pause()")
    parent = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True)
    pid = int(parent.stdout.readline())
    from support.waiting import poll
    poll(prof.exists, 40, "the stand-in's profile")
    kids = _children(pid)
    parent.kill()
    parent.wait(5)
    assert wait_gone([pid, *kids], 15) == [], "an orphaned stand-in kept running"
