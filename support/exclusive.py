"""Parallel flows (``e2et run --parallel N``) share one deployment, and some of its state is global:
fault switches, counters, rate buckets, a load someone offers. A scenario holds a *shared* lock on
its pack's deployment while it runs; one that changes or judges global state holds it
*exclusively* (the lifecycle: ``@exclusive`` or ``@needs:faults``; a pack may also take it itself,
e.g. for a check of exact counter deltas), so no other flow's traffic or faults interleave. An
``flock`` per deployment key in the temp dir: the flows of one machine agree."""
from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
from pathlib import Path

from .waiting import poll


class DeploymentLock:
    """One flock for ``key`` (a deployment's identity), in ``scope`` (its own folder per user of it:
    two locks of one process on the same file would block each other)."""

    def __init__(self, key: str, scope: str = "deployments") -> None:
        folder = Path(tempfile.gettempdir()) / "e2et-locks" / scope
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / (hashlib.sha256(key.encode()).hexdigest()[:16] + ".lock")
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
