"""A system the harness has never heard of: a throwaway pack in a temp copy of the repository.

Proves the pack protocol end to end with no Salus setting present: behave selects only the new
pack and starts no Salus process; ``e2et run --parallel``, ``soak``, ``sandbox up``, ``serve`` and
``janitor`` work for it; the summary and Allure environment name only its endpoints; its fault
switch turns its scenario red with the step's message.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from support.net import free_port
from support.waiting import poll

from .minimal_pack import FILES

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.acceptance


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's files (as in the working tree) plus the demo pack and its registration."""
    root = tmp_path_factory.mktemp("repo") / "e2et"
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True,
                            text=True, check=True).stdout.split()
    for rel in listed:
        src = REPO / rel
        if src.is_file() and not rel.startswith(("reports/", "tools/allure/node_modules")):
            dst = root / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    for rel, text in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    reg = root / "support" / "registry.py"
    reg.write_text(reg.read_text().replace(")\n", '    "support.demo.pack",\n)\n', 1))
    return root


def clean_env(copy: Path, **extra: str) -> dict[str, str]:
    """No E2ET_* (so no Salus setting), reports inside the copy."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("E2ET_")}
    env.update({"E2ET_REPORTS_DIR": str(copy / "reports"), **extra})
    return env


def run(copy: Path, *args: str, timeout: float = 180, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=copy, env=clean_env(copy, **env),
                          capture_output=True, text=True, timeout=timeout)


def salus_processes(root: Path) -> list[str]:
    out = []
    for p in psutil.process_iter(["cmdline", "cwd"]):
        try:
            cmd = " ".join(p.info["cmdline"] or [])
            if "sandbox.salus" in cmd and str(root) in (p.info["cwd"] or ""):
                out.append(cmd)
        except psutil.Error:
            continue
    return out


@pytest.fixture()
def demo_sandbox(copy: Path, tmp_path: Path) -> Iterator[Path]:
    """``e2et sandbox up demo`` in the foreground; yields its profile file; Ctrl-C stops it."""
    proc = subprocess.Popen([sys.executable, "-m", "e2et.cli", "sandbox", "up", "demo", "--dir", str(tmp_path)],
                            cwd=copy, env=clean_env(copy), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    profile = tmp_path / "demo" / "profile.yaml"
    try:
        poll(lambda: profile.exists() or proc.poll() is not None, 30, "demo sandbox up")
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        yield profile
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
        assert proc.returncode == 0, out
        assert "demo.url" in out and "export E2ET_SANDBOX_PROFILE=" in out


def test_behave_runs_only_the_new_pack_and_reports_only_its_endpoints(copy: Path) -> None:
    proc = run(copy, "behave", "--tags", "@demo", "-f", "plain")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "2 scenarios passed" in proc.stdout
    runs = list((copy / "reports" / "runs").glob("*/sandbox"))
    assert [sorted(p.name for p in r.iterdir()) for r in runs] == [["demo"]], "only the demo sandbox was started"
    assert not salus_processes(copy)
    summary = json.loads((copy / "reports" / "summary.json").read_text())
    env = summary["environment"]
    assert env["packs"] == "demo" and env["demo.url"].startswith("http://127.0.0.1:")
    assert not [k for k in env if "salus" in k.lower()]
    props = (copy / "reports" / "allure-results" / "environment.properties").read_text()
    keys = [line.split("=", 1)[0] for line in props.splitlines()]
    assert "demo.url" in keys and not [k for k in keys if k.startswith("salus")]
    text = "".join(p.read_text(errors="replace") for p in (copy / "reports").rglob("*") if p.is_file())
    assert "demo-secret-token-1" not in text, "the sandbox's secret leaked into a report"


def test_a_pack_this_machine_cannot_run_skips_with_the_reason_and_starts_nothing(copy: Path) -> None:
    before = set((copy / "reports" / "runs").glob("*")) if (copy / "reports" / "runs").exists() else set()
    proc = run(copy, "behave", "--tags", "@demo", "-f", "plain", DEMO_UNAVAILABLE="no greeting hardware")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "0 scenarios passed" in proc.stdout
    summary = json.loads((copy / "reports" / "summary.json").read_text())
    assert len(summary["scenarios"]) == 2
    for row in summary["scenarios"]:
        assert row["status"] == "SKIP" and "cannot run on this machine: no greeting hardware" in row["reason"]
    assert summary["environment"]["demo.unavailable"] == "no greeting hardware"
    new = set((copy / "reports" / "runs").glob("*")) - before
    assert not [p for d in new for p in (d / "sandbox").glob("*")], "a sandbox was started anyway"


def test_not_the_new_pack_selects_every_pack_but_it(copy: Path) -> None:
    """``not @demo`` is evaluated by behave's own tag logic over the real feature files: every other
    registered pack is selected (so its sandbox would start), the demo pack is not."""
    code = ("import json; from support import packs, selection; "
            "print(json.dumps([[p.name for p in selection.packs_for_tags(['not @demo'])], list(packs.registry())]))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=copy, env=clean_env(copy), capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    chosen, registered = json.loads(proc.stdout)
    assert "demo" in registered and "demo" not in chosen
    assert sorted(chosen) == sorted(n for n in registered if n != "demo")


def test_parallel_flows_keep_an_exclusive_scenario_alone(copy: Path, demo_sandbox: Path, tmp_path: Path) -> None:
    """``@exclusive`` (and ``@needs:faults``) scenarios hold their deployment alone: no scenario of
    another flow on the same deployment runs meanwhile; the others run side by side."""
    log = tmp_path / "intervals.log"
    proc = run(copy, "e2et.cli", "run", "--parallel", "3", "--tags", "@demo", "--reports", str(tmp_path / "r"),
               E2ET_SANDBOX_PROFILE=str(demo_sandbox), DEMO_LOG=str(log))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    rows = [line.rsplit(" ", 2) for line in log.read_text().splitlines()]
    spans = [(head.split(" ", 1)[0], head.split(" ", 1)[1], float(a), float(b)) for head, a, b in rows]
    assert len(spans) == 6, spans
    alone = [s for s in spans if "alone" in s[1]]
    for run_id, _, a, b in alone:
        overlapping = [o for o in spans if o[0] != run_id and o[2] < b and a < o[3]]
        assert not overlapping, f"an exclusive scenario of {run_id} overlapped {overlapping}"


def test_its_fault_turns_its_scenario_red(copy: Path, demo_sandbox: Path) -> None:
    on = run(copy, "e2et.cli", "sandbox", "fault", "wrong-greeting", "--profile-file", str(demo_sandbox))
    assert on.returncode == 0 and "wrong-greeting" in on.stdout, on.stdout + on.stderr
    try:
        proc = run(copy, "behave", "--tags", "@demo", "-f", "plain", E2ET_SANDBOX_PROFILE=str(demo_sandbox))
    finally:
        off = run(copy, "e2et.cli", "sandbox", "fault", "all", "--off", "--profile-file", str(demo_sandbox))
        assert off.returncode == 0 and off.stdout.strip() == "{}", off.stdout + off.stderr
    assert proc.returncode == 1, proc.stdout[-2000:]
    assert "the demo service greeted 'bye' instead of hello" in proc.stdout


def test_parallel_soak_and_janitor_work_for_it(copy: Path, demo_sandbox: Path, tmp_path: Path) -> None:
    par = run(copy, "e2et.cli", "run", "--parallel", "2", "--tags", "@demo", "--reports", str(tmp_path / "par"))
    assert par.returncode == 0, par.stdout[-2000:] + par.stderr[-2000:]
    assert par.stdout.count("exit 0, 2 passed") == 2
    soak = run(copy, "e2et.cli", "soak", "--tags", "@demo", "--cycles", "2", "--output", str(tmp_path / "soak"),
               "--inject-failure", "wrong-greeting", "--inject-every", "2", timeout=300)
    assert soak.returncode == 0, soak.stdout[-2000:] + soak.stderr[-2000:]
    state = json.loads((tmp_path / "soak" / "state.json").read_text())
    assert [c["status"] for c in state["completed"]] == ["passed", "failed"]     # cycle 2 injected
    jan = run(copy, "e2et.cli", "janitor", "--profile", "local", E2ET_SANDBOX_PROFILE=str(demo_sandbox))
    assert jan.returncode == 0, jan.stderr
    assert "janitor removed (demo): greetings=0" in jan.stdout and "salus" not in jan.stdout


def test_serve_runs_it(copy: Path) -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "e2et.cli", "serve", "--port", str(port), "--host", "127.0.0.1",
                             "--tags", "@demo", "--reports", str(copy / "reports-serve")], cwd=copy,
                            env=clean_env(copy), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        poll(lambda: _get(f"http://127.0.0.1:{port}/metrics") is not None, 20, "serve listening")
        resp = httpx.get(f"http://127.0.0.1:{port}/", timeout=120)
        assert resp.status_code == 200, resp.text
        counts = resp.json()["scenarios"]
        assert counts.get("passed") == 2 and not counts.get("failed"), counts
    finally:
        proc.terminate()
        proc.wait(30)


def _get(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=2)
    except httpx.HTTPError:
        return None
