"""``e2et compare`` output: one row per phase and scenario, deltas, and flagged regressions."""
from __future__ import annotations

from e2et.cli import main
from e2et.soak.compare import compare_table
from e2et.soak.metrics import MetricsWriter
from e2et.soak.state import CycleRecord, SoakState, save_state


def _analysis(soak_id, presence, setup, rate=1.0):
    s = lambda v: {"count": 5, "p50": v, "p90": v, "p95": v}  # noqa: E731
    return {"soak_id": soak_id, "success_rate": rate, "cycles": 5,
            "phases": {"Test run setup": s(setup), "Envoy presence": s(presence)},
            "scenarios": {"A new envoy attaches": s(presence)}}


def test_compare_table_shows_deltas_and_flags_regressions():
    text, flagged = compare_table(_analysis("A", 1.0, 0.40), _analysis("B", 2.0, 0.41, 0.8))
    lines = text.splitlines()
    assert lines[0].startswith("P95 seconds, B against A")
    row = next(line for line in lines if line.startswith("phase Envoy presence"))
    assert "1.000" in row and "2.000" in row and "+100.0%" in row and row.endswith("REGRESSION")
    setup = next(line for line in lines if line.startswith("phase Test run setup"))
    assert "+2.5%" in setup and "REGRESSION" not in setup
    assert "100.0% of 5" in text and "80.0% of 5" in text
    assert {(f["group"], f["name"]) for f in flagged} == {("phase", "Envoy presence"),
                                                          ("scenario", "A new envoy attaches")}
    assert "6 regression(s) flagged:" in lines            # 2 names × p50/p90/p95
    assert "  phase Envoy presence p95: 1.000s → 2.000s" in lines


def test_compare_without_regressions():
    text, flagged = compare_table(_analysis("A", 1.0, 0.4), _analysis("B", 0.9, 0.4))
    assert flagged == [] and "0 regression(s) flagged" in text and "-10.0%" in text


def _soak(dir_, durations):
    dir_.mkdir()
    st = SoakState(dir_.name, {})
    w = MetricsWriter(dir_)
    for i, d in enumerate(durations, 1):
        rid = f"{i:010d}"
        base = {"soak_id": dir_.name, "cycle": i, "run_id": rid, "injected": None}
        w.write_many([{**base, "kind": "cycle", "status": "passed", "rc": 0, "duration_s": d},
                      {**base, "kind": "phase", "phase": "Envoy presence", "status": "passed", "duration_s": d}])
        st.add(CycleRecord(i, rid, "passed", 0, d))
    save_state(dir_, st)
    return dir_


def test_compare_command(tmp_path, capsys):
    a = _soak(tmp_path / "a", [1.0, 1.1, 1.0])
    b = _soak(tmp_path / "b", [2.0, 2.2, 2.1])
    assert main(["compare", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "phase Envoy presence" in out and "REGRESSION" in out
    assert main(["compare", str(a), str(b), "--fail-on-regression"]) == 1
    assert main(["compare", str(a), str(tmp_path / "missing")]) == 2
