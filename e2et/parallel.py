"""``e2et run --parallel N``: independent flows against one shared environment.

Each flow is its own behave process with its own run id (so every name and object it creates and
every record it matches is its own), its own diagnostics under ``reports/runs/<run-id>/``, and
results in the one combined Allure result set. For `local`, the flows share one sandbox per
selected pack (started once, concurrently, before the flows).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from support.reporting.paths import clear_results
from support.reporting.summary import write_combined

from . import exitcodes

REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Flow:
    run_id: str
    tags: list[str]
    dir: Path
    proc: subprocess.Popen | None = None
    started: float = 0.0
    ended: float = 0.0

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        try:
            for feature in json.loads((self.dir / "behave.json").read_text()):
                for el in feature.get("elements", []):
                    if el.get("type") == "scenario":
                        out[el.get("status", "?")] = out.get(el.get("status", "?"), 0) + 1
        except (OSError, ValueError):
            pass
        return out


def _write_summary(reports: Path, flows: list[Flow], codes: list[int]) -> None:
    """reports/summary.{json,md} for the whole parallel run, from each flow's own summary.json."""
    rows = []
    for f, rc in zip(flows, codes, strict=False):
        try:
            own = json.loads((f.dir / "summary.json").read_text())
        except (OSError, ValueError):
            own = None
        rows.append({"run_id": f.run_id, "tags": f.tags, "exit_code": rc,
                     "duration_s": round(f.ended - f.started, 3), "summary": own})
    try:
        _, md = write_combined(reports, rows)
        print(f"e2et: summary {md}", flush=True)
    except OSError as e:
        print(f"e2et: could not write the combined summary: {e}", file=sys.stderr)


def _aggregate(codes: list[int]) -> int:
    for special in (exitcodes.TERMINATED, exitcodes.INTERRUPTED, exitcodes.CONFIG):
        if special in codes:
            return special
    return exitcodes.FAILED if any(codes) else exitcodes.OK


def run_parallel(tag_sets: list[list[str]], reports: Path, profile: str | None,
                 extra: list[str]) -> int:
    from support.run import new_run_id

    reports = reports.resolve()
    env = dict(os.environ)
    if profile:
        env["E2ET_PROFILE"] = profile
    from support.config import profile_name
    from support.errors import ConfigError
    from support.sandboxes import Sandboxes, SandboxStartError, to_start
    from support.selection import packs_for_tags

    chosen: list[str] = []
    for tags in tag_sets:
        chosen += [p.name for p in packs_for_tags(tags, extra) if p.name not in chosen]
    sandbox: Sandboxes | None = None
    try:
        starting = to_start(chosen, profile_name(profile, env), env)
        if starting:
            sandbox = Sandboxes.start(starting, reports / "runs" / f"shared-sandbox-{new_run_id()}")
            env.update(sandbox.profile_env(env))
    except (SandboxStartError, ConfigError) as e:
        print(f"e2et: the shared sandboxes did not start: {e}", file=sys.stderr)
        return exitcodes.CONFIG

    flows: list[Flow] = []
    ids: set[str] = set()
    for tags in tag_sets:
        rid = new_run_id()
        while rid in ids:
            rid = new_run_id()
        ids.add(rid)
        flows.append(Flow(rid, tags, reports / "runs" / rid))

    received: list[int] = []

    def forward(signum: int, _frame: object) -> None:
        received.append(signum)
        for f in flows:
            if f.proc and f.proc.poll() is None:
                f.proc.send_signal(signum)

    old = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    clear_results(reports / "allure-results")   # once: every flow adds to the one combined set
    try:
        for f in flows:
            f.dir.mkdir(parents=True, exist_ok=True)
            cmd = [sys.executable, "-m", "behave"]
            for t in f.tags:
                cmd += ["--tags", t]
            cmd += ["-f", "allure", "-o", str(reports / "allure-results"),
                    "-f", "json", "-o", str(f.dir / "behave.json"),
                    "-f", "plain", "-o", str(f.dir / "console.log"),
                    "--junit", "--junit-directory", str(f.dir / "junit"), *extra]
            f.started = time.monotonic()
            flow_env = {**env, "E2ET_RUN_ID": f.run_id, "E2ET_SUMMARY_DIR": str(f.dir),
                        "E2ET_REPORTS_DIR": str(reports)}
            with open(f.dir / "stdout.log", "wb") as out:      # the child keeps its own copy of the fd
                f.proc = subprocess.Popen(cmd, cwd=str(REPO_ROOT), env=flow_env, stdout=out,
                                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        codes = []
        for f in flows:
            assert f.proc is not None
            rc = exitcodes.of_child(f.proc.wait())
            f.ended = time.monotonic()
            codes.append(rc)
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        if sandbox is not None:
            sandbox.stop()
    for f, rc in zip(flows, codes, strict=False):
        c = f.counts()
        print(f"flow {f.run_id} [{' '.join(f.tags)}]: exit {rc}, {c.get('passed', 0)} passed, "
              f"{c.get('failed', 0) + c.get('error', 0)} failed, {c.get('skipped', 0)} skipped, "
              f"{f.ended - f.started:.1f}s — {f.dir}/")
    _write_summary(reports, flows, codes)
    if received:
        return exitcodes.INTERRUPTED if received[0] == signal.SIGINT else exitcodes.TERMINATED
    return _aggregate(codes)
