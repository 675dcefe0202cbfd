"""Hook errors show as *broken* with their traceback, capability skips carry their reason.

Runs a tiny behave project (its own features and environment.py calling support.reporting, no
sandbox) so a failing before_scenario / before_feature can be provoked on purpose.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

ENVIRONMENT = '''
from types import SimpleNamespace
from support import reporting

class NoAdmin:
    profile = "dev"
    def secrets(self): return ["planted-hook-secret"]
    def section(self, name): raise KeyError(name)

def before_all(context):
    context.settings = NoAdmin()
    context.worlds = {}
    context.capabilities = {"salus": {"public_api", "kafka"}}     # the scenarios below belong to the Salus pack
    reporting.before_all(context)

def exploding_feature_setup():
    raise RuntimeError("feature set-up exploded")

def exploding_scenario_setup():
    raise RuntimeError("scenario set-up exploded planted-hook-secret")

def before_feature(context, feature):
    with reporting.before_feature_guard(context, feature):
        if "explode_feature" in feature.tags:
            exploding_feature_setup()

def before_scenario(context, scenario):
    if "explode" in scenario.tags:
        exploding_scenario_setup()
    reporting.before_scenario(context, scenario)

def leaky_delete():
    raise AssertionError("public API resources: DELETE answered 204 but e2et-r1 still exists")

def after_scenario(context, scenario):
    reporting.after_scenario(context, scenario, leaky_delete if "leaky_delete" in scenario.tags else lambda: None)

def after_all(context):
    reporting.after_all(context)
'''

STEPS = '''
from behave import step

@step("all is well")
def ok(context):
    pass

@step("the platform answers wrongly")
def wrong(context):
    assert False, "expected CRITICAL, got OK"
'''

FEATURES = {
    "a.feature": '''
        @salus @epic:demo @feature:a
        Feature: Hooks and skips
          @severity:normal
          Scenario: Scenario whose set-up hook raises
            Given all is well

          @severity:normal @needs:admin
          Scenario: Scenario that needs admin
            Given all is well

          @severity:normal
          Scenario: Scenario that fails on the product
            Given the platform answers wrongly

          @severity:normal
          Scenario: Scenario that passes
            Given all is well

          @severity:normal @leaky_delete
          Scenario: Scenario whose cleanup finds the object survived its delete
            Given all is well
        ''',
    "b.feature": '''
        @epic:demo @feature:b @explode_feature
        Feature: Feature whose set-up raises
          Scenario: First scenario of a broken feature
            Given all is well
          Scenario: Second scenario of a broken feature
            Given all is well
        ''',
}


def _run(tmp_path: Path) -> tuple[subprocess.CompletedProcess, dict[str, dict], dict]:
    proj = tmp_path / "proj"
    (proj / "features" / "steps").mkdir(parents=True)
    (proj / "features" / "environment.py").write_text(ENVIRONMENT)
    (proj / "features" / "steps" / "s.py").write_text(STEPS)
    for name, text in FEATURES.items():
        text = textwrap.dedent(text)
        if name == "a.feature":
            text = text.replace("@severity:normal\n  Scenario: Scenario whose", "@severity:normal @explode\n"
                                "  Scenario: Scenario whose")
        (proj / "features" / name).write_text(text)
    reports = tmp_path / "reports"
    results = reports / "allure-results"
    env = dict(os.environ, PYTHONPATH=str(REPO), E2ET_REPORTS_DIR=str(reports))
    proc = subprocess.run([sys.executable, "-m", "behave", "features", "--no-junit",
                           "-f", "allure_behave.formatter:AllureFormatter", "-o", str(results), "-f", "plain"],
                          cwd=proj, env=env, capture_output=True, text=True, timeout=120)
    by_name = {}
    for f in results.glob("*-result.json"):
        d = json.loads(f.read_text())
        by_name[d["name"]] = d
    summary = json.loads((reports / "summary.json").read_text())
    return proc, by_name, summary


def test_hook_errors_are_broken_with_traceback_and_skips_have_reasons(tmp_path: Path):
    proc, results, summary = _run(tmp_path)
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    rows = {s["name"]: s for s in summary["scenarios"]}

    hooked = results["Scenario whose set-up hook raises"]
    assert hooked["status"] == "broken"
    assert "scenario set-up exploded" in hooked["statusDetails"]["message"]
    assert "exploding_scenario_setup" in hooked["statusDetails"]["trace"]
    assert rows["Scenario whose set-up hook raises"]["status"] == "BROKEN"

    for name in ("First scenario of a broken feature", "Second scenario of a broken feature"):
        assert results[name]["status"] == "broken", "a feature whose before_feature raised must not vanish"
        assert "feature set-up exploded" in results[name]["statusDetails"]["message"]
        assert "exploding_feature_setup" in results[name]["statusDetails"]["trace"]
        assert rows[name]["status"] == "BROKEN"
        assert rows[name]["category"] == "Harness errors and broken hooks"

    skipped = results["Scenario that needs admin"]
    assert skipped["status"] == "skipped"
    assert "lacks capability admin" in skipped["description"]
    assert rows["Scenario that needs admin"]["status"] == "SKIP"
    assert "lacks capability admin" in rows["Scenario that needs admin"]["reason"]

    leaky = rows["Scenario whose cleanup finds the object survived its delete"]
    assert leaky["status"] == "FAIL" and leaky["category"] == "Product defects", leaky
    assert "DELETE answered 204 but e2et-r1 still exists" in leaky["message"] and "Traceback" not in leaky["message"]
    assert results["Scenario whose cleanup finds the object survived its delete"]["status"] == "failed"

    failed = results["Scenario that fails on the product"]
    assert failed["status"] == "failed"
    assert rows["Scenario that fails on the product"]["category"] == "Product defects"
    assert rows["Scenario that fails on the product"]["failed_step"] == "Given the platform answers wrongly"
    assert results["Scenario that passes"]["status"] == "passed"
    labels = {(lb["name"], lb["value"]) for lb in results["Scenario that passes"]["labels"]}
    assert {("epic", "demo"), ("severity", "normal")} <= labels

    # the secret in the hook's message is redacted in the summary and the console
    text = (tmp_path / "reports" / "summary.json").read_text() + (tmp_path / "reports" / "summary.md").read_text()
    assert "planted-hook-secret" not in text
