"""Start and stop a sandbox as a child process — the only sandbox API the suite uses.

Generic over systems: ``start_sandbox("salus", ...)`` runs ``python -m sandbox.salus up`` and waits
(with a deadline, never a fixed sleep) for the profile file it writes once every service is ready.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


class SandboxStartError(RuntimeError):
    """The sandbox exited or did not become ready; the message carries its log tail."""


@dataclass
class SandboxHandle:
    system: str
    process: subprocess.Popen
    profile_path: Path
    log_path: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, grace: float = 8.0) -> None:
        """SIGTERM the sandbox's process group (broker and poller included); SIGKILL if it lingers."""
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(3)

    def __enter__(self) -> "SandboxHandle":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start_sandbox(system: str, run_dir: Path, *, config: Path | None = None,
                  faults: list[str] | None = None, timeout: float = 20.0) -> SandboxHandle:
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    profile = run_dir / "profile.yaml"
    log_path = run_dir / "sandbox.log"
    profile.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", f"sandbox.{system}", "up", "--quiet",
           f"--profile-out={profile}", f"--log-file={log_path}"]
    if config:
        cmd.append(f"--config={config}")
    for f in faults or []:
        cmd.append(f"--fault={f}")
    with open(run_dir / "sandbox.stderr.log", "ab") as err:
        proc = subprocess.Popen(cmd, cwd=str(REPO_ROOT), stdout=subprocess.DEVNULL, stderr=err,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    handle = SandboxHandle(system, proc, profile, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if profile.exists():
            return handle
        if proc.poll() is not None:
            tail = (run_dir / "sandbox.stderr.log").read_text(errors="replace").strip().splitlines()[-5:]
            raise SandboxStartError(f"{system} sandbox exited with code {proc.returncode}: "
                                    + " | ".join(tail))
        try:
            proc.wait(0.05)
        except subprocess.TimeoutExpired:
            pass
    handle.stop()
    raise SandboxStartError(f"{system} sandbox not ready within {timeout:.0f}s; log: {log_path}")
