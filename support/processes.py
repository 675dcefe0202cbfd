"""Child processes: start one in its own process group, stop its whole tree on every exit path.

Why one module: the harness (envoys, sandboxes, behave children) and the stand-ins (brokers,
pollers, workers) all start processes that start processes; stopping only the parent orphans the
rest. Stop = SIGTERM the group, wait ``grace``, SIGKILL the group, then kill any descendant that
escaped it (re-parented or in a new session), found with psutil.
"""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess

import psutil


def _signal_group(pgid: int | None, sig: int) -> None:
    if pgid is None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def family(pid: int, pgid: int | None = None) -> list[psutil.Process]:
    """Live descendants of ``pid`` plus every process still in group ``pgid`` (even re-parented ones)."""
    found: dict[int, psutil.Process] = {}
    try:
        for p in psutil.Process(pid).children(recursive=True):
            found[p.pid] = p
    except psutil.Error:
        pass
    if pgid is not None:
        for p in psutil.process_iter():
            try:
                if p.pid != os.getpid() and os.getpgid(p.pid) == pgid:
                    found[p.pid] = p
            except (OSError, psutil.Error):
                continue
    return [p for p in found.values() if p.pid != pid]


def stop_tree(proc: subprocess.Popen | None, grace: float = 5.0, pgid: int | None = None,
              group: bool = True, first: int = signal.SIGTERM) -> int | None:
    """Stop ``proc``, its process group and every descendant; return its exit code (None if unknown).

    ``pgid`` defaults to ``proc.pid`` — right for children started with ``start_new_session=True``;
    ``group=False`` for a child that shares the caller's group (only it and its descendants go);
    ``first`` is the polite signal (some servers drain clients on SIGTERM but exit at once on SIGINT).
    Idempotent: a process already gone is fine.
    """
    if proc is None:
        return None
    pgid = (proc.pid if pgid is None else pgid) if group else None
    strays = family(proc.pid, pgid)
    if proc.poll() is None:
        _signal_group(pgid, first)
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(first)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(grace)
    _signal_group(pgid, signal.SIGKILL)
    try:
        proc.wait(3)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(3)
    leftovers = {p.pid: p for p in strays + family(proc.pid, pgid)}
    for p in leftovers.values():
        with contextlib.suppress(psutil.Error):
            p.kill()
    psutil.wait_procs(list(leftovers.values()), timeout=2)
    return proc.returncode


def kill_matching(marker: str, exclude: set[int] | None = None) -> list[int]:
    """Kill (with their children) processes whose command line contains ``marker``: the last line
    of defence for processes of *this* run (the marker is run-unique, e.g. its temp root)."""
    exclude = (exclude or set()) | {os.getpid()}
    hits = []
    for p in psutil.process_iter(["pid", "cmdline"]):
        try:
            if p.pid not in exclude and marker in " ".join(p.info["cmdline"] or []):
                hits.append(p)
        except psutil.Error:
            continue
    for p in hits:
        try:
            for child in p.children(recursive=True):
                child.kill()
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(hits, timeout=3)
    return [p.pid for p in hits]


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie counts as gone)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def wait_gone(pids: list[int], timeout: float = 5.0) -> list[int]:
    """The pids still alive after ``timeout`` (polled every 50 ms); empty as soon as all are gone."""
    from .waiting import poll

    left = [p for p in pids if alive(p)]

    def gone() -> bool:
        left[:] = [p for p in left if alive(p)]
        return not left
    with contextlib.suppress(AssertionError):
        poll(gone, timeout, "processes gone", interval=0.05)
    return left


def tree_rss(pid: int | None) -> int:
    """RSS bytes of a process and all its descendants; 0 when it is gone."""
    if not pid:
        return 0
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total
