"""20 consecutive healthy @salus runs against one sandbox, none failing (run: pytest -m slow)."""
from __future__ import annotations

import os

import pytest

from .behave_runner import run_behave

RUNS = int(os.environ.get("E2ET_FLAKY_RUNS", "20"))


@pytest.mark.slow
def test_twenty_consecutive_healthy_runs(sandbox, tmp_path):
    failures = []
    for i in range(RUNS):
        run = run_behave(sandbox.profile_path, tmp_path / f"run{i}", tags="@salus")
        if run.returncode != 0 or run.failed():
            failures.append(f"run {i}: exit {run.returncode}, failed {sorted(run.failed())}: "
                            + "; ".join(run.message(n)[:300] for n in run.failed()))
    assert not failures, "\n".join(failures)
