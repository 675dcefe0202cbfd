"""One stand-in for the whole test session, and its fault switches (the pack's fault control)."""
from __future__ import annotations

from pathlib import Path

from tests.acceptance.behave_runner import BehaveRun, faults_fixture, run_behave, sandbox_fixture

FEATURES = Path(__file__).resolve().parents[2] / "features" / "sidecar"


sidecar = sandbox_fixture("sidecar", timeout=40)
faults = faults_fixture("sidecar", "sidecar")


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
