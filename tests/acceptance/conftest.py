"""Fixtures for tests that run the real @salus specs against a real sandbox."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import httpx
import pytest
import yaml

from support.sandboxes import SandboxHandle, start_sandbox


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    with start_sandbox("salus", tmp_path_factory.mktemp("salus-sandbox")) as handle:
        yield handle


class FaultSwitch:
    """Switches sandbox faults through its admin-only control endpoint (admin token from Identity)."""

    def __init__(self, profile_file: Path) -> None:
        self.profile = yaml.safe_load(profile_file.read_text())
        ident = self.profile["identity"]["url"]
        admin = self.profile["admin"]
        body = {"auth": {"passwordCredentials": {"username": admin["username"], "password": admin["password"]}}}
        token = httpx.post(ident + "tokens", json=body, timeout=5).json()["access"]["token"]["id"]
        self.client = httpx.Client(base_url=self.profile["sandbox"]["control_url"],
                                   headers={"X-Auth-Token": token}, timeout=30)

    def on(self, name: str, param: object = None) -> None:
        self.client.put(f"faults/{name}", json={"param": param}).raise_for_status()

    def off(self, name: str) -> None:
        self.client.delete(f"faults/{name}").raise_for_status()

    def clear(self) -> None:
        self.client.delete("faults").raise_for_status()


@pytest.fixture()
def faults(sandbox: SandboxHandle) -> Iterator[FaultSwitch]:
    switch = FaultSwitch(sandbox.profile_path)
    switch.clear()
    try:
        yield switch
    finally:
        switch.clear()
