"""One run of the suite as a child process, summarised for service mode (``e2et serve``).

Why a child process and not behave in-process: behave keeps global state (step registry,
hooks, signal handlers) and the run starts/stops a sandbox; a fresh interpreter per run is what
``e2et run`` does too, so a failing or crashing run cannot poison the next one.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from support.reporting.paths import clear_results

REPO_ROOT = Path(__file__).resolve().parents[1]
_SECRET_ENV = re.compile(r"KEY|PASSWORD|TOKEN|SECRET", re.I)


@dataclass
class ScenarioResult:
    feature: str
    name: str
    status: str                      # passed, failed, skipped, untested, error
    location: str = ""


@dataclass
class RunResult:
    """What one run proved; ``summary()`` is the JSON body of ``GET /``."""

    exit_code: int
    started: float
    finished: float
    scenarios: list[ScenarioResult] = field(default_factory=list)
    error: str | None = None         # a one-line reason when the run could not judge (exit 2, crash)
    run_dir: str | None = None

    @property
    def success(self) -> bool:
        return self.exit_code == 0 and self.error is None

    @property
    def duration(self) -> float:
        return max(0.0, self.finished - self.started)

    def summary(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for s in self.scenarios:
            counts[s.status] = counts.get(s.status, 0) + 1
        iso = lambda t: dt.datetime.fromtimestamp(t, dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")  # noqa: E731
        return {
            "result": "passed" if self.success else "failed",
            "exit_code": self.exit_code,
            "started": iso(self.started),
            "finished": iso(self.finished),
            "duration_seconds": round(self.duration, 3),
            "scenarios": counts,
            "failed_scenarios": [asdict(s) for s in self.scenarios if s.status in ("failed", "error")],
            "error": self.error,
            "run_dir": self.run_dir,
        }


class SuiteRunner(Protocol):
    """Anything that runs the suite once; the server takes one so tests can inject a fake."""

    def __call__(self) -> RunResult: ...


def secret_values(env: dict[str, str] | os._Environ[str] | None = None) -> list[str]:
    """Values of secret-looking E2ET_* variables: scrubbed from anything the server emits."""
    env = os.environ if env is None else env
    return [v for k, v in env.items() if k.startswith("E2ET_") and _SECRET_ENV.search(k) and len(v) >= 4]


def redact(text: str, secrets: list[str]) -> str:
    for s in sorted(secrets, key=len, reverse=True):
        text = text.replace(s, "***")
    return text


def parse_behave_json(path: Path) -> list[ScenarioResult]:
    """Per-scenario status from behave's JSON formatter output (empty when the run never started)."""
    try:
        features = json.loads(path.read_text() or "[]")
    except (OSError, ValueError):
        return []
    out = []
    for f in features:
        for el in f.get("elements") or []:
            if el.get("type") == "background":
                continue
            out.append(ScenarioResult(feature=f.get("name", ""), name=el.get("name", ""),
                                      status=str(el.get("status", "untested")), location=el.get("location", "")))
    return out


def _last_error_line(log: Path) -> str | None:
    """The one-line reason e2et prints on bad input / unreachable platform (``e2et: ...``)."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        if line.startswith("e2et: "):
            return line[6:].strip()
    tail = [ln for ln in lines if ln.strip()][-1:]
    return tail[0].strip() if tail else None


class BehaveSuiteRunner:
    """Runs ``behave`` (with the suite's profile and tags) once per call, in its own report dir.

    Output goes to ``<reports>/serve/<run>/behave.log`` rather than the server's stdout: the
    server prints one redacted line per run, so its log stays readable as a health feed.
    """

    def __init__(self, profile: str | None, tags: list[str], reports: Path, timeout: float | None = None,
                 extra_args: list[str] | None = None, keep_runs: int = 20) -> None:
        self.profile = profile
        self.keep_runs = max(1, keep_runs)
        self.extra_args = list(extra_args or [])
        self.tags = list(tags or [])
        self.reports = Path(reports)
        self.timeout = timeout
        self._proc: subprocess.Popen | None = None

    def stop(self) -> None:
        """SIGTERM the run in progress (its hooks clean up what it created); no-op when idle."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()

    def _prune(self, serve_dir: Path) -> None:
        """Keep the newest ``keep_runs`` run folders: a service checking every minute must not fill its disk."""
        runs = sorted((d for d in serve_dir.iterdir() if d.is_dir()), key=lambda d: d.name)
        for old in runs[:-self.keep_runs]:
            shutil.rmtree(old, ignore_errors=True)

    def command(self, run_dir: Path) -> list[str]:
        cmd = [sys.executable, "-m", "behave"]
        for t in self.tags:
            cmd += ["--tags", t]
        return [*cmd, "-f", "json", "-o", str(run_dir / "behave.json"),
                "-f", "allure", "-o", str(self.reports / "allure-results"),
                "-f", "plain", "-o", str(run_dir / "behave.txt"),
                "--junit", "--junit-directory", str(run_dir / "junit"), *self.extra_args]

    def __call__(self) -> RunResult:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        run_dir = (self.reports / "serve" / stamp).resolve()
        run_dir.mkdir(parents=True, exist_ok=True)
        self._prune(run_dir.parent)
        clear_results(self.reports / "allure-results")   # Allure shows the last run; trends via history
        env = dict(os.environ)
        if self.profile:
            env["E2ET_PROFILE"] = self.profile
        log = run_dir / "behave.log"
        started = time.time()
        error = None
        with log.open("wb") as out:
            proc = subprocess.Popen(self.command(run_dir), cwd=str(REPO_ROOT), env=env, stdout=out,
                                    stderr=subprocess.STDOUT)
            self._proc = proc
            try:
                rc = proc.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                proc.terminate()     # SIGTERM: behave's hooks still clean up what the run created
                try:
                    rc = proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    rc = proc.wait()
                error = f"run exceeded {self.timeout:.0f}s and was stopped"
            finally:
                self._proc = None
        scenarios = parse_behave_json(run_dir / "behave.json")
        if error is None and rc != 0 and not any(s.status == "failed" for s in scenarios):
            error = _last_error_line(log) or f"behave exited with code {rc}"
        return RunResult(exit_code=rc, started=started, finished=time.time(), scenarios=scenarios,
                         error=error, run_dir=str(run_dir))
