"""Unit tests of the reporting pieces: categories, capability skips, labels, redaction scan, summary."""
from __future__ import annotations

from pathlib import Path

from support.reporting import capabilities, labels
from support.reporting.categories import classify
from support.reporting.environment_info import write_environment
from support.reporting.scan import scan_text, scan_tree
from support.reporting.summary import ScenarioOutcome, Summary, render_markdown


def test_categories_separate_product_infrastructure_configuration():
    assert classify("failed", "support.errors.WaitTimeout: CRITICAL event not seen") == "Product defects"
    assert classify("failed", "support.errors.ApiError: POST /zones answered 500") == "Product defects"
    assert classify("broken", "support.errors.InfrastructureError: public_api.url 127.0.0.1:1 unreachable") \
        == "Infrastructure problems"
    assert classify("broken", "httpx.ConnectError: [Errno 111] Connection refused") == "Infrastructure problems"
    assert classify("broken", "support.errors.ConfigError: profile dev: missing E2ET_REGULAR_API_KEY") \
        == "Configuration errors"
    assert classify("broken", "support.reporting.hooks.HookError: before_scenario hook failed") \
        == "Harness errors and broken hooks"
    assert classify("skipped") == "Skipped: missing capability or known issue"
    assert classify("passed") is None


def test_capability_skip_reason_names_what_is_missing():
    tags = ["salus", "needs:admin", "needs:public_zone", "severity:critical"]
    assert capabilities.skip_reason(tags, {"admin", "public_zone"}, "dev") is None
    reason = capabilities.skip_reason(tags, {"public_zone"}, "dev")
    assert reason and "admin" in reason and "profile dev" in reason and "public_zone" not in reason.split("—")[0]


def test_labels_from_tags():
    got = labels.labels_from_tags(["salus", "epic:salus", "feature:x", "severity:blocker", "story:attach",
                                   "severity:bogus"])
    assert got == {"epic": "salus", "severity": "blocker", "story": "attach"}


def test_scan_finds_secret_values_and_credential_shapes(tmp_path: Path):
    assert scan_text("x-auth-token: ***", ["s3cr3t-value"], "a") == []
    assert scan_text("body s3cr3t-value", ["s3cr3t-value"], "a")
    assert scan_text("X-Auth-Token: abcdefghijklmnop", [], "a")
    assert scan_text('{"password": "hunter22"}', [], "a")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "bin").write_bytes(b"\x00\xffs3cr3t-value")
    leaks, count = scan_tree(tmp_path, ["s3cr3t-value"])
    assert count == 1 and len(leaks) == 1 and "s3cr3t-value" not in str(leaks[0])


def test_environment_properties_are_redacted(tmp_path: Path):
    props = {"endpoint.identity": "http://u:planted-secret-123@host/v2.0/", "profile": "dev"}
    path = write_environment(tmp_path, props, lambda s: s.replace("planted-secret-123", "***"))
    assert "planted-secret-123" not in path.read_text()
    assert (tmp_path / "categories.json").exists()


def test_summary_markdown_puts_failures_first(tmp_path: Path):
    s = Summary()
    s.environment = {"run_id": "r1", "profile": "local"}
    s.add(ScenarioOutcome("F", "ok one", "PASS", 0.1))
    s.add(ScenarioOutcome("F", "bad one", "FAIL", 0.2, failed_step="Then it works", message="boom\nmore",
                          category="Product defects"))
    s.add(ScenarioOutcome("F", "skipped one", "SKIP", 0.0, reason="profile dev lacks capability admin"))
    md = render_markdown(s.as_dict())
    assert md.index("Where it broke") < md.index("## Scenarios")
    assert "Then it works" in md and "lacks capability admin" in md and "FAILED" in md.splitlines()[0]
    j, m = s.write(tmp_path, lambda t: t)
    assert j.exists() and m.exists()
