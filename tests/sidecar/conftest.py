"""One stand-in for the whole test session, and its fault control (sandbox ↔ suite contract)."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import httpx
import pytest
import yaml

from sandbox.launcher import SandboxHandle, start_sandbox


@pytest.fixture(scope="session")
def sidecar(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    with start_sandbox("sidecar", tmp_path_factory.mktemp("sidecar-sandbox"), timeout=40) as handle:
        yield handle


class FaultSwitch:
    def __init__(self, profile: Path) -> None:
        self.profile = yaml.safe_load(profile.read_text())["sidecar"]
        self.http = httpx.Client(base_url=self.profile["sandbox"]["control_url"], timeout=10)

    def on(self, name: str, param: object = None) -> dict:
        r = self.http.put(f"faults/{name}", json={"param": param})
        r.raise_for_status()
        return r.json()

    def off(self, name: str) -> None:
        self.http.delete(f"faults/{name}").raise_for_status()

    def clear(self) -> None:
        self.http.delete("faults").raise_for_status()

    def state(self) -> dict:
        return self.http.get("faults").json()


@pytest.fixture()
def faults(sidecar: SandboxHandle) -> Iterator[FaultSwitch]:
    switch = FaultSwitch(sidecar.profile_path)
    switch.clear()
    try:
        yield switch
    finally:
        switch.clear()
        switch.http.close()
