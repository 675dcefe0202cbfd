"""Child processes of the sandbox: own process group, killed when the sandbox dies, stopped by PID.

Spawned only from the sandbox's main thread (Linux sends the parent-death signal when the
spawning *thread* ends, and the main thread lives as long as the sandbox)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Callable, Mapping

from sandbox.kafka import _child_setup
from support.processes import stop_tree

REPO_ROOT = Path(__file__).resolve().parents[2]


def child_setup() -> Callable[[], None]:
    """Own session, SIGKILL on the sandbox's death (the shared broker spawner's ``preexec_fn``)."""
    return _child_setup(os.getpid())


class PythonChild:
    """``python -m <module>`` with the contract's env vars; its output goes to the sandbox log."""

    def __init__(self, module: str, env: Mapping[str, str], log_path: Path) -> None:
        self.module = module
        self.env = dict(env)
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", self.module], env=env, cwd=str(REPO_ROOT),
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                         preexec_fn=child_setup())

    def exited(self) -> int | None:
        return self.proc.poll() if self.proc is not None else None

    def stop(self) -> None:
        stop_tree(self.proc, grace=4)
