"""``e2et report``: render reports/allure-results into an HTML report with the Allure CLI (npm ``allure``).

Allure 3 is pure Node (no JRE); ``scripts/setup-reports.sh`` installs it under tools/allure/.
The report is written as a single self-contained index.html (opens from file://, no server),
and each generation appends to reports/history/history.jsonl so trends survive between runs.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from support.reporting.environment_info import ALLURE_CLI
from support.reporting.history import write_allurerc

SETUP_HINT = "run `bash scripts/setup-reports.sh` (installs the npm `allure` CLI under tools/allure/)"


def allure_cli() -> Path | None:
    """The Allure CLI installed by setup-reports.sh (preferred: pinned), else one on PATH."""
    if ALLURE_CLI.exists():
        return ALLURE_CLI
    found = shutil.which("allure")
    return Path(found) if found else None


def generate(results: Path, output: Path, name: str = "e2et", timeout: float = 300) -> Path:
    """Generate the HTML report; raises RuntimeError with one line saying what to fix."""
    cli = allure_cli()
    if cli is None:
        raise RuntimeError(f"the Allure command-line tool is not installed: {SETUP_HINT}")
    if not results.is_dir() or not any(results.glob("*-result.json")):
        raise RuntimeError(f"no Allure results in {results}: run `e2et run` or `behave` first")
    config = write_allurerc(output.parent / ".allurerc" / "allurerc.json", name, output.resolve(),
                            history=output.parent / "history" / "history.jsonl")
    if output.exists():
        shutil.rmtree(output)
    proc = subprocess.run([str(cli), "generate", str(results.resolve()), "--config", str(config),
                           "--output", str(output.resolve())], capture_output=True, text=True, timeout=timeout)
    index = output / "index.html"
    if proc.returncode != 0 or not index.exists():
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-10:])
        raise RuntimeError(f"allure generate failed (exit {proc.returncode}): {tail}")
    return index


def main(results: str, output: str, name: str) -> int:
    try:
        index = generate(Path(results), Path(output), name)
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        print(f"e2et report: {e}", file=sys.stderr)
        return 2
    print(f"e2et report: {index}")
    return 0
