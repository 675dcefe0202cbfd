"""Run behave as a child process against given sandboxes and read back per-scenario results.

Used by every pack's "every spec can fail" tests: they need real behave runs (hooks, steps,
support, the real sandbox), and a structured view of which scenario failed with which message.
``FaultSwitch`` throws a running sandbox's fault switches through the pack's own fault control.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class ScenarioResult:
    feature: str
    name: str
    status: str
    message: str = ""


@dataclass
class BehaveRun:
    returncode: int
    scenarios: dict[str, ScenarioResult] = field(default_factory=dict)
    stdout: str = ""
    stderr: str = ""

    def failed(self) -> set[str]:
        """Failed scenarios — a failing after_scenario (a cleanup that proved the system wrong) too."""
        return {n for n, s in self.scenarios.items() if s.status in ("failed", "error", "hook_error")}

    def passed(self) -> set[str]:
        return {n for n, s in self.scenarios.items() if s.status == "passed"}

    def message(self, name: str) -> str:
        return self.scenarios[name].message


def run_behave(profile_file: Path | list[Path], out_dir: Path, *args: str, tags: str,
               env: dict[str, str] | None = None, timeout: float = 240) -> BehaveRun:
    """behave ``--tags <tags> args`` on profile local against the sandboxes whose profile files are given."""
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"behave-{uuid.uuid4().hex[:8]}.json"
    files = profile_file if isinstance(profile_file, list) else [profile_file]
    full_env = dict(os.environ)
    full_env.update({"E2ET_SANDBOX_PROFILE": os.pathsep.join(str(f) for f in files), "E2ET_PROFILE": "local",
                     "E2ET_REPORTS_DIR": str(out_dir / "reports")})
    full_env.update(env or {})
    junit = out_dir / f"junit-{out.stem}"
    cmd = [sys.executable, "-m", "behave", "--tags", tags, "-f", "json", "-o", str(out),
           "--junit", "--junit-directory", str(junit), *args]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=full_env, capture_output=True, text=True,
                          timeout=timeout)
    run = BehaveRun(proc.returncode, stdout=proc.stdout, stderr=proc.stderr)
    if out.exists() and out.stat().st_size:
        for feature in json.loads(out.read_text()):
            for el in feature.get("elements", []):
                if el.get("type") != "scenario":
                    continue
                msg = ""
                for step in el.get("steps", []):
                    res = step.get("result", {})
                    if res.get("status") in ("failed", "error"):
                        em = res.get("error_message", "")
                        msg = "\n".join(em) if isinstance(em, list) else str(em)
                        break
                run.scenarios[el["name"]] = ScenarioResult(feature["name"], el["name"],
                                                           el.get("status", "?"), msg)
    _messages_from_junit(junit, run)
    return run


def _messages_from_junit(junit: Path, run: BehaveRun) -> None:
    """behave's JSON output omits the message of an *error* (non-assertion) step; JUnit keeps it."""
    import xml.etree.ElementTree as ET
    for xml in junit.glob("*.xml"):
        for case in ET.parse(xml).getroot().iter("testcase"):
            name = case.get("name", "")
            name = name.split(" -- @", 1)[0]
            res = run.scenarios.get(name)
            if res is None or res.message:
                continue
            for tag in ("failure", "error"):
                node = case.find(tag)
                if node is not None:
                    res.message = (node.get("message") or "") + "\n" + (node.text or "")
                    break


class FaultSwitch:
    """A running sandbox's fault switches, through its pack's declared fault control."""

    def __init__(self, pack: str, profile_file: Path) -> None:
        from support import faults
        self.control = faults.control_for(pack, "local", {"E2ET_SANDBOX_PROFILE": str(profile_file)})

    def on(self, name: str, param: object = None) -> None:
        self.control.enable(name, param)

    def off(self, name: str) -> None:
        self.control.disable(name)

    def clear(self) -> None:
        self.control.clear()

    def close(self) -> None:
        self.control.close()


def sandbox_fixture(pack: str, timeout: float = 30.0) -> Any:
    """A session-scoped pytest fixture: one running sandbox of ``pack`` for every test that asks.
    In a conftest: ``sandbox = sandbox_fixture("salus")``."""
    import pytest

    from support.sandboxes import start_sandbox

    @pytest.fixture(scope="session")
    def _sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
        with start_sandbox(pack, tmp_path_factory.mktemp(f"{pack}-sandbox"), timeout=timeout) as handle:
            yield handle
    return _sandbox


def faults_fixture(pack: str, sandbox: str = "sandbox") -> Any:
    """A pytest fixture: the fault switches of the sandbox fixture named ``sandbox``, cleared before
    and after each test. In a conftest: ``faults = faults_fixture("salus")``."""
    import pytest

    @pytest.fixture()
    def _faults(request: pytest.FixtureRequest) -> Iterator[FaultSwitch]:
        handle = request.getfixturevalue(sandbox)
        switch = FaultSwitch(pack, handle.profile_path)
        switch.clear()
        try:
            yield switch
        finally:
            switch.clear()
            switch.close()
    return _faults
