"""One stand-in for the whole test session, and its fault switches (the pack's fault control)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.sandboxes import SandboxHandle, start_sandbox
from tests.acceptance.behave_runner import BehaveRun, FaultSwitch, run_behave

FEATURES = Path(__file__).resolve().parents[2] / "features" / "sidecar"


@pytest.fixture(scope="session")
def sidecar(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    with start_sandbox("sidecar", tmp_path_factory.mktemp("sidecar-sandbox"), timeout=40) as handle:
        yield handle


@pytest.fixture()
def faults(sidecar: SandboxHandle) -> Iterator[FaultSwitch]:
    switch = FaultSwitch("sidecar", sidecar.profile_path)
    switch.clear()
    try:
        yield switch
    finally:
        switch.clear()
        switch.close()


def feature(prefix: str) -> str:
    (path,) = FEATURES.glob(f"{prefix}_*.feature")
    return str(path)


def statuses(run: BehaveRun) -> dict[str, str]:
    """Scenario name → status, with Scenario Outline rows ("<name> -- @1.1 ") under their name."""
    return {name.split(" -- @", 1)[0]: r.status for name, r in run.scenarios.items()}


def messages(run: BehaveRun) -> dict[str, str]:
    return {name.split(" -- @", 1)[0]: r.message for name, r in run.scenarios.items() if r.message}


def run_specs(profile: Path, out: Path, *prefixes: str, env: dict[str, str] | None = None) -> BehaveRun:
    return run_behave(profile, out, *[feature(p) for p in prefixes], tags="@sidecar", env=env)
