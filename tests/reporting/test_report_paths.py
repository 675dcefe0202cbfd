"""Where a run writes, and what it says at the end.

Every file a run writes goes under the report root (``--reports`` / ``E2ET_REPORTS_DIR``); stale
JUnit files of an earlier run are removed; old run folders are pruned; a bad ``E2ET_CONFIG`` is
refused before any sandbox starts; the console ends with the verdict and where to read more.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from support.reporting import paths

REPO = Path(__file__).resolve().parents[2]


def _behave(reports: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("E2ET_")}
    full.update({"E2ET_REPORTS_DIR": str(reports), **env})
    return subprocess.run([sys.executable, "-m", "behave", *args], cwd=REPO, env=full, capture_output=True,
                          text=True, timeout=120)


def test_a_bad_config_file_is_refused_before_any_sandbox_starts(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"salus": {"tenant": {"id": "1"}}}))     # no E2ET_PROFILE: would be local
    proc = _behave(tmp_path / "reports", "--tags", "@salus", "-f", "plain", E2ET_CONFIG=str(cfg))
    assert proc.returncode == 2, proc.stdout[-1500:] + proc.stderr[-1500:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("e2et:")]
    assert len(lines) == 1 and "is missing" in lines[0] and str(cfg) in lines[0], proc.stderr
    assert not list((tmp_path / "reports").glob("runs/*/sandbox/*")), "a sandbox was started for a bad config"


def test_a_run_ends_with_its_verdict_and_writes_only_under_the_report_root(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    stale = reports / "junit" / "TESTS-old.feature.xml"
    stale.parent.mkdir(parents=True)
    stale.write_text("<testsuite failures='1'/>")
    proc = _behave(reports, "--tags", "@no-pack-has-this-tag", "-f", "plain")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    tail = proc.stdout.strip().splitlines()[-3:]
    assert tail[0].startswith("e2et: PASSED") and "not selected" in tail[0], tail
    assert tail[1] == f"e2et: summary      {reports / 'summary.md'}", tail
    assert tail[2].startswith(f"e2et: HTML report  {reports / 'allure-report' / 'index.html'}"), tail
    assert not stale.exists(), "an earlier run's JUnit file survived"
    assert (reports / "summary.json").exists() and (reports / "allure-results").is_dir()


def test_old_run_folders_are_pruned_to_the_newest(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("E2ET_REPORTS_DIR", str(tmp_path))
    runs = tmp_path / "runs"
    for i in range(7):
        d = runs / f"run{i}"
        d.mkdir(parents=True)
        os.utime(d, (1_000_000 + i, 1_000_000 + i))
    removed = paths.prune_runs(keep=3, current="run0")
    assert sorted(p.name for p in removed) == ["run1", "run2", "run3"]
    assert sorted(p.name for p in runs.iterdir()) == ["run0", "run4", "run5", "run6"]
