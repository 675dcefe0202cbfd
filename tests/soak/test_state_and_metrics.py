"""Resume state and the metrics record: a resumed soak neither redoes nor skips a cycle, and an
interrupted cycle never counts."""
from __future__ import annotations

import json

import pytest

from e2et.soak.analyze import analyze
from e2et.soak.config import SoakConfig
from e2et.soak.metrics import MetricsWriter, read_metrics
from e2et.soak.state import CycleRecord, SoakState, load_state, save_state


def test_state_round_trip_and_next_cycle(tmp_path):
    st = SoakState("soak-x", SoakConfig(cycles=5).to_dict())
    assert st.next_cycle == 1
    st.add(CycleRecord(1, "aaaaaaaaaa", "passed", 0, 7.1))
    st.add(CycleRecord(2, "bbbbbbbbbb", "failed", 1, 9.0, injected="presence-zero"))
    save_state(tmp_path, st)
    back = load_state(tmp_path)
    assert back.next_cycle == 3
    assert [c.run_id for c in back.completed] == ["aaaaaaaaaa", "bbbbbbbbbb"]
    assert SoakConfig.from_dict(back.config).cycles == 5
    assert json.loads((tmp_path / "state.json").read_text())["next_cycle"] == 3
    assert not list(tmp_path.glob("*.tmp"))                 # atomic write leaves no temp file


def test_cycles_are_recorded_in_order_only():
    st = SoakState("s", {})
    st.add(CycleRecord(1, "a" * 10, "passed", 0, 1.0))
    with pytest.raises(ValueError):
        st.add(CycleRecord(3, "c" * 10, "passed", 0, 1.0))


def test_injected_failures_do_not_count_as_unexpected():
    st = SoakState("s", {})
    st.add(CycleRecord(1, "a" * 10, "failed", 1, 1.0, injected="tenant-leak"))
    st.add(CycleRecord(2, "b" * 10, "failed", 1, 1.0))
    assert st.failures() == 1 and st.failures(unexpected_only=False) == 2


def test_no_state_means_nothing_to_resume(tmp_path):
    assert load_state(tmp_path) is None


def _cycle_lines(cycle, run_id, status="passed", dur=1.0, injected=None):
    base = {"soak_id": "s", "cycle": cycle, "run_id": run_id, "injected": injected, "injected_phase": None}
    return [{**base, "kind": "cycle", "status": status, "rc": 0 if status == "passed" else 1, "duration_s": dur,
             "failed_scenarios": [] if status == "passed" else ["sc"], "runner_rss": 100, "sandbox_rss": 200},
            {**base, "kind": "phase", "phase": "P", "status": status, "duration_s": dur},
            {**base, "kind": "scenario", "phase": "P", "scenario": "sc", "status": status, "duration_s": dur,
             **({"attributed_to": injected, "message": "boom"} if injected and status != "passed" else {})}]


def test_analysis_counts_only_completed_cycles_and_survives_a_torn_line(tmp_path):
    w = MetricsWriter(tmp_path)
    w.write_many(_cycle_lines(1, "a" * 10, dur=1.0))
    w.write_many(_cycle_lines(2, "x" * 10, dur=50.0))          # interrupted attempt of cycle 2
    w.write_many(_cycle_lines(2, "b" * 10, "failed", 2.0, injected="tenant-leak"))
    w.write_many(_cycle_lines(3, "c" * 10, dur=3.0))
    with open(tmp_path / "metrics.jsonl", "a") as fh:
        fh.write('{"kind": "cycle", "cyc')                     # crash mid-write
    st = SoakState("s", {})
    for c, rid, status, inj in ((1, "a", "passed", None), (2, "b", "failed", "tenant-leak"), (3, "c", "passed", None)):
        st.add(CycleRecord(c, rid * 10, status, 0, 1.0, inj))
    save_state(tmp_path, st)
    assert len(list(read_metrics(tmp_path))) == 12
    a = analyze(tmp_path)
    assert a["cycles"] == 3 and a["passed"] == 2
    assert a["success_rate"] == pytest.approx(2 / 3) and a["clean_success_rate"] == 1.0
    assert a["phases"]["P"]["max"] == 3.0                     # the 50 s interrupted attempt is ignored
    [inj] = a["injections"]
    assert inj["cycle"] == 2 and inj["attributed_to"] == "tenant-leak" and inj["recovered_in_cycle"] == 3
    assert inj["messages"] == {"sc": "boom"}
    assert a["unattributed_failures"] == []
