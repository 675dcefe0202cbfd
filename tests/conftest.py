"""Session-wide rules for every test: nothing a test runs writes into the checkout's reports/.

Why: a user's reports/ holds their last run (summary, Allure results, JUnit, history); a test run
must never replace it. Every child process inherits ``E2ET_REPORTS_DIR`` pointing at a session temp
dir, and at the end the checkout's reports/ is compared with how it was before the session.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

CHECKOUT_REPORTS = Path(__file__).resolve().parents[1] / "reports"
_SESSION_DIR = tempfile.mkdtemp(prefix="e2et-test-reports-")
os.environ["E2ET_REPORTS_DIR"] = _SESSION_DIR


def _snapshot() -> dict[str, tuple[int, int]]:
    if not CHECKOUT_REPORTS.is_dir():
        return {}
    out = {}
    for p in CHECKOUT_REPORTS.rglob("*"):
        try:
            st = p.stat()
        except OSError:
            continue
        out[str(p.relative_to(CHECKOUT_REPORTS))] = (st.st_mtime_ns, st.st_size)
    return out


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_KEY] = _snapshot()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    before = session.config.stash.get(_KEY, {})
    after = _snapshot()
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    if changed:
        print(f"\nERROR: tests wrote into the checkout's reports/: {changed[:10]}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_KEY = pytest.StashKey[dict[str, tuple[int, int]]]()
