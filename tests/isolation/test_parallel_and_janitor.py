"""Parallel flows share one sandbox without touching each other's objects, and the janitor removes
a dead run's leftovers — and nothing of a live run."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support.run import RunContext, new_run_id

from .tenant import objects_of_run, world_for

REPO = Path(__file__).resolve().parents[2]


def _e2et(*args: str, profile_file: Path, env: dict[str, str] | None = None, timeout: float = 300):
    full = dict(os.environ, E2ET_SANDBOX_PROFILE=str(profile_file), E2ET_PROFILE="local", **(env or {}))
    return subprocess.run([sys.executable, "-m", "e2et.cli", *args], cwd=REPO, env=full, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.acceptance
def test_three_parallel_flows_pass_and_leave_nothing(sandbox, tmp_path):
    t0 = time.monotonic()
    p = _e2et("run", "--parallel", "3", "--tags", "@salus", "--reports", str(tmp_path / "reports"),
              profile_file=sandbox.profile_path)
    wall = time.monotonic() - t0
    assert p.returncode == 0, p.stdout + p.stderr
    lines = [line for line in p.stdout.splitlines() if line.startswith("flow ")]
    assert len(lines) == 3, p.stdout
    run_ids = [re.match(r"flow (\w+)", line).group(1) for line in lines]
    assert len(set(run_ids)) == 3
    for line in lines:
        assert "exit 0, 11 passed, 0 failed" in line, line
    for rid in run_ids:
        assert (tmp_path / "reports" / "runs" / rid / "behave.json").exists()
        assert (tmp_path / "reports" / "runs" / rid / "summary.json").exists(), "a flow's own summary"
    results = list((tmp_path / "reports" / "allure-results").glob("*-result.json"))
    assert len(results) >= 3 * 11, f"one combined Allure set of every flow's scenarios, got {len(results)}"
    combined = json.loads((tmp_path / "reports" / "summary.json").read_text())
    assert [f["run_id"] for f in combined["flows"]] == run_ids and combined["counts"]["PASS"] == 33, combined
    md = (tmp_path / "reports" / "summary.md").read_text()
    assert "PASSED" in md and all(rid in md for rid in run_ids), md
    world = world_for(sandbox.profile_path)
    try:
        left = {rid: objects_of_run(world, rid) for rid in run_ids}
    finally:
        world.close()
    assert not any(left.values()), left
    print(f"3 parallel flows: {wall:.1f}s wall")


@pytest.mark.acceptance
def test_janitor_removes_a_dead_runs_leftovers_only(sandbox):
    world = world_for(sandbox.profile_path)
    dead = new_run_id(time.time() - 7 * 3600)
    live = RunContext()
    try:
        dead_ids = [f"e2et-{dead}-{i:06d}" for i in range(23)]          # more than one page of 20
        for rid in dead_ids:
            world.resources.create(rid, {}, {"e2et-run-id": dead})
        world.zones.create_private(f"e2et_{dead}_zone01")
        world.tokens.create(f"e2et-{dead}-token-000001")
        live_rid = live.names.resource_id()
        world.resources.create(live_rid, {}, live.stamp())
        live_zone = live.names.private_zone()
        world.zones.create_private(live_zone)

        p = _e2et("janitor", "--older-than", "6h", profile_file=sandbox.profile_path)
        assert p.returncode == 0, p.stderr
        assert "resources=23" in p.stdout, p.stdout
        assert objects_of_run(world, dead) == {}
        assert objects_of_run(world, live.run_id) == {"resources": [live_rid], "zones": [live_zone]}

        refused = _e2et("janitor", profile_file=sandbox.profile_path, env={"E2ET_TENANT__DEDICATED": "false"})
        assert refused.returncode == 2
        assert "dedicated" in refused.stderr and refused.stderr.count("\n") == 1, refused.stderr
    finally:
        world.resources.delete(live_rid)
        world.zones.delete(live_zone)
        world.close()
