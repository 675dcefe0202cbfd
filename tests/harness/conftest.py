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


#: what a user of a shipped real-environment template must set (every CHANGE-ME placeholder)
REAL_ENDPOINTS = {"E2ET_TENANT_ID": "654321", "E2ET_IDENTITY_URL": "https://identity.e2et.test/v2.0/",
                  "E2ET_PUBLIC_API_URL": "https://public-api.e2et.test/v1.0/",
                  "E2ET_ADMIN_API_URL": "https://admin-api.e2et.test/", "E2ET_AUTH_URL": "https://auth.e2et.test",
                  "E2ET_AMBASSADOR_ADDRESS": "ambassador.e2et.test:443", "E2ET_KAFKA_BROKERS": "kafka.e2et.test:9093",
                  "E2ET_ENVOY_TARBALL_LINUX": "https://downloads.e2et.test/telemetry-envoy_linux_amd64.tar.gz"}


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
