"""EnvoyProcess: config rendering, whole-group stop (agents included), temp dir removed by the run."""
from __future__ import annotations

import os
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest
import yaml

from support.config import load_settings
from support.errors import ConfigError
from support.processes import wait_gone
from support.run import CleanupStack, RunContext
from support.salus.envoy import EnvoyProcess, envoy_command
from support.salus.settings import SalusSettings

from .conftest import SANDBOX_PROFILE, write_yaml

#: A fake envoy: writes its pid, spawns an "agent" that ignores SIGTERM (like a stuck telegraf),
#: and itself ignores SIGTERM too, so stop() must escalate to SIGKILL of the whole group.
FAKE_ENVOY = textwrap.dedent("""\
    #!{python}
    import os, signal, subprocess, sys, threading
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    cfg = sys.argv[-1].split("=", 1)[1]
    work = os.path.dirname(cfg)
    agent = subprocess.Popen([sys.executable, "-c",
        "import signal, threading; signal.signal(signal.SIGTERM, signal.SIG_IGN); threading.Event().wait(60)"])
    with open(os.path.join(work, "pids.tmp"), "w") as fh:
        fh.write(f"{{os.getpid()}} {{agent.pid}}")
    os.replace(os.path.join(work, "pids.tmp"), os.path.join(work, "pids"))
    print("fake envoy running with", sys.argv[1:], flush=True)
    threading.Event().wait(60)
""")


def _settings(tmp_path: Path, **envoy: object) -> SalusSettings:
    data = {**SANDBOX_PROFILE, "envoy": {**envoy, "extra_config": {"agents": {"terminationTimeout": "1s"}}}}
    path = write_yaml(tmp_path / "profile.yaml", data)
    return load_settings("local", {"E2ET_SANDBOX_PROFILE": str(path)}).salus


@pytest.fixture
def fake_envoy(tmp_path: Path) -> Path:
    exe = tmp_path / "telemetry-envoy"
    exe.write_text(FAKE_ENVOY.format(python=sys.executable))
    exe.chmod(0o755)
    return exe


