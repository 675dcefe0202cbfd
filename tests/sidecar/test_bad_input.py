"""Bad input to the @sidecar pack: one line naming the setting, exit 2, and nothing sent to the
deployment (a listener counts every connection the suite makes to the configured base URL)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from support.net import TcpListener

REPO = Path(__file__).resolve().parents[2]


def behave(tmp_path: Path, section: dict, env: dict[str, str]) -> subprocess.CompletedProcess:
    cfg = tmp_path / "profile.yaml"
    cfg.write_text(yaml.safe_dump({"profile": "dev", "sidecar": section}))
    full = {k: v for k, v in os.environ.items() if not k.startswith("E2ET_")}
    full.update({"E2ET_CONFIG": str(cfg), "E2ET_PROFILE": "dev", "E2ET_REPORTS_DIR": str(tmp_path / "reports"), **env})
    return subprocess.run([sys.executable, "-m", "behave", "--tags", "@sidecar", "-f", "plain", "--no-junit"],
                          cwd=REPO, env=full, capture_output=True, text=True, timeout=120)


@pytest.fixture()
def target():
    with TcpListener() as listener:
        yield listener


CASES = [
    ("missing base URL", {}, {"E2ET_SIDECAR__AUTH_TOKEN_WRITE": "t"}, "sidecar.base_url is missing"),
    ("missing token", {"base_url": "URL"}, {}, "sidecar.auth_token_write is missing"),
    ("literal token in a committed profile", {"base_url": "URL", "auth_token_write": "sk-literal"}, {},
     "sidecar.auth_token_write is a secret"),
    ("tokens JSON with literal tokens in a committed profile",
     {"base_url": "URL", "auth_tokens_json": '{"sk-literal": {"tenant_id": "a", "scopes": "traces:read"}}'},
     {"E2ET_SIDECAR__AUTH_TOKEN_WRITE": "t"}, "sidecar.auth_tokens_json is a secret"),
    ("unreadable chart path", {"base_url": "URL", "helm_chart": "/nonexistent/chart"},
     {"E2ET_SIDECAR__AUTH_TOKEN_WRITE": "t"}, "sidecar.helm_chart /nonexistent/chart is not a chart directory"),
    ("malformed tokens JSON", {"base_url": "URL"},
     {"E2ET_SIDECAR__AUTH_TOKEN_WRITE": "t", "E2ET_SIDECAR__AUTH_TOKENS_JSON": "{not json"}, "auth_tokens_json"),
    ("a typo in a key", {"base_url": "URL", "helm_chrat": "/x"}, {"E2ET_SIDECAR__AUTH_TOKEN_WRITE": "t"},
     "helm_chrat"),
]


@pytest.mark.parametrize("case, section, env, words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_nothing_sent(tmp_path, target, case, section, env, words):
    url = f"http://127.0.0.1:{target.port}"
    section = json.loads(json.dumps(section).replace('"URL"', json.dumps(url)))
    proc = behave(tmp_path, section, env)
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-1500:], proc.stderr[-1500:])
    lines = [line for line in proc.stderr.strip().splitlines() if line.startswith("e2et:")]
    assert len(lines) == 1 and words in lines[0], proc.stderr[-1500:]
    assert target.accepted == 0, f"{case}: the suite connected to the deployment {target.accepted} time(s)"
    for secret in ("sk-literal", "{not json"):
        assert secret not in proc.stderr
