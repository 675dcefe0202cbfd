"""Static gates: ruff (pyflakes, pycodestyle, imports, bugbear, pyupgrade, simplify, blind except,
ruff's own rules) over the whole tree, and mypy over the typed core (config in pyproject.toml).

Why in pytest: the README's second command and CI are the same command, so the gates run in both.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: run bash scripts/setup.sh (it is in the [test] extra)")
    return found


def test_ruff_finds_nothing() -> None:
    proc = subprocess.run([_tool("ruff"), "check", "--output-format", "concise", "."], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_finds_nothing() -> None:
    typed = ("support", "e2et", "sandbox/common", "sandbox/coral", "sandbox/sidecar")
    files = [f for f in typed if (REPO / f).exists()]
    proc = subprocess.run([_tool("mypy"), *files], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
