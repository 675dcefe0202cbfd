"""The pack against a deployment it did not start: a committed-style profile (no secrets in it),
tokens from the environment and a file, pointing at a running stand-in as if it were a real
deployment — the specs pass through the same settings path a staging run takes."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from .conftest import feature

REPO = Path(__file__).resolve().parents[2]
SECRET_KEYS = ("auth_token_write", "auth_token_read", "auth_token_write_only", "auth_token_b_write")


def test_specs_pass_on_a_real_style_profile(sidecar, tmp_path):
    section = yaml.safe_load(sidecar.profile_path.read_text())["sidecar"]
    tokens = {k: section.pop(k) for k in SECRET_KEYS}
    section.pop("sandbox")
    (tmp_path / "read.token").write_text(tokens["auth_token_read"] + "\n")
    cfg = tmp_path / "staging.yaml"
    cfg.write_text(yaml.safe_dump({"profile": "staging", "sidecar": section}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("E2ET_")}
    env.update({"E2ET_CONFIG": str(cfg), "E2ET_PROFILE": "staging", "E2ET_REPORTS_DIR": str(tmp_path / "reports"),
                "E2ET_SIDECAR__AUTH_TOKEN_WRITE": tokens["auth_token_write"],
                "E2ET_SIDECAR__AUTH_TOKEN_READ_FILE": str(tmp_path / "read.token"),
                "E2ET_SIDECAR__AUTH_TOKEN_B_WRITE": tokens["auth_token_b_write"],
                "E2ET_SIDECAR__TIMEOUTS__TRACE": "30s"})
    proc = subprocess.run([sys.executable, "-m", "behave", "--tags", "@sidecar", "-f", "plain", "--no-junit",
                           feature("02"), feature("03"), feature("12")], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    counts = re.search(r"(\d+) scenarios passed, (\d+) failed, (\d+) skipped", proc.stdout)
    assert counts and counts.groups() == ("10", "0", "0"), proc.stdout[-1500:]
    reports = "".join(p.read_text(errors="replace") for p in (tmp_path / "reports").rglob("*") if p.is_file())
    for token in tokens.values():
        assert token not in reports, "a token leaked into the reports"


def test_a_minimal_profile_skips_with_reasons_and_fails_nothing(sidecar, tmp_path):
    """Only the URL and one token: every area lacking its dependency skips, naming the setting."""
    section = yaml.safe_load(sidecar.profile_path.read_text())["sidecar"]
    cfg = tmp_path / "minimal.yaml"
    cfg.write_text(yaml.safe_dump({"profile": "staging", "sidecar": {"base_url": section["base_url"]}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("E2ET_")}
    env.update({"E2ET_CONFIG": str(cfg), "E2ET_PROFILE": "staging", "E2ET_REPORTS_DIR": str(tmp_path / "reports"),
                "E2ET_SIDECAR__AUTH_TOKEN_WRITE": section["auth_token_write"], "E2ET_SIDECAR__LOAD__DURATION": "2s"})
    proc = subprocess.run([sys.executable, "-m", "behave", "--tags", "@sidecar", "-f", "plain", "--no-junit",
                           "--show-skipped", str(REPO / "features" / "sidecar")], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    passed, failed, skipped = map(int, re.search(r"(\d+) scenarios passed, (\d+) failed, (\d+) skipped",
                                                 proc.stdout).groups())
    assert failed == 0 and passed >= 8 and skipped >= 15, proc.stdout[-2000:]
    summary = (tmp_path / "reports" / "summary.md").read_text()
    for setting in ("AUTH_TOKEN_READ", "sidecar.chaos_control", "sidecar.helm_chart", "sidecar.audit_log",
                    "sidecar.openapi_file", "require_signals"):
        assert setting in summary, f"no skip reason names {setting}:\n{summary[:3000]}"
