"""Sandbox bad input: one readable line, exit code 2, nothing started."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("args,words", [
    (["--config", "{bad}"], ["partitions", "fix that key"]),
    (["--config", "{missing}"], ["not found"]),
    (["--fault", "nope"], ["unknown fault", "choose one of"]),
    (["--config", "{offhost}"], ["host", "loopback only", "127.0.0.1"]),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, words):
    bad = tmp_path / "bad.yaml"
    bad.write_text("partitions: lots\n")
    offhost = tmp_path / "offhost.yaml"
    offhost.write_text("host: 10.1.2.3\n")
    args = [a.format(bad=bad, missing=tmp_path / "none.yaml", offhost=offhost) for a in args]
    profile = tmp_path / "profile.yaml"
    p = subprocess.run([sys.executable, "-m", "sandbox.salus", "up", f"--profile-out={profile}", *args],
                       cwd=REPO, capture_output=True, text=True, timeout=30)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and all(w in lines[0] for w in words), p.stderr
    assert not profile.exists()
