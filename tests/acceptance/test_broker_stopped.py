"""The broker fault: stopped before a run → exit 2 with one line naming the broker; stopped during
a run → the scenarios waiting on Kafka fail, naming the broker. Own sandbox (the broker restarts
empty afterwards, which must not disturb other tests)."""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from support.run import new_run_id
from support.sandboxes import SandboxHandle, start_sandbox
from tests.isolation.tenant import world_for

from .behave_runner import REPO_ROOT, BehaveRun, FaultSwitch, ScenarioResult, _messages_from_junit, run_behave


@pytest.fixture(scope="module")
def own_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    with start_sandbox("salus", tmp_path_factory.mktemp("broker-sandbox")) as handle:
        yield handle


@pytest.mark.acceptance
def test_broker_down_before_the_run_is_bad_input(own_sandbox, tmp_path):
    switch = FaultSwitch("salus", own_sandbox.profile_path)
    switch.on("broker-stopped")
    try:
        run = run_behave(own_sandbox.profile_path, tmp_path, tags="@salus")
    finally:
        switch.off("broker-stopped")
    assert run.returncode == 2, run.stdout[-2000:] + run.stderr[-2000:]
    lines = [line for line in run.stderr.splitlines() if line.startswith("e2et:")]
    assert len(lines) == 1 and "kafka.brokers" in lines[0] and "unreachable" in lines[0], run.stderr
    assert not run.scenarios


@pytest.mark.acceptance
def test_broker_stopped_mid_run_fails_the_event_scenario(own_sandbox, tmp_path):
    """The switch is thrown once this run's TCP monitor exists, i.e. while its event is awaited."""
    import json
    run_id = new_run_id()
    out = tmp_path / "behave.json"
    env = dict(os.environ, E2ET_SANDBOX_PROFILE=str(own_sandbox.profile_path), E2ET_PROFILE="local",
               E2ET_RUN_ID=run_id, E2ET_EVENTS__TIMEOUT="8")
    proc = subprocess.Popen([sys.executable, "-m", "behave", "--tags", "@salus", "--include", "04_failure",
                             "--name", "A TCP monitor on a closed port", "-f", "json", "-o", str(out),
                             "--junit", "--junit-directory", str(tmp_path / "junit")],
                            cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    world = world_for(own_sandbox.profile_path)
    switch = FaultSwitch("salus", own_sandbox.profile_path)
    try:
        deadline = time.monotonic() + 60
        while not any(run_id in (m.get("name") or "") for m in world.monitors.list()):
            assert proc.poll() is None, "behave ended before its monitor was created"
            assert time.monotonic() < deadline, "the run's TCP monitor never appeared"
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(0.1)
        switch.on("broker-stopped")
        stdout, _ = proc.communicate(timeout=120)
    finally:
        world.close()
        switch.off("broker-stopped")
    assert proc.returncode == 1, stdout[-3000:]
    run = BehaveRun(proc.returncode)
    for feature in json.loads(out.read_text()):
        for el in feature.get("elements", []):
            run.scenarios[el["name"]] = ScenarioResult(feature["name"], el["name"], el.get("status", "?"))
    _messages_from_junit(tmp_path / "junit", run)
    assert run.failed() == {"A TCP monitor on a closed port raises a critical event"}, stdout[-3000:]
    msg = run.message("A TCP monitor on a closed port raises a critical event").lower()
    assert "broker" in msg and "unreachable" in msg, msg[:1500]
