"""Child processes that never outlive the stand-in that started them.

Why: a stand-in killed with SIGKILL runs no cleanup; its broker, agents or workers would keep
ports and CPU. ``die_with_parent`` gives a child its own session (so a tree stop reaches it as a
group) and asks Linux for SIGKILL when its parent goes (``PR_SET_PDEATHSIG``).

Linux delivers that signal when the *thread* that forked the child exits, not the process: a
child forked from a short-lived thread (an HTTP handler restarting a broker) would die with that
thread. :class:`Spawner` forks on one long-lived thread instead.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import queue
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> Callable[[], None]:
    """A ``preexec_fn``: own session/process group, and SIGKILL when the spawning thread dies."""
    def setup() -> None:
        os.setsid()
        if sys.platform.startswith("linux"):
            with contextlib.suppress(OSError, AttributeError):   # no prctl: no parent-death signal
                ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
            if os.getppid() != parent_pid:   # parent died between fork and prctl
                os._exit(1)
    return setup


class Spawner:
    """Runs every spawn on one long-lived daemon thread and hands the result (or error) back."""

    def __init__(self, name: str = "spawner") -> None:
        self.name = name
        self._jobs: queue.Queue[tuple[Callable[[], Any], queue.Queue[tuple[bool, Any]]]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def run(self, fn: Callable[[], Any]) -> Any:
        """``fn()`` on the spawner thread; its exception is raised here."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
                self._thread.start()
        reply: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)
        self._jobs.put((fn, reply))
        ok, value = reply.get()
        if not ok:
            raise value
        return value

    def _loop(self) -> None:
        while True:
            fn, reply = self._jobs.get()
            try:
                reply.put((True, fn()))
            except BaseException as e:  # noqa: BLE001 — handed back to the caller's thread, raised there
                reply.put((False, e))
