"""Run context: one run id carried through every name a run creates, and the cleanup stack.

All run-scoped names come from ``RunNames`` so the janitor can recognise (and date) any object an
e2et run left behind: the run id starts with a base-36 timestamp, so ids sort by creation time and
``run_id_time`` tells how old a leftover is without asking anybody.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import re
import secrets
import shutil
import string
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError

log = logging.getLogger("e2et.run")
ALPHABET = string.digits + string.ascii_lowercase
RUN_ID_RE = re.compile(r"e2et[-_]([0-9a-z]{6})([0-9a-z]{4})(?:[-_]|$)")
STAMP_KEY = "e2et-run-id"
CREATED_KEY = "e2et-created"
ZONE_RE = re.compile(r"^[a-z0-9_]+$")                 # private zone names (contract §1.5)
RESOURCE_RE = re.compile(r"^[A-Za-z0-9.:-]+$")         # resource ids (contract §1.5)


def _b36(n: int, width: int) -> str:
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = ALPHABET[r] + out
    return out.rjust(width, "0")[-width:]


def _rand(n: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(n))


def new_run_id(now: float | None = None) -> str:
    """10 chars ``[0-9a-z]``: 6 of base-36 epoch seconds (sortable, datable) + 4 random."""
    return _b36(int(now if now is not None else time.time()), 6) + _rand(4)


def run_id_time(run_id: str) -> dt.datetime:
    """When a run started, read from its id (the janitor's age rule)."""
    return dt.datetime.fromtimestamp(int(run_id[:6], 36), dt.UTC)


def parse_run_id(name: str) -> str | None:
    """The run id inside a run-scoped name (``e2et-<runid>-…`` or ``e2et_<runid>_…``), else None."""
    m = RUN_ID_RE.search(name or "")
    return m.group(1) + m.group(2) if m else None


class RunNames:
    """The single source of every run-scoped name, so each one carries the run id."""

    def __init__(self, run_id: str, temp_dir: Callable[[str], Path] | None = None) -> None:
        self.run_id = run_id
        self._temp_dir = temp_dir

    def private_zone(self) -> str:
        """``e2et_<runid>_<rand>`` — matches the private zone regex ``^[a-z0-9_]+$``."""
        return f"e2et_{self.run_id}_{_rand(6)}"

    def resource_id(self) -> str:
        """``e2et-<runid>-<rand>`` — matches the resource id regex ``[A-Za-z0-9.:-]+``."""
        return f"e2et-{self.run_id}-{_rand(6)}"

    def name(self, kind: str) -> str:
        """Monitor / task / policy / template / token names: ``e2et-<runid>-<kind>-<rand>``."""
        kind = re.sub(r"[^a-z0-9-]+", "-", kind.lower()).strip("-") or "obj"
        return f"e2et-{self.run_id}-{kind}-{_rand(6)}"

    def label_key(self) -> str:
        """The envoy label whose value (the resource id) selects this run's envoys."""
        return "e2et_resource"

    def temp_dir(self, kind: str) -> Path:
        """A fresh directory under the run's temp root (removed when the run ends)."""
        if self._temp_dir is None:
            raise RuntimeError("RunNames without a RunContext has no temp root")
        return self._temp_dir(kind)


class RunContext:
    """The run id (``E2ET_RUN_ID`` or generated), its names and its temp root."""

    def __init__(self, run_id: str | None = None) -> None:
        self.run_id = run_id or os.environ.get("E2ET_RUN_ID") or new_run_id()
        if not re.fullmatch(r"[0-9a-z]{10}", self.run_id):
            raise ConfigError(f"E2ET_RUN_ID={self.run_id!r} must be 10 characters of [0-9a-z] (or unset it)")
        self._temp_root: Path | None = None
        self._lock = threading.Lock()
        self.names = RunNames(self.run_id, self.temp_dir)
        #: Run-wide knobs from the settings (``http.timeout``, ``timeout_multiplier``), set by the lifecycle.
        self.http_timeout = 10.0
        self.timeout_multiplier = 1.0

    def configure(self, http_timeout: float, timeout_multiplier: float = 1.0) -> None:
        self.http_timeout = float(http_timeout)
        self.timeout_multiplier = max(1.0, float(timeout_multiplier))

    def deadline(self, seconds: float) -> float:
        """A wait budget stretched by the run's timeout multiplier (slow machines, remote environments)."""
        return float(seconds) * self.timeout_multiplier

    def __repr__(self) -> str:
        return f"RunContext(run_id={self.run_id!r})"

    def stamp(self) -> dict[str, str]:
        """Metadata put on everything that takes metadata: the janitor's second way to spot leftovers."""
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        return {STAMP_KEY: self.run_id, CREATED_KEY: now.isoformat().replace("+00:00", "Z")}

    def temp_root(self) -> Path:
        with self._lock:
            if self._temp_root is None:
                self._temp_root = Path(tempfile.mkdtemp(prefix=f"e2et-{self.run_id}-"))
            return self._temp_root

    def temp_dir(self, kind: str) -> Path:
        kind = re.sub(r"[^A-Za-z0-9_.-]+", "-", kind) or "tmp"
        return Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=self.temp_root()))

    def remove_temp(self) -> None:
        """Idempotent: the temp root goes away once, whoever calls first."""
        with self._lock:
            root, self._temp_root = self._temp_root, None
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)


@dataclass
class CleanupFailure:
    name: str
    error: str
    #: the action raised an assertion: it proved the system wrong (e.g. a DELETE that left its object)
    product: bool = False

    def __str__(self) -> str:
        return f"{self.name}: {self.error}"


class CleanupStack:
    """Register at creation, undo in reverse; each action bounded, failures collected, idempotent.

    Why threads per action: a hung DELETE must not block the rest of the cleanup (nor the exit of
    an interrupted run). The lock is re-entrant because a signal handler may run ``run()`` on the
    main thread while that thread is inside ``push()``.
    """

    def __init__(self, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self._items: list[tuple[str, Callable[[], object], float]] = []
        self._lock = threading.RLock()
        self.failures: list[CleanupFailure] = []

    def push(self, name: str, action: Callable[[], object], timeout: float | None = None) -> None:
        with self._lock:
            self._items.append((name, action, timeout if timeout is not None else self.timeout))

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        """A stack is a stack even when empty (``stack or default`` must not swap it out)."""
        return True

    def names(self) -> list[str]:
        with self._lock:
            return [n for n, _, _ in self._items]

    def run(self) -> list[CleanupFailure]:
        """Run every pending action (newest first); return this call's failures. Never raises."""
        failures: list[CleanupFailure] = []
        while True:
            with self._lock:
                if not self._items:
                    break
                name, action, timeout = self._items.pop()
            failure = self._bounded(name, action, timeout)
            if failure:
                failures.append(failure)
                log.warning("cleanup %s failed: %s", name, failure.error)
        self.failures.extend(failures)
        return failures

    @staticmethod
    def _bounded(name: str, action: Callable[[], object], timeout: float) -> CleanupFailure | None:
        result: list[CleanupFailure | None] = [None]

        def target() -> None:
            try:
                action()
            except AssertionError as e:
                result[0] = CleanupFailure(name, str(e), product=True)
            except BaseException as e:  # noqa: BLE001 — collected and reported; the rest still runs
                result[0] = CleanupFailure(name, f"{type(e).__name__}: {e}")

        t = threading.Thread(target=target, daemon=True, name=f"cleanup:{name[:40]}")
        t.start()
        t.join(timeout)
        if t.is_alive():
            return CleanupFailure(name, f"did not finish within {timeout:g}s (left running in the background)")
        return result[0]
