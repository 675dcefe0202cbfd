"""Where reports go: one root (``reports/`` or ``$E2ET_REPORTS_DIR``) so tests can redirect all of it."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]


def reports_root() -> Path:
    """The report root; tests point it at a temp dir so they never touch the real reports/."""
    return Path(os.environ.get("E2ET_REPORTS_DIR") or REPO_ROOT / "reports")


def allure_results_dir(config: Any | None = None) -> Path:
    """The directory the allure formatter of this run writes to (``-o`` of ``-f allure``), else the default.

    Why ask the behave config: ``e2et run --reports X`` and parallel flows pass their own ``-o``;
    environment.properties and categories.json must land next to *those* results.
    """
    if config is not None:
        formats = list(getattr(config, "format", None) or [])
        outputs = list(getattr(config, "outputs", None) or [])
        for i, name in enumerate(formats):
            if name == "allure" and i < len(outputs) and getattr(outputs[i], "name", None):
                return Path(outputs[i].name)
    return reports_root() / "allure-results"


# what allure-behave and our hooks write into a results directory; nothing else is ever deleted there
_RESULT_GLOBS = ("*-result.json", "*-container.json", "*-attachment*", "environment.properties",
                 "categories.json", "executor.json")


def clear_results(results: Path) -> int:
    """Remove an earlier run's Allure result files so a report shows this run only; return the count.

    Why not ``rm -rf``: the directory is user-configurable (``-o``), so only files Allure itself
    writes are removed. Trends survive: history lives in :func:`history_dir`, not here.
    ``E2ET_KEEP_RESULTS=1`` keeps them (e.g. parallel flows that share one result set).
    """
    if os.environ.get("E2ET_KEEP_RESULTS") or not results.is_dir():
        return 0
    removed = 0
    for pattern in _RESULT_GLOBS:
        for f in results.glob(pattern):
            if f.is_file():
                f.unlink(missing_ok=True)
                removed += 1
    return removed


#: behave's own default and this project's pyproject default: both mean "under the report root"
_DEFAULT_JUNIT = {"reports", "reports/junit"}


def junit_dir(configured: str | None = None) -> Path:
    """Where JUnit XML goes: an explicit ``--junit-directory`` wins; the defaults follow the report root."""
    if configured and str(configured).rstrip("/") not in _DEFAULT_JUNIT:
        return Path(configured)
    return reports_root() / "junit"


def clear_junit(directory: Path) -> int:
    """Remove an earlier run's JUnit files (CI must never read a stale failure); ``E2ET_KEEP_RESULTS=1`` keeps them."""
    if os.environ.get("E2ET_KEEP_RESULTS") or not directory.is_dir():
        return 0
    removed = 0
    for f in directory.glob("TESTS-*.xml"):
        f.unlink(missing_ok=True)
        removed += 1
    return removed


def keep_runs() -> int:
    """How many run folders (``runs/<run-id>/``, sandbox logs included) to keep: ``E2ET_KEEP_RUNS``, default 20."""
    try:
        return max(1, int(os.environ.get("E2ET_KEEP_RUNS") or 20))
    except ValueError:
        return 20


def prune_runs(keep: int | None = None, current: str | None = None) -> list[Path]:
    """Keep the newest ``keep`` folders under ``runs/`` (run ids start with a base-36 timestamp, so
    their names sort by age); the current run's folder is never removed. Returns what was removed."""
    import shutil

    root = reports_root() / "runs"
    if not root.is_dir():
        return []
    keep = keep or keep_runs()
    folders = sorted((d for d in root.iterdir() if d.is_dir()), key=lambda d: (d.stat().st_mtime, d.name))
    victims = [d for d in folders[:-keep] if d.name != current]
    for d in victims:
        shutil.rmtree(d, ignore_errors=True)
    return victims


def summary_dir() -> Path:
    """Where summary.json/summary.md go: ``$E2ET_SUMMARY_DIR`` (a parallel flow's own folder) or the root."""
    return Path(os.environ.get("E2ET_SUMMARY_DIR") or reports_root())


def history_dir() -> Path:
    """Allure history kept between runs (trends); lives outside allure-results so cleaning results keeps it."""
    return reports_root() / "history"
