"""Report housekeeping: each run's report shows that run; parallel runs get one combined summary;
service mode keeps a bounded number of run folders."""
from __future__ import annotations

import json
from pathlib import Path

from e2et.suite_run import BehaveSuiteRunner
from support.reporting.paths import clear_results, summary_dir
from support.reporting.summary import write_combined


def test_clear_results_removes_only_allure_files(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("E2ET_KEEP_RESULTS", raising=False)
    allure = ["a1-result.json", "c1-container.json", "x-attachment.txt", "environment.properties",
              "categories.json"]
    for name in [*allure, "notes.txt", "keep.json"]:
        (tmp_path / name).write_text("x")
    assert clear_results(tmp_path) == len(allure)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.json", "notes.txt"]


def test_clear_results_is_a_no_op_when_asked_to_keep_or_missing(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "a-result.json").write_text("{}")
    monkeypatch.setenv("E2ET_KEEP_RESULTS", "1")
    assert clear_results(tmp_path) == 0 and (tmp_path / "a-result.json").exists()
    monkeypatch.delenv("E2ET_KEEP_RESULTS")
    assert clear_results(tmp_path / "absent") == 0


def test_summary_dir_follows_the_flow(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("E2ET_SUMMARY_DIR", str(tmp_path / "runs" / "r1"))
    assert summary_dir() == tmp_path / "runs" / "r1"


def _flow(rid: str, rc: int, statuses: list[str] | None) -> dict:
    summary = None
    if statuses is not None:
        scenarios = [{"feature": "Envoy presence", "name": f"s{i}", "status": st, "failed_step": "Then x",
                      "message": "attach event: not seen within 15s. last seen: none"} for i, st in enumerate(statuses)]
        counts = {k: statuses.count(k) for k in ("PASS", "FAIL", "BROKEN", "SKIP")}
        summary = {"counts": counts, "scenarios": scenarios}
    return {"run_id": rid, "tags": ["@salus"], "exit_code": rc, "duration_s": 9.5, "summary": summary}


def test_combined_summary_lists_every_flow_and_where_each_broke(tmp_path: Path) -> None:
    flows = [_flow("e2et-a", 0, ["PASS", "PASS"]), _flow("e2et-b", 1, ["PASS", "FAIL"]), _flow("e2et-c", 143, None)]
    jpath, mpath = write_combined(tmp_path, flows)
    data = json.loads(jpath.read_text())
    assert data["counts"] == {"PASS": 3, "FAIL": 1, "BROKEN": 0, "SKIP": 0}
    md = mpath.read_text()
    assert md.startswith("# e2et parallel run (3 flows) — FAILED")
    assert "[e2et-b] Envoy presence › s1" in md and "not seen within 15s" in md
    assert "e2et-c** ended with exit 143 before writing a summary" in md
    assert "| e2et-a | @salus | 0 | 2 | 0 | 0 |" in md


def test_service_mode_keeps_the_newest_run_folders(tmp_path: Path) -> None:
    serve = tmp_path / "serve"
    for i in range(5):
        (serve / f"2026112{i}T000000Z").mkdir(parents=True)
    BehaveSuiteRunner(None, ["@salus"], tmp_path, keep_runs=2)._prune(serve)
    assert sorted(p.name for p in serve.iterdir()) == ["20261123T000000Z", "20261124T000000Z"]
