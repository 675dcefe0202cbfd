"""Run the @salus specs against mutated sandboxes: each mutation in a scratch copy of the tree.

Why a scratch copy: the real tree (and the sandbox every other test shares) stays untouched. The
copy holds ``sandbox/`` and the ``support/`` utilities it imports; the sandbox is started from it
(``python -m sandbox.salus up`` with the copy as working directory), so its services, its public
poller, the stand-in envoy its profile names (a launcher pinned to the copy) and the telegraf in
its release tarballs all run the mutated code. The specs themselves run from the real tree.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from support.sandboxes import SandboxHandle, SandboxStartError
from support.waiting import poll

from .behave_runner import REPO_ROOT, run_behave
from .mutations import MUTATIONS, Mutation

COPIED = ("sandbox", "support")


@dataclass
class Outcome:
    mutation: Mutation
    killed: bool
    seconds: float
    failed: list[str] = field(default_factory=list)
    note: str = ""


def scratch_copy(dest: Path) -> Path:
    """The packages a sandbox runs from, copied to ``dest`` (caches left out)."""
    for name in COPIED:
        shutil.copytree(REPO_ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


def apply(root: Path, mutation: Mutation) -> None:
    """Replace the mutation's snippet, which must occur exactly once (a stale catalogue fails loudly)."""
    path = root / mutation.path
    text = path.read_text()
    count = text.count(mutation.old)
    if count != 1:
        raise ValueError(f"mutation {mutation.id}: its code occurs {count} times in {mutation.path} (want 1)")
    path.write_text(text.replace(mutation.old, mutation.new))


def start_from(root: Path, run_dir: Path, timeout: float = 30.0) -> SandboxHandle:
    """``support.sandboxes.start_sandbox`` for a tree other than this checkout."""
    run_dir.mkdir(parents=True, exist_ok=True)
    profile, log = run_dir / "profile.yaml", run_dir / "sandbox.log"
    cmd = [sys.executable, "-m", "support.guardian", f"--parent={os.getpid()}", "--",
           sys.executable, "-m", "sandbox.salus", "up", "--quiet", f"--profile-out={profile}", f"--log-file={log}"]
    with open(run_dir / "sandbox.stderr.log", "ab") as err:
        proc = subprocess.Popen(cmd, cwd=str(root), stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL,
                                start_new_session=True, env={**os.environ, "PYTHONPATH": str(root)})
    handle = SandboxHandle("salus", proc, profile, log)

    def ready() -> bool:
        if proc.poll() is not None:
            raise SandboxStartError(f"mutated sandbox exited with {proc.returncode}")
        return profile.exists()
    try:
        poll(ready, timeout, "mutated sandbox ready", interval=0.05)
    except BaseException:
        handle.stop()
        raise
    return handle


def run_one(mutation: Mutation, work: Path) -> Outcome:
    """Apply one mutation to a fresh copy, run the specs against its sandbox: killed = the run failed."""
    t0 = time.monotonic()
    root = scratch_copy(work / "tree")
    apply(root, mutation)
    try:
        sandbox = start_from(root, work / "sandbox")
    except (SandboxStartError, AssertionError) as e:
        return Outcome(mutation, True, time.monotonic() - t0, note=f"sandbox did not start: {e}")
    try:
        run = run_behave(sandbox.profile_path, work / "out", tags="@salus", timeout=600)
    finally:
        sandbox.stop()
    return Outcome(mutation, run.returncode != 0, time.monotonic() - t0, sorted(run.failed()),
                   "" if run.returncode in (0, 1) else f"behave exit {run.returncode}")


def run_all(work: Path, mutations: Iterable[Mutation] = MUTATIONS,
            progress: Callable[[Outcome], None] = lambda o: None) -> list[Outcome]:
    out = []
    for i, m in enumerate(mutations):
        outcome = run_one(m, work / f"{i:02d}-{m.id}")
        shutil.rmtree(work / f"{i:02d}-{m.id}" / "tree", ignore_errors=True)
        progress(outcome)
        out.append(outcome)
    return out


def kill_rate(outcomes: list[Outcome]) -> float:
    return sum(o.killed for o in outcomes) / len(outcomes) if outcomes else 0.0
