"""Local sandboxes as child processes — the only way the suite starts a stand-in.

``start_sandbox(pack, run_dir)`` runs ``python -m <pack.sandbox_module> up --profile-out FILE`` in its
own session and waits (deadline poll, never a fixed sleep) for FILE, which the sandbox writes once
every part is ready. ``Sandboxes`` starts those of several packs concurrently, keeps their handles
and sections in memory, and stops them all — the one place the "start the sandboxes if local"
rule lives (lifecycle, parallel flows, soaks and ``e2et sandbox up`` call it).
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from . import config, packs
from .processes import stop_tree
from .waiting import poll

REPO_ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 30.0


class SandboxStartError(RuntimeError):
    """The sandbox exited or did not become ready; the message carries its log tail."""


@dataclass
class SandboxHandle:
    pack: str
    process: subprocess.Popen
    profile_path: Path
    log_path: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    @property
    def pid(self) -> int | None:
        """The stand-in's own process (``process`` is the guardian that watches this runner for it)."""
        try:
            kids = psutil.Process(self.process.pid).children()
        except psutil.Error:
            return None
        return kids[0].pid if kids else None

    def stop(self, grace: float = 8.0) -> None:
        """Stop the sandbox's process group (broker, workers and pollers included), then remove
        its profile file: it holds the sandbox's generated secrets and is useless once it stopped."""
        stop_tree(self.process, grace)
        self.profile_path.unlink(missing_ok=True)

    def __enter__(self) -> SandboxHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def section(self) -> dict[str, Any]:
        """What the sandbox wrote, in canonical shape (``{pack: section, …run-wide keys}``)."""
        raw = config.read_yaml(self.profile_path, "the sandbox did not write its profile")
        data = config.normalise(raw, str(self.profile_path), packs.registry())
        data.pop("profile", None)
        return data

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start_sandbox(pack: str, run_dir: Path, *, config_file: Path | None = None, faults: Sequence[str] = (),
                  timeout: float = START_TIMEOUT, config: Path | None = None) -> SandboxHandle:
    """Start one pack's sandbox and wait until it wrote its profile (``SandboxStartError`` if not)."""
    module = packs.get(pack).sandbox_module
    if not module:
        raise SandboxStartError(f"pack {pack} has no local sandbox: use a real profile (dev, staging, prod)")
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    profile = run_dir / "profile.yaml"
    log_path = run_dir / "sandbox.log"
    stderr_path = run_dir / "sandbox.stderr.log"
    profile.unlink(missing_ok=True)
    # under a guardian: should this process die without its teardown (SIGKILL), the sandbox stops itself
    cmd = [sys.executable, "-m", "support.guardian", f"--parent={os.getpid()}", "--",
           sys.executable, "-m", module, "up", "--quiet", f"--profile-out={profile}", f"--log-file={log_path}"]
    cfg = config_file or config
    if cfg:
        cmd.append(f"--config={cfg}")
    cmd += [f"--fault={f}" for f in faults]
    with open(stderr_path, "ab") as err:
        proc = subprocess.Popen(cmd, cwd=str(REPO_ROOT), stdout=subprocess.DEVNULL, stderr=err,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    handle = SandboxHandle(pack, proc, profile, log_path)

    def ready() -> bool:
        if proc.poll() is not None:
            tail = stderr_path.read_text(errors="replace").strip().splitlines()[-5:]
            raise SandboxStartError(f"{pack} sandbox exited with code {proc.returncode}: " + " | ".join(tail))
        return profile.exists()
    try:
        poll(ready, timeout, f"{pack} sandbox ready (profile written)", interval=0.05)
    except AssertionError:
        handle.stop()
        raise SandboxStartError(f"{pack} sandbox not ready within {timeout:.0f}s; log: {log_path}") from None
    except BaseException:
        handle.stop()
        raise
    return handle


class Sandboxes:
    """The sandboxes one run (or flow set, or soak) started; sections and handles in memory."""

    def __init__(self, handles: Mapping[str, SandboxHandle] | None = None) -> None:
        self.handles: dict[str, SandboxHandle] = dict(handles or {})
        self._lock = threading.Lock()

    @classmethod
    def start(cls, names: Sequence[str], root: Path, faults: Mapping[str, Sequence[str]] | None = None,
              timeout: float = START_TIMEOUT) -> Sandboxes:
        """Start the named packs' sandboxes concurrently under ``root/<pack>``; all or none."""
        started = cls()
        if not names:
            return started

        def one(name: str) -> None:
            handle = start_sandbox(name, Path(root) / name, faults=(faults or {}).get(name, ()), timeout=timeout)
            with started._lock:
                started.handles[name] = handle
        errors: list[BaseException] = []
        with ThreadPoolExecutor(max_workers=len(names), thread_name_prefix="sandbox-start") as pool:
            for fut in [pool.submit(one, n) for n in names]:
                try:
                    fut.result()
                except BaseException as e:  # noqa: BLE001 — collected; every started sandbox is stopped below
                    errors.append(e)
        if errors:
            started.stop()
            raise errors[0]
        return started

    def sections(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for handle in self.handles.values():
            config.merge(data, handle.section())
        return data

    def profile_env(self, env: Mapping[str, str] | None = None) -> dict[str, str]:
        """``E2ET_SANDBOX_PROFILE`` for child processes: these sandboxes' files plus any already given."""
        env = os.environ if env is None else env
        paths = [str(p) for p in config.sandbox_profile_files(env)]
        paths += [str(h.profile_path) for h in self.handles.values()]
        return {"E2ET_SANDBOX_PROFILE": os.pathsep.join(paths)} if paths else {}

    def pids(self) -> list[int]:
        return [h.process.pid for h in self.handles.values()]

    def stop(self) -> None:
        for name in reversed(list(self.handles)):
            self.handles[name].stop()

    def __enter__(self) -> Sandboxes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def to_start(names: Sequence[str], profile: str, env: Mapping[str, str] | None = None) -> list[str]:
    """The selected packs whose local sandbox must be started: profile local (no ``E2ET_CONFIG``),
    the pack has a sandbox, and no running sandbox's profile (``E2ET_SANDBOX_PROFILE``) provides it."""
    env = os.environ if env is None else env
    if not config.uses_sandboxes(profile, env):
        return []
    provided = config.read_sandbox_profiles(env)
    return [n for n in names if packs.get(n).sandbox_module and not isinstance(provided.get(n), dict)]
