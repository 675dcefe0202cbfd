"""Allure history carried from one run to the next, so the report shows trends and flaky scenarios.

Allure 3 (the npm ``allure`` CLI) appends each generated report to a JSONL history file
(``historyPath``); we keep it in ``reports/history/`` — outside allure-results and allure-report,
which are recreated — and tell the CLI where it is through a generated ``allurerc.json``. For an
Allure 2 viewer, the previous report's ``history/`` folder is also copied into the new results.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from .paths import history_dir, reports_root


def history_file() -> Path:
    return history_dir() / "history.jsonl"


def carry_into(results: Path, previous_report: Path | None = None) -> None:
    """Copy the previous Allure-2-style report history into the results (no-op when there is none)."""
    src = (previous_report or reports_root() / "allure-report") / "history"
    if src.is_dir():
        dst = results / "history"
        dst.mkdir(parents=True, exist_ok=True)
        for f in src.glob("*.json"):
            shutil.copy2(f, dst / f.name)


def write_allurerc(path: Path, name: str, output: Path, history: Path | None = None,
                   single_file: bool = True) -> Path:
    """The Allure 3 config for ``e2et report``: report name, output, history file, awesome view.

    Single file: the report opens from file:// (CI artefact, mail attachment) without a server.
    """
    history = history or history_file()
    history.parent.mkdir(parents=True, exist_ok=True)
    from .categories import CATEGORIES

    config = {
        "name": name,
        "categories": CATEGORIES,
        "output": str(output),
        "historyPath": str(history.resolve()),
        "plugins": {
            "awesome": {"options": {"singleFile": single_file, "reportName": name, "groupBy": ["feature"]}},
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2) + "\n")
    return path
