"""Run context: one run id carried through every name a run creates, and the cleanup stack.

All run-scoped names come from ``RunNames`` so the janitor can recognise (and date) any object
an e2et run left behind: the run id starts with a base-36 timestamp.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

log = logging.getLogger("e2et.run")
ALPHABET = string.digits + string.ascii_lowercase
RUN_ID_RE = re.compile(r"e2et[-_]([0-9a-z]{6})([0-9a-z]{4})[-_]")
STAMP_KEY = "e2et-run-id"


def _b36(n: int, width: int) -> str:
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = ALPHABET[r] + out
    return out.rjust(width, "0")[-width:]


def new_run_id(now: float | None = None) -> str:
    """10 chars ``[0-9a-z]``: 6 of base-36 epoch seconds (sortable, datable) + 4 random."""
    return _b36(int(now if now is not None else time.time()), 6) + "".join(secrets.choice(ALPHABET) for _ in range(4))


def run_id_time(run_id: str) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(run_id[:6], 36), dt.timezone.utc)


def parse_run_id(name: str) -> str | None:
    """The run id inside a run-scoped name (``e2et-<runid>-…`` or ``e2et_<runid>_…``), else None."""
    m = RUN_ID_RE.search(name or "")
    return m.group(1) + m.group(2) if m else None


class RunNames:
    def __init__(self, run_id: str) -> None:
        self.run_id = run_id

    def _rand(self) -> str:
        return "".join(secrets.choice(ALPHABET) for _ in range(6))

    def private_zone(self) -> str:
        return f"e2et_{self.run_id}_{self._rand()}"          # ^[a-z0-9_]+$

    def resource_id(self) -> str:
        return f"e2et-{self.run_id}-{self._rand()}"          # [A-Za-z0-9.:-]+

    def name(self, kind: str) -> str:
        return f"e2et-{self.run_id}-{kind}-{self._rand()}"

    def label_key(self) -> str:
        return "e2et_resource"


@dataclass
class RunContext:
    run_id: str = field(default_factory=lambda: os.environ.get("E2ET_RUN_ID") or new_run_id())

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[0-9a-z]{10}", self.run_id):
            from .errors import ConfigError
            raise ConfigError(f"E2ET_RUN_ID={self.run_id!r} must be 10 characters of [0-9a-z] (or unset it)")
        self.names = RunNames(self.run_id)
        self._temp_root: Path | None = None

    def stamp(self) -> dict[str, str]:
        return {STAMP_KEY: self.run_id, "e2et-created": dt.datetime.now(dt.timezone.utc).isoformat()}

    def temp_root(self) -> Path:
        if self._temp_root is None:
            self._temp_root = Path(tempfile.mkdtemp(prefix=f"e2et-{self.run_id}-"))
        return self._temp_root

    def temp_dir(self, kind: str) -> Path:
        return Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=self.temp_root()))

    def remove_temp(self) -> None:
        if self._temp_root is not None:
            shutil.rmtree(self._temp_root, ignore_errors=True)
            self._temp_root = None


@dataclass
class CleanupFailure:
    name: str
    error: str

    def __str__(self) -> str:
        return f"{self.name}: {self.error}"


class CleanupStack:
    """Register at creation, undo in reverse; each action bounded, failures collected, idempotent."""

    def __init__(self, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self._items: list[tuple[str, Callable[[], object]]] = []
        self._lock = threading.Lock()

    def push(self, name: str, action: Callable[[], object]) -> None:
        with self._lock:
            self._items.append((name, action))

    def __len__(self) -> int:
        return len(self._items)

    def run(self) -> list[CleanupFailure]:
        failures: list[CleanupFailure] = []
        while True:
            with self._lock:
                if not self._items:
                    break
                name, action = self._items.pop()
            err = self._bounded(action)
            if err:
                failures.append(CleanupFailure(name, err))
                log.warning("cleanup %s failed: %s", name, err)
        return failures

    def _bounded(self, action: Callable[[], object]) -> str | None:
        result: list[str | None] = [None]

        def target() -> None:
            try:
                action()
            except Exception as e:  # collected and reported; the rest still runs
                result[0] = f"{type(e).__name__}: {e}"

        t = threading.Thread(target=target, daemon=True)
        t.start()
        t.join(self.timeout)
        if t.is_alive():
            return f"did not finish within {self.timeout:.0f}s"
        return result[0]
