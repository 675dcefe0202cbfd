"""Shared fixtures of the harness tests: a minimal valid profile and a sandbox-style profile file."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

SANDBOX_PROFILE: dict[str, Any] = {
    "profile": "local",
    "tenant": {"id": "123456", "dedicated": True, "account_type": "e2et_managed"},
    "identity": {"url": "http://127.0.0.1:1/v2.0/"},
    "regular": {"username": "e2et-regular", "api_key": "regular-secret-key"},
    "admin": {"username": "e2et-admin", "password": "admin-secret-pw", "api_key": None},
    "public_api": {"url": "http://127.0.0.1:2/v1.0/"},
    "admin_api": {"url": "http://127.0.0.1:3/"},
    "auth_service": {"url": "http://127.0.0.1:4"},
    "ambassador": {"address": "127.0.0.1:5"},
    "kafka": {"brokers": ["127.0.0.1:6"], "security_protocol": "PLAINTEXT", "stale_record_guard": 2},
    "topics": {"metrics": "telemetry.metrics.json", "attaches": "telemetry.attaches.json"},
    "events": {"topic": "salus.event-notifications.json", "format": "notification", "timeout": 20},
    "zones": {"public": "public/us_central_1"},
    "monitors": {"interval": 1, "probe_host": "127.0.0.1"},
    "http": {"timeout": 5},
    "sandbox": {"control_url": "http://127.0.0.1:3/_sandbox/", "log_file": "", "pid": 1},
}


def write_yaml(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


@pytest.fixture
def sandbox_profile(tmp_path: Path) -> Path:
    return write_yaml(tmp_path / "profile.yaml", SANDBOX_PROFILE)


@pytest.fixture
def real_profile_data() -> dict[str, Any]:
    """A real-environment profile (no secrets inside)."""
    data = {k: v for k, v in SANDBOX_PROFILE.items() if k != "sandbox"}
    data = yaml.safe_load(yaml.safe_dump(data))
    data["profile"] = "custom"
    data["regular"] = {"username": "e2et-regular"}
    data["admin"] = {"username": "e2et-admin"}
    return data
