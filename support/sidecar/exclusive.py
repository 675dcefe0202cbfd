"""Parallel flows (``e2et run --parallel N``) share one deployment, and some of its state is global:
the chaos file, per-tenant counters and rate buckets, the load the load step offers. Every @sidecar
scenario holds a *shared* lock on the deployment; a scenario that judges or changes global state
takes it *exclusively* first (``SidecarWorld.exclusive``), so its exact deltas and chaos switches see
no other flow's traffic. An ``flock`` per base URL in the temp dir: flows of one machine agree."""
from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
from pathlib import Path

from ..waiting import poll


class DeploymentLock:
    def __init__(self, base_url: str) -> None:
        folder = Path(tempfile.gettempdir()) / "e2et-sidecar-locks"
        folder.mkdir(exist_ok=True)
        self.path = folder / (hashlib.sha256(base_url.encode()).hexdigest()[:16] + ".lock")
        self.fd: int | None = None
        self.mode: int | None = None

    def _try(self, mode: int) -> bool:
        assert self.fd is not None
        try:
            fcntl.flock(self.fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        self.mode = mode
        return True

    def acquire(self, exclusive: bool, timeout: float) -> None:
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        if self.mode == mode or self.mode == fcntl.LOCK_EX:
            return
        if self.fd is None:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        kind = "exclusive" if exclusive else "shared"
        poll(lambda: self._try(mode), timeout, f"{kind} use of the deployment (another e2et flow holds {self.path})",
             interval=0.05)

    def release(self) -> None:
        if self.fd is not None and self.mode is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        self.mode = None

    def close(self) -> None:
        self.release()
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
