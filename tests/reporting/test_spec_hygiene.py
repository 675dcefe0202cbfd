"""Spec hygiene gates: every step defined and unambiguous, names unique (they key Allure history),
and every @salus scenario tagged with epic, feature and severity (feature-level tags count)."""
from __future__ import annotations

import collections
import json
import subprocess
import sys
from pathlib import Path

from behave.parser import parse_file

REPO = Path(__file__).resolve().parents[2]
FEATURES = sorted((REPO / "features").rglob("*.feature"))


def _scenarios():
    for path in FEATURES:
        feature = parse_file(str(path))
        for scenario in feature.walk_scenarios():
            yield path, feature, scenario


def test_dry_run_finds_no_undefined_or_ambiguous_steps(tmp_path: Path):
    out = tmp_path / "dry.json"
    proc = subprocess.run([sys.executable, "-m", "behave", "--dry-run", "--no-junit", "--tags", "@salus",
                           "-f", "json", "-o", str(out)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert "AmbiguousStep" not in proc.stdout + proc.stderr, (proc.stdout + proc.stderr)[-2000:]
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-2000:]
    undefined = [f"{el['name']}: {st['keyword']} {st['name']}"
                 for feat in json.loads(out.read_text()) for el in feat.get("elements", [])
                 for st in el.get("steps", []) if st.get("result", {}).get("status") == "undefined"]
    assert not undefined, undefined


def test_scenario_names_are_unique():
    names = collections.Counter(s.name for _, _, s in _scenarios())
    assert not [n for n, c in names.items() if c > 1]


def test_every_salus_scenario_has_epic_feature_and_severity_tags():
    missing = []
    for path, _feature, scenario in _scenarios():
        tags = {str(t) for t in scenario.effective_tags}
        if "salus" not in tags:
            continue
        for kind in ("epic", "feature", "severity"):
            if not any(t.startswith(f"{kind}:") for t in tags):
                missing.append(f"{path.name}: {scenario.name!r} lacks @{kind}:…")
    assert not missing, missing
