"""The envoy stand-in's install layout follows the real ``ProcessInstall`` (contract §5.5)."""
from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

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
