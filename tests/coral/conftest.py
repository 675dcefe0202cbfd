"""Fixtures for the Coral pack's tests: one running sandbox per module, behave runs against it,
and a snapshot of what the sandbox may leave on this machine (namespaces, links, routes, processes)."""
from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from support.faults import FaultControl
from support.http import ApiClient
from support.sandboxes import SandboxHandle, start_sandbox
from tests.acceptance.behave_runner import BehaveRun
from tests.acceptance.behave_runner import run_behave as _run_behave

REPO_ROOT = Path(__file__).resolve().parents[2]


#: the @coral features (behave reports other packs' unselected scenarios as skipped)
CORAL_FEATURES = {"Colonies are found through discovery", "Agents join the colony's WireGuard mesh",
                  "The colony hands out mesh addresses", "Agents register with the colony",
                  "Agents prove they are alive", "Agents reconnect after an outage",
                  "OpenTelemetry traces reach the colony through the mesh (L1)",
                  "System metrics and profiles flow to the colony (L2)",
                  "eBPF data: RED metrics, on-demand profiles and uprobe traces (L0, L3)"}


def host_ready() -> str | None:
    from support.coral.capabilities import host_problem
    return host_problem()


needs_host = pytest.mark.skipif(host_ready() is not None, reason=f"cannot host the Coral mesh: {host_ready()}")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    if host_ready():
        pytest.skip(f"cannot host the Coral mesh: {host_ready()}")
    with start_sandbox("coral", tmp_path_factory.mktemp("coral-sandbox"), timeout=60) as handle:
        yield handle


@pytest.fixture(scope="module")
def control(sandbox: SandboxHandle) -> Iterator[FaultControl]:
    url = yaml.safe_load(sandbox.profile_path.read_text())["coral"]["sandbox"]["control_url"]
    fc = FaultControl(ApiClient(url, 60, service="coral fault control"))
    yield fc
    fc.close()


def run_behave(profile: Path, out_dir: Path, *args: str, timeout: float = 300) -> BehaveRun:
    """behave --tags @coral against a running sandbox (its profile), parsed per scenario."""
    return _run_behave(profile, out_dir, *args, tags="@coral", timeout=timeout)


def machine_state(run_id: str | None = None) -> dict[str, list[str]]:
    """What a Coral sandbox creates on this machine, as seen from the root namespace (plus, given a
    run id, that run's temp dirs — other helpers' runs share /tmp and are none of our business)."""
    netns = [n.split()[0] for n in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
             .splitlines() if n.startswith("e2et-")]
    links = [ln.split()[0].split("@")[0] for ln in subprocess.run(["ip", "-br", "link"], capture_output=True,
             text=True).stdout.splitlines() if ln.startswith("e2et-")]
    routes = [r for r in subprocess.run(["ip", "route", "show", "type", "unreachable"], capture_output=True,
              text=True).stdout.splitlines() if "metric 4000" in r]
    procs = []
    import psutil
    for p in psutil.process_iter(["pid", "cmdline"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if p.pid != os.getpid() and any(m in cmd for m in ("sandbox.coral", "-wg-h", "-anchor-h")) \
                and "pytest" not in cmd:
            procs.append(f"{p.pid} {cmd[:120]}")
    dirs = [str(d) for d in Path("/tmp").glob("e2et-*-coral-*")]
    if run_id:
        dirs += [str(d) for d in Path("/tmp").glob(f"e2et-{run_id}*") if str(d) not in dirs]
    ledgers = [str(p) for p in Path("/run/e2et/coral").glob("*.json")] if Path("/run/e2et/coral").exists() else []
    return {"netns": netns, "links": links, "routes": routes, "procs": procs, "dirs": dirs, "ledgers": ledgers}


def leftovers(before: dict[str, list[str]], run_id: str | None = None) -> dict[str, list[str]]:
    now = machine_state(run_id)
    return {k: [x for x in v if x not in before.get(k, [])] for k, v in now.items() if
            [x for x in v if x not in before.get(k, [])]}
