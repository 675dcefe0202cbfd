"""One deadline poll for the whole project (harness, steps and the tests of the sandbox).

Why not ``time.sleep`` and hope: every wait in e2et is for something the system under test must
do; polling with a deadline returns as soon as it happened and, when it did not, the error says
what was awaited and what was seen instead (a timeout without evidence costs a rerun).
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from .errors import WaitTimeout

T = TypeVar("T")


def poll(fn: Callable[[], T | None], timeout: float, what: str, seen: Callable[[], Any] = lambda: "",
         interval: float = 0.1) -> T:
    """Call ``fn`` until it returns something truthy or the deadline passes; then raise
    ``WaitTimeout`` (an ``AssertionError``) naming ``what`` and ``seen()``."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() >= deadline:
            observed = seen()
            if not isinstance(observed, str):
                observed = f"seen: {observed!r}"
            raise WaitTimeout(f"{what}: not seen within {timeout:g}s. {observed}".strip())
        pause.wait(interval)
