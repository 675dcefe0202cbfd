"""Injection planning, behave-JSON parsing, and a dry run that touches nothing."""
from __future__ import annotations

import json

import psutil

from e2et.cli import main
from e2et.soak.behave_results import parse_behave_json
from e2et.soak.injection import NOT_RANDOM, plan_injection

CATALOG = ["attach-events-dropped", "broker-stopped", "presence-zero", "slow-responses", "tenant-leak"]


def test_inject_every_k_hits_multiples_of_k():
    hits = [c for c in range(1, 10) if plan_injection(c, "presence-zero", 3, "Envoy presence", CATALOG, 0)]
    assert hits == [3, 6, 9]
    assert plan_injection(4, None, 2, None, CATALOG, 0) is None
    assert plan_injection(1, "tenant-leak", None, None, CATALOG, 0).phase is None   # whole cycle


def test_random_is_reproducible_and_avoids_disruptive_faults():
    picks = [plan_injection(c, "random", 1, None, CATALOG, seed=7).fault for c in range(1, 40)]
    assert picks == [plan_injection(c, "random", 1, None, CATALOG, seed=7).fault for c in range(1, 40)]
    assert not set(picks) & NOT_RANDOM and len(set(picks)) > 1


def test_parse_behave_json_sums_steps_and_keeps_failure_message(tmp_path):
    step = lambda status, d, msg=None: {"result": {"status": status, "duration": d,  # noqa: E731
                                                   **({"error_message": msg} if msg else {})}}
    data = [{"name": "Envoy presence", "status": "failed", "elements": [
        {"type": "background", "name": "bg", "steps": []},
        {"type": "scenario", "name": "attach", "status": "failed",
         "steps": [step("passed", 0.25), step("failed", 1.5, ["no attach event", "within 15s"])]},
        {"type": "scenario", "name": "later", "status": "skipped", "steps": [{"name": "x"}]}]}]
    (tmp_path / "b.json").write_text(json.dumps(data))
    res = parse_behave_json(tmp_path / "b.json", tmp_path / "missing-summary.json")
    [phase] = res.phases
    assert (phase.name, phase.status, phase.duration_s) == ("Envoy presence", "failed", 1.75)
    assert [s.name for s in res.failed()] == ["attach"]
    assert res.failed()[0].message == "no attach event\nwithin 15s"
    assert parse_behave_json(tmp_path / "absent.json").scenarios == []


def test_dry_run_lists_the_plan_and_touches_nothing(tmp_path, capsys):
    out = tmp_path / "soak-dry"
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    rc = main(["soak", "--dry-run", "--cycles", "4", "--output", str(out), "--inject-failure", "presence-zero",
               "--inject-at-phase", "Envoy presence", "--inject-every", "2"])
    text = capsys.readouterr().out
    assert rc == 0
    assert "Envoy presence" in text and "Failure events" in text
    assert "cycle 1: clean" in text and "cycle 2: inject presence-zero during phase 'Envoy presence'" in text
    assert not out.exists() and list(tmp_path.iterdir()) == []
    assert {p.pid for p in psutil.Process().children(recursive=True)} == before     # no sandbox, no behave


def test_bad_input_is_exit_2_before_anything_starts(tmp_path, capsys):
    out = tmp_path / "s"
    assert main(["soak", "--cycles", "2", "--output", str(out), "--inject-failure", "no-such-fault"]) == 2
    assert main(["soak", "--cycles", "2", "--output", str(out), "--inject-at-phase", "Envoy presence"]) == 2
    assert main(["soak", "--cycles", "2", "--output", str(out), "--tags", "@no-such-tag"]) == 2
    assert main(["soak", "--resume", "--output", str(out)]) == 2
    assert not out.exists()
    err = capsys.readouterr().err
    assert "unknown fault 'no-such-fault'" in err and "no soak state" in err
