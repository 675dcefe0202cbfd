"""Memory and leaked processes, sampled after every cycle.

A soak is also a leak test: the runner (this process) and the sandbox (its whole process tree:
services, broker, pollers) must stay flat, and no process a pack names in its ``leak_markers``
may outlive its run. A leaked one is reparented to init, so the rule is: such a process with ppid 1,
outside the sandboxes' trees, that was not already there when the soak started (other people's runs on a
shared machine are not ours — the orchestrator diffs against the start snapshot).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import psutil

from support.processes import tree_rss  # noqa: F401 (re-exported for the soak)


def leak_markers() -> tuple[str, ...]:
    """What every registered pack says must not outlive a run (``Pack.leak_markers``)."""
    from support import packs
    return tuple(m for p in packs.registry().values() for m in p.leak_markers)


def runner_rss() -> int:
    """The orchestrator's own RSS (its children are the short-lived behave runs, measured apart)."""
    return psutil.Process(os.getpid()).memory_info().rss


@dataclass(frozen=True)
class Orphan:
    pid: int
    ppid: int
    cmdline: str


def _is_agent(cmdline: list[str]) -> bool:
    text = " ".join(cmdline)
    return any(m in text for m in leak_markers())


def orphans(exclude_trees: tuple[int, ...] = ()) -> set[Orphan]:
    """Leak-marked processes adopted by init (ppid 1), outside the given process trees."""
    kept: set[int] = set()
    for root in exclude_trees:
        try:
            r = psutil.Process(root)
            kept |= {r.pid} | {c.pid for c in r.children(recursive=True)}
        except psutil.Error:
            continue
    found: set[Orphan] = set()
    for p in psutil.process_iter(["pid", "ppid", "cmdline"]):
        info = p.info
        if info["pid"] in kept or not info.get("cmdline") or not _is_agent(info["cmdline"]):
            continue
        if info["ppid"] == 1:
            found.add(Orphan(info["pid"], info["ppid"], " ".join(info["cmdline"])[:200]))
    return found
