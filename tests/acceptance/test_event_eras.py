"""The failure-event specs pass against each engine generation the profile can name.

A sandbox playing the Kapacitor (``salus.events.json``) or Esper (``salus.state-change-events.json``)
era publishes that era's events and accepts only that era's task bodies: the suite must create
the right tasks and read the right events from the profile's ``events.format`` alone.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from support.sandboxes import start_sandbox

from .behave_runner import run_behave

ERAS = {"kapacitor": "salus.events.json", "state-change": "salus.state-change-events.json"}


@pytest.mark.parametrize("era", sorted(ERAS))
def test_failure_events_pass_in_an_older_era(tmp_path: Path, era: str) -> None:
    config = tmp_path / "sandbox.yaml"
    config.write_text(yaml.safe_dump({"event_format": era, "event_topic": ERAS[era]}))
    with start_sandbox("salus", tmp_path / "sandbox", config=config) as sandbox:
        run = run_behave(sandbox.profile_path, tmp_path / "out", "--include", "04_failure_events", tags="@salus")
    assert run.scenarios, run.stderr[-2000:]
    failed = {n: run.message(n)[:600] for n in run.failed()}
    assert not failed, failed
    assert len(run.passed()) == 3, {n: s.status for n, s in run.scenarios.items()}
