"""Write-ahead record of everything one Coral sandbox creates on the shared machine.

Why a ledger: namespaces, root-namespace routes and links outlive a SIGKILLed sandbox. Before
anything is created its name goes into ``/run/e2et/coral/<run>.json``; the next sandbox start
(holding the one machine-wide lock) sweeps exactly what dead owners recorded — never anything
it did not create itself, whatever its name looks like.
"""
from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

from support.processes import kill_matching

log = logging.getLogger("sandbox.coral.ledger")

LEDGER_DIR = Path(os.environ.get("E2ET_CORAL_LEDGER_DIR", "/run/e2et/coral"))


class LockBusy(RuntimeError):
    """Another Coral sandbox holds the test network."""


def _start_time(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def same_process(pid: int, start: float | None) -> bool:
    """True when ``pid`` still is the process that was recorded (guards against PID reuse)."""
    now = _start_time(pid)
    return now is not None and (start is None or abs(now - start) < 0.5)


@dataclass
class Record:
    run_id: str
    owner: int
    owner_start: float | None
    netns: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)          # root-namespace links
    routes: list[list[str]] = field(default_factory=list)   # `ip route del` arguments
    pids: list[list[float]] = field(default_factory=list)   # [pid, start time]
    dirs: list[str] = field(default_factory=list)


class Ledger:
    """This run's record, rewritten atomically after every addition (before the thing exists)."""

    def __init__(self, run_id: str, directory: Path = LEDGER_DIR) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / f"{run_id}.json"
        me = os.getpid()
        self.rec = Record(run_id, me, _start_time(me))
        self._write()

    def _write(self) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".ledger-")
        with os.fdopen(fd, "w") as f:
            json.dump(asdict(self.rec), f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def add(self, kind: str, value: Any) -> None:
        getattr(self.rec, kind).append(value)
        self._write()

    def drop(self, kind: str, value: Any) -> None:
        items = getattr(self.rec, kind)
        if value in items:
            items.remove(value)
            self._write()

    def pid(self, pid: int) -> None:
        self.add("pids", [pid, _start_time(pid) or 0.0])

    def close(self) -> None:
        self.path.unlink(missing_ok=True)


class MachineLock:
    """One Coral sandbox at a time owns 198.51.100.0/24 on this machine (flock: freed even on SIGKILL)."""

    def __init__(self, directory: Path = LEDGER_DIR) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / "lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            if e.errno in (errno.EAGAIN, errno.EACCES):
                raise LockBusy(f"another Coral sandbox (pid {holder}) is using the test network "
                               "198.51.100.0/24: stop it (SIGTERM) or wait for it to end") from None
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _run(argv: list[str]) -> None:
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=15, check=False)


def _kill_inside(ns: str) -> None:
    """Kill whatever still runs inside one of our namespaces: only our processes can be there."""
    res = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True, timeout=10)
    procs = []
    for tok in res.stdout.split():
        try:
            p = psutil.Process(int(tok))
            p.kill()
            procs.append(p)
        except (ValueError, psutil.Error):
            pass
    psutil.wait_procs(procs, timeout=3)


def undo(rec: Record) -> None:
    """Remove everything ``rec`` lists: processes (by PID and start time), namespaces, links,
    routes, directories. Idempotent; used by teardown and by the sweep of dead runs."""
    procs = []
    for pid, start in rec.pids:
        if same_process(int(pid), start or None):
            try:
                p = psutil.Process(int(pid))
                p.kill()
                procs.append(p)
            except psutil.Error:
                pass
    psutil.wait_procs(procs, timeout=3)
    kill_matching(f"e2et-{rec.run_id}-")       # children of those (wireguard-go) carry the run marker
    for ns in reversed(rec.netns):
        if Path("/run/netns", ns).exists():
            _kill_inside(ns)
            _run(["ip", "netns", "del", ns])
    for link in rec.links:
        _run(["ip", "link", "del", link])
    for args in rec.routes:
        _run(["ip", "route", "del", *args])
    for d in rec.dirs:
        shutil.rmtree(d, ignore_errors=True)


def sweep(directory: Path = LEDGER_DIR, keep: str | None = None) -> list[str]:
    """Undo the records of dead owners (call with the machine lock held); return their run ids."""
    swept = []
    for path in sorted(directory.glob("*.json")):
        try:
            data = json.loads(path.read_text())
            rec = Record(**data)
        except (OSError, ValueError, TypeError):
            continue
        if rec.run_id == keep or same_process(rec.owner, rec.owner_start):
            continue
        log.warning("sweeping leftovers of dead Coral sandbox run %s", rec.run_id)
        undo(rec)
        path.unlink(missing_ok=True)
        swept.append(rec.run_id)
    return swept
