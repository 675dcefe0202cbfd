"""A real @salus run (with one induced failure) produces every report, and no secret leaks anywhere.

The sandbox is started with KNOWN planted credentials; the run uses the default formatter (as plain
``behave --tags @salus`` does) with evidence attached always; then every file under the report root
(Allure results, JUnit, summaries, the HTML report when the CLI is installed) and the console are
scanned for those values.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from html import escape as html_escape
from pathlib import Path

import pytest
import yaml

from support.reporting.environment_info import ALLURE_CLI, chromium_binary
from support.reporting.scan import scan_text, scan_tree
from support.sandboxes import start_sandbox
from tests.acceptance.behave_runner import FaultSwitch

REPO = Path(__file__).resolve().parents[2]
PLANTED = {"regular_key": "PLANTED-regular-apikey-9c1e7a", "admin_password": "PLANTED-admin-pass-4b2d88",
           "admin_key": "PLANTED-admin-apikey-0f6e31"}
TCP = "A TCP monitor on a closed port raises a critical event"


@pytest.fixture(scope="module")
def report_run(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("reports-e2e")
    config = base / "sandbox.yaml"
    config.write_text(yaml.safe_dump({"users": [
        {"username": "e2et-regular", "api_key": PLANTED["regular_key"], "tenants": ["123456"], "user_id": "u-r"},
        {"username": "e2et-admin", "api_key": PLANTED["admin_key"], "password": PLANTED["admin_password"],
         "tenants": [], "roles": ["monitoring:service-admin"], "user_id": "u-a"},
        {"username": "other-regular", "tenants": ["654321"], "user_id": "u-o"}]}))
    handle = start_sandbox("salus", base / "sandbox", config=config)
    try:
        faults = FaultSwitch("salus", handle.profile_path)
        faults.on("events-drop-critical")
        reports = base / "reports"
        env = dict(os.environ, E2ET_SANDBOX_PROFILE=str(handle.profile_path), E2ET_PROFILE="local",
                   E2ET_REPORTS_DIR=str(reports), E2ET_EVIDENCE="always",
                   E2ET_EVENTS__TIMEOUT="4")   # the induced failure need not wait 30 s
        proc = subprocess.run([sys.executable, "-m", "behave", "--tags", "@salus",
                               "--junit-directory", str(reports / "junit")],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
        faults.clear()
        html = None
        if ALLURE_CLI.exists():
            gen = subprocess.run([sys.executable, "-m", "e2et.cli", "report", "--results",
                                  str(reports / "allure-results"), "--output", str(reports / "allure-report")],
                                 cwd=REPO, capture_output=True, text=True, timeout=300)
            assert gen.returncode == 0, gen.stderr
            html = reports / "allure-report" / "index.html"
        yield proc, reports, html
    finally:
        handle.stop()


@pytest.mark.acceptance
def test_run_produces_allure_junit_and_summaries(report_run):
    proc, reports, _html = report_run
    assert proc.returncode == 1, proc.stdout[-3000:]
    results = reports / "allure-results"
    assert (results / "environment.properties").exists() and (results / "categories.json").exists()
    assert list((reports / "junit").glob("*.xml"))
    summary = json.loads((reports / "summary.json").read_text())
    rows = {s["name"]: s for s in summary["scenarios"]}
    assert rows[TCP]["status"] == "FAIL" and rows[TCP]["category"] == "Product defects"
    assert rows[TCP]["failed_step"].startswith("Then") and "CRITICAL" in rows[TCP]["message"]
    assert rows[TCP]["evidence"] >= 3
    assert summary["phases_s"]["setup"] > 0 and "tool.allure-behave" in summary["environment"]
    assert "Where it broke" in (reports / "summary.md").read_text()
    tcp = next(json.loads(f.read_text()) for f in results.glob("*-result.json")
               if json.loads(f.read_text())["name"] == TCP)
    names = [a["name"] for a in tcp["attachments"]]
    assert any("curl" in n for n in names) and any("Kafka scan window" in n for n in names)
    assert any("envoy log" in n for n in names) and "salus: sandbox log (tail)" in names


@pytest.mark.acceptance
def test_no_secret_in_any_report_file_or_console(report_run):
    proc, reports, _html = report_run
    secrets = list(PLANTED.values())
    leaks, count = scan_tree(reports, secrets)
    assert count > 20, f"only {count} files scanned"
    leaks += scan_text(proc.stdout, secrets, "stdout") + scan_text(proc.stderr, secrets, "stderr")
    assert not leaks, [str(x) for x in leaks]


@pytest.mark.acceptance
@pytest.mark.report_html
def test_html_report_lists_the_scenarios_in_headless_chromium(report_run):
    _proc, reports, html = report_run
    browser = chromium_binary()
    if html is None or browser is None:
        pytest.skip("HTML report check needs the npm allure CLI and chromium: run bash scripts/setup-reports.sh")
    with tempfile.TemporaryDirectory() as profile_dir:
        dom = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                              "--disable-background-networking", "--disable-component-update", "--disable-sync",
                              "--no-first-run", f"--user-data-dir={profile_dir}", "--virtual-time-budget=15000",
                              "--dump-dom", html.as_uri()], capture_output=True, text=True, timeout=120).stdout
    # the page rendered (JS ran): the feature groups and the totals are in the live DOM
    for feature in ("Test run setup", "Envoy presence", "Agent installs", "Failure events"):
        assert feature in dom, f"{feature!r} not rendered"
    assert "Failed" in dom or "failed" in dom
    # Allure opens the groups holding failed or broken tests: the failed scenarios are rendered by name
    scenarios = json.loads((reports / "summary.json").read_text())["scenarios"]
    failed = {s["name"] for s in scenarios if s["status"] in ("FAIL", "BROKEN")}
    assert failed, "the induced failure must be in the report"
    missing = {name for name in failed if html_escape(name, quote=False) not in dom}
    assert not missing, f"failed scenarios not rendered in the report page: {missing}"
    # every scenario of the run (passed ones sit in collapsed groups) is listed in the report's test index
    listed = {t["name"] for t in json.loads((html.parent / "test-results.json").read_text())["byId"].values()}
    assert {s["name"] for s in scenarios} <= listed


@pytest.mark.acceptance
@pytest.mark.report_html
def test_html_report_categories_are_e2ets(report_run):
    """Allure 3 takes categories from its configuration (not categories.json): the Categories tab
    must group the induced failure under e2et's "Product defects", not Allure's default "Product errors"."""
    import base64
    import re

    _proc, _reports, html = report_run
    if html is None:
        pytest.skip("HTML report check needs the npm allure CLI: run bash scripts/setup-reports.sh")
    data = ""
    for blob in re.findall(r"[A-Za-z0-9+/=]{400,}", html.read_text()):      # single-file report: base64 data
        try:
            data += base64.b64decode(blob + "==").decode("utf-8", "ignore")
        except ValueError:
            continue
    assert '"type":"category","name":"Product defects"' in data
    assert '"name":"Product errors"' not in data
