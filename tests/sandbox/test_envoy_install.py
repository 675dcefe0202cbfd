"""The envoy stand-in's install layout follows the real ``ProcessInstall`` (contract §5.5)."""
from __future__ import annotations

import io
import os
import sys
import tarfile
from pathlib import Path

import psutil
import pytest

from sandbox.salus.envoy.agents import install_agent


def _release(tmp: Path, version: str, exe: str = "./telegraf/telegraf") -> str:
    path = tmp / f"telegraf-{version}.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, body in ((exe, f"#!/bin/sh\necho {version}\n"), ("./telegraf/README", "docs")):
            data = body.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path.as_uri()


def test_only_the_exe_entry_lands_and_current_follows_fresh_downloads(tmp_path: Path) -> None:
    data = tmp_path / "data"
    agents = data / "agents" / "TELEGRAF"
    first = install_agent(data, "TELEGRAF", "1.0.0", _release(tmp_path, "1.0.0"), "./telegraf/telegraf")
    assert first == agents / "1.0.0" / "bin" / "telegraf" and os.access(first, os.X_OK)
    assert [p.name for p in first.parent.iterdir()] == ["telegraf"]
    assert os.readlink(agents / "CURRENT") == "1.0.0"
    install_agent(data, "TELEGRAF", "2.0.0", _release(tmp_path, "2.0.0"), "./telegraf/telegraf")
    assert os.readlink(agents / "CURRENT") == "2.0.0"
    # a version already on disk is skipped entirely: no download, CURRENT stays where it is
    install_agent(data, "TELEGRAF", "1.0.0", (tmp_path / "gone.tar.gz").as_uri(), "./telegraf/telegraf")
    assert os.readlink(agents / "CURRENT") == "2.0.0"


def test_a_release_without_the_exact_exe_leaves_no_version_dir(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with pytest.raises(FileNotFoundError, match="no entry named exactly"):
        install_agent(data, "TELEGRAF", "3.0.0", _release(tmp_path, "3.0.0"), "telegraf/telegraf")
    assert not (data / "agents" / "TELEGRAF" / "3.0.0").exists()
    assert not (data / "agents" / "TELEGRAF" / "CURRENT").is_symlink()


# ------------------------------------------------------------------------------ starting telegraf
def _fake_telegraf(data: Path, script: str) -> None:
    """A 'telegraf' installed as the envoy would have it: ``agents/TELEGRAF/<v>/bin`` + CURRENT."""
    agents = data / "agents" / "TELEGRAF"
    exe = agents / "9.9.9" / "bin" / "telegraf"
    exe.parent.mkdir(parents=True)
    exe.write_text(f"#!{sys.executable}\n{script}")
    exe.chmod(0o755)
    (agents / "CURRENT").symlink_to("9.9.9")


def _runs_in(proc: psutil.Process, root: Path) -> bool:
    """A telegraf this test's runner started (cwd under its data dir): other telegrafs may run
    meanwhile under this process, e.g. a session sandbox's public poller."""
    try:
        return "telegraf" in " ".join(proc.cmdline()) and proc.cwd().startswith(str(root))
    except psutil.Error:
        return False


OP = {"id": "t_m_r", "type": "CREATE", "interval": 1, "extraLabels": {},
      "content": '{"type": "net_response", "address": "127.0.0.1:9", "timeout": "1s"}'}


def test_telegraf_counts_as_started_only_after_its_startup_line(tmp_path: Path) -> None:
    from sandbox.salus.envoy.agents import TelegrafRunner
    _fake_telegraf(tmp_path, "import sys, time\nprint('I! Loaded inputs: net_response', file=sys.stderr, flush=True)\n"
                             "time.sleep(60)\n")
    runner = TelegrafRunner(tmp_path, "127.0.0.1:9", termination_timeout=1, startup_timeout=5)
    try:
        runner.apply([OP])
        assert runner.proc is not None and runner.proc.poll() is None
    finally:
        runner.stop()


def test_a_telegraf_that_never_says_it_loaded_its_inputs_is_stopped(tmp_path: Path) -> None:
    """The real envoy waits 10 s for ``Loaded inputs:``; without it the agent counts as failed
    (and the stand-in stops it rather than leaving an unrecorded telegraf running)."""
    from sandbox.salus.envoy.agents import TelegrafRunner
    _fake_telegraf(tmp_path, "import time\nprint('started, somehow', flush=True)\ntime.sleep(60)\n")
    runner = TelegrafRunner(tmp_path, "127.0.0.1:9", termination_timeout=1, restart_delay=60, startup_timeout=0.5)
    try:
        runner.apply([OP])
        assert runner.proc is None
        assert not [p for p in psutil.Process().children(recursive=True) if _runs_in(p, tmp_path)]
    finally:
        runner.stop()