def _wait_file(path: Path, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return path.read_text()
        time.sleep(0.02)   # deadline poll interval
    raise AssertionError(f"{path} not written within {timeout}s")


def test_stop_kills_whole_group_and_run_cleanup_removes_temp_dir(tmp_path: Path, fake_envoy: Path) -> None:
    settings = _settings(tmp_path, executable=str(fake_envoy))
    run = RunContext()
    cleanup = CleanupStack()
    envoy = EnvoyProcess(settings, run.names.temp_dir("envoy"), run.names.resource_id(), "zone_x", "envoy-tok-1",
                         labels={"e2et_resource": "r"})
    cleanup.push("remove run temp", run.remove_temp)
    cleanup.push("stop envoy", lambda: envoy.stop(grace=0.5))
    envoy.start()
    envoy_pid, agent_pid = map(int, _wait_file(envoy.workdir / "pids").split())
    assert envoy.alive() and envoy_pid == envoy.pid and os.getpgid(agent_pid) == envoy.pid

    cfg = yaml.safe_load(envoy.config_path.read_text())
    assert cfg["resource_id"] == envoy.resource_id and cfg["zone"] == "zone_x" and cfg["auth_token"] == "envoy-tok-1"
    assert cfg["tls"]["auth_service"]["url"] == "http://127.0.0.1:4"
    assert cfg["ambassador"] == {"address": "127.0.0.1:5", "keepAliveInterval": "10s"}
    assert cfg["agents"]["dataPath"] == str(envoy.data_path) and cfg["agents"]["terminationTimeout"] == "1s"
    assert cfg["ingest"]["telegraf"]["json"]["bind"].startswith("127.0.0.1:")
    assert oct(envoy.config_path.stat().st_mode & 0o777) == "0o600"
    assert "envoy-tok-1" not in repr(envoy)

    t0 = time.monotonic()
    assert cleanup.run() == []
    assert time.monotonic() - t0 < 8
    assert wait_gone([envoy_pid, agent_pid], 3) == []
    assert not any(p.pid in (envoy_pid, agent_pid) and p.status() != psutil.STATUS_ZOMBIE
                   for p in psutil.process_iter())
    assert not envoy.alive() and not envoy.workdir.exists()
    envoy.stop()                                   # idempotent


def test_stop_sweeps_agent_left_behind_by_a_dead_envoy(tmp_path: Path, fake_envoy: Path) -> None:
    """SIGKILL of the envoy alone orphans telegraf (contract §5.1): stop() must still remove it."""
    run = RunContext()
    envoy = EnvoyProcess(_settings(tmp_path, executable=str(fake_envoy)), run.temp_dir("envoy"), "r", None, "t")
    envoy.start()
    try:
        envoy_pid, agent_pid = map(int, _wait_file(envoy.workdir / "pids").split())
        os.kill(envoy_pid, 9)
        envoy.proc.wait(5)
        assert wait_gone([agent_pid], 0.2) == [agent_pid]    # orphan still alive
        envoy.stop(grace=0.5)
        assert wait_gone([agent_pid], 3) == []
        assert "fake envoy running" in envoy.log_tail(5)
    finally:
        envoy.stop(grace=0.1)
        run.remove_temp()


def test_layout_helpers_and_executable_errors(tmp_path: Path) -> None:
    envoy = EnvoyProcess(_settings(tmp_path, executable="/nonexistent/envoy"), tmp_path / "w", "r", None, "t")
    assert envoy.agent_path("TELEGRAF", "1.13.2", "./telegraf/telegraf") == \
        tmp_path / "w" / "data" / "agents" / "TELEGRAF" / "1.13.2" / "bin" / "telegraf"
    assert envoy.current_link("TELEGRAF") == tmp_path / "w" / "data" / "agents" / "TELEGRAF" / "CURRENT"
    assert envoy.installed_agents() == []
    with pytest.raises(ConfigError, match=r"envoy\.executable /nonexistent/envoy"):
        envoy_command(envoy.settings, tmp_path)
    assert envoy_command(_settings(tmp_path, command=["a", "b"]), tmp_path) == ["a", "b"]


def test_the_users_executable_beats_the_sandboxs_command(tmp_path: Path, fake_envoy: Path) -> None:
    """The sandbox profile names its stand-in; E2ET_ENVOY__EXECUTABLE (the user's choice) must win."""
    data = {**SANDBOX_PROFILE, "envoy": {"executable": "/bin/true", "command": ["python", "-m", "stand.in"]}}
    path = write_yaml(tmp_path / "profile.yaml", data)
    s = load_settings("local", {"E2ET_SANDBOX_PROFILE": str(path), "E2ET_ENVOY__EXECUTABLE": str(fake_envoy)})
    assert envoy_command(s.salus, tmp_path) == [str(fake_envoy)]
    s = load_settings("local", {"E2ET_SANDBOX_PROFILE": str(path)})
    assert envoy_command(s.salus, tmp_path) == ["/bin/true"]


def test_the_envoy_config_carries_the_flush_interval_the_budgets_assume(tmp_path: Path) -> None:
    """agents.maxFlushInterval is telegraf's flush_interval (the envoy adds 2 s of jitter): the suite
    sets it from envoy.max_flush_interval in every environment; the ingest port is the envoy's own
    pick (port 0), so no other process can take it between a harness pick and the envoy's bind."""
    default = EnvoyProcess(_settings(tmp_path), tmp_path / "w1", "r", "z", "t")._config()
    assert default["agents"]["maxFlushInterval"] == "10s"
    fast = EnvoyProcess(_settings(tmp_path, max_flush_interval=0.1), tmp_path / "w2", "r", "z", "t")._config()
    assert fast["agents"]["maxFlushInterval"] == "100ms"
    assert fast["agents"]["terminationTimeout"] == "1s"                 # extra_config still deep-merges
    assert fast["ingest"]["telegraf"]["json"]["bind"] == "127.0.0.1:0"
