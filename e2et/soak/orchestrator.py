"""Drive a soak: one environment, N cycles, state saved after each, faults injected where planned.

Stop rules, checked between cycles: ``--cycles`` reached, ``--run-hours`` elapsed (wall time
since the soak first started, across resumes), ``--max-failures`` / ``--stop-on-failure`` (only
*unexpected* failures count — an injected cycle is meant to fail), or SIGINT/SIGTERM. On a
signal the running cycle is forwarded the signal, cleans up, and is *not* recorded: ``--resume``
runs it again. Exit code: 130/143 when interrupted, 1 when a non-injected cycle failed, else 0.
"""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from .. import exitcodes
from .config import SoakConfig
from .cycle import run_cycle
from .injection import FaultSwitches, Injection, child_env, plan_injection
from .manifest import write_manifest
from .metrics import MetricsWriter
from .phases import discover_phases
from .progress import SoakProgress
from .records import cycle_records
from .state import CycleRecord, SoakState, load_state, save_state
from .sysmon import orphans, runner_rss, tree_rss


class SoakInputError(ValueError):
    """Bad input found before anything started; the CLI prints it and exits 2."""


@dataclass
class _Signals:
    """Signal bookkeeping: the first signal stops the soak; each is forwarded once to the child."""
    stop: threading.Event = field(default_factory=threading.Event)
    received: list[int] = field(default_factory=list)
    child: subprocess.Popen | None = None
    forwarded: bool = False

    def handler(self, signum: int, _frame: object) -> None:
        self.received.append(signum)
        self.stop.set()
        if self.child is not None and self.child.poll() is None:
            try:
                self.child.send_signal(signum)
                self.forwarded = True
            except ProcessLookupError:
                pass


def soak_packs(cfg: SoakConfig) -> list[str]:
    """The packs the soak's tags select (behave's own evaluation over the feature files)."""
    from support.selection import packs_for_tags
    return [p.name for p in packs_for_tags(cfg.tags, cfg.behave_args)]


def fault_catalog(cfg: SoakConfig) -> list[str]:
    """Fault names of the selected packs' sandboxes (``pack:name`` where two packs share a name)."""
    from support import faults
    return sorted(faults.catalog(soak_packs(cfg)))


def plan(cfg: SoakConfig, first: int = 1, limit: int = 1000) -> list[tuple[int, Injection | None]]:
    """The cycles a soak would run (up to ``limit`` when only ``--run-hours`` bounds it)."""
    last = cfg.cycles if cfg.cycles is not None else first + limit - 1
    catalog = fault_catalog(cfg) if cfg.inject_failure else []
    return [(c, plan_injection(c, cfg.inject_failure, cfg.inject_every, cfg.inject_at_phase,
                               catalog, cfg.seed, cfg.inject_param))
            for c in range(first, min(last, first + limit - 1) + 1)]


def check_inputs(cfg: SoakConfig) -> list[dict[str, Any]]:
    """Validate flags against the feature files and fault catalog; the phases, for the manifest."""
    problem = cfg.validate()
    if problem:
        raise SoakInputError(problem)
    try:
        phases = discover_phases(cfg.tags)
    except ValueError as e:
        raise SoakInputError(f"--tags {' '.join(cfg.tags)}: {e} (write one expression, "
                             "e.g. '@mypack and @feature:some-feature')") from e
    if not phases:
        raise SoakInputError(f"no feature matches --tags {' '.join(cfg.tags)}")
    if cfg.inject_at_phase and cfg.inject_at_phase not in {p.name for p in phases}:
        raise SoakInputError(f"--inject-at-phase {cfg.inject_at_phase!r} is not a phase of this selection; "
                             f"phases: {', '.join(p.name for p in phases)}")
    if cfg.inject_failure and cfg.inject_failure != "random":
        from support import faults
        from support.errors import ConfigError
        try:
            faults.resolve(cfg.inject_failure, soak_packs(cfg))
        except ConfigError:
            raise SoakInputError(f"unknown fault {cfg.inject_failure!r}; known: random, "
                                 f"{', '.join(fault_catalog(cfg))}") from None
    if cfg.inject_failure and cfg.profile != "local":
        raise SoakInputError(f"--inject-failure needs the local sandbox; profile {cfg.profile} has no fault switches")
    return [{"name": p.name, "file": p.file, "scenarios": p.scenarios} for p in phases]


def dry_run(cfg: SoakConfig, output: Path, console: Console) -> int:
    """Print cycles, phases and injections; creates no file, starts no process."""
    phases = check_inputs(cfg)
    bound = f"{cfg.cycles} cycles" if cfg.cycles else "unbounded cycles"
    if cfg.run_hours:
        bound += f", at most {cfg.run_hours} h"
    console.print(f"soak (dry run) → {output}: {bound} of --tags {' '.join(cfg.tags)} "
                  f"(profile {cfg.profile}), cooldown {cfg.cooldown}s")
    console.print("phases:")
    for p in phases:
        console.print(f"  {p['name']} ({p['file']}): {len(p['scenarios'])} scenarios")
    shown = plan(cfg, limit=50)
    for cycle, inj in shown:
        console.print(f"  cycle {cycle}: " + (f"inject {inj.describe()}" if inj else "clean"))
    if cfg.cycles is None or cfg.cycles > len(shown):
        console.print("  … (later cycles follow the same pattern)")
    return exitcodes.OK


class Soak:
    def __init__(self, cfg: SoakConfig, output: Path, state: SoakState, console: Console) -> None:
        self.cfg = cfg
        self.out = Path(output)
        self.state = state
        self.console = console
        self.metrics = MetricsWriter(self.out)
        self.signals = _Signals()
        self.sandbox: Any = None
        self.sandbox_pids: tuple[int, ...] = ()
        self.faults = FaultSwitches(soak_packs(cfg), cfg.profile)
        self.env = dict(os.environ, E2ET_PROFILE=cfg.profile)

    # -- environment -------------------------------------------------------------------------
    def _start_environment(self) -> None:
        from support.config import read_sandbox_profiles
        from support.sandboxes import Sandboxes, to_start

        names = soak_packs(self.cfg)
        starting = to_start(names, self.cfg.profile, self.env)
        if starting:
            self.sandbox = Sandboxes.start(starting, self.out / "sandbox" / f"session-{self.state.resumes}")
            self.env.update(self.sandbox.profile_env(self.env))
        running = read_sandbox_profiles(self.env) if self.env.get("E2ET_SANDBOX_PROFILE") else {}
        self.sandbox_pids = tuple(int(pid) for v in running.values() if isinstance(v, dict)
                                  for pid in [(v.get("sandbox") or {}).get("pid")] if pid)
        self.faults.env = self.env

    def _stop_environment(self) -> None:
        self.faults.close()
        if self.sandbox is not None:
            self.sandbox.stop()

    def _sample(self) -> dict[str, Any]:
        return {"runner_rss": runner_rss(), "sandbox_rss": sum(tree_rss(p) for p in self.sandbox_pids)}

    # -- cycles ------------------------------------------------------------------------------
    def _stop_reason(self, cycle: int) -> str | None:
        if self.signals.stop.is_set():
            return "interrupted"
        if self.cfg.cycles is not None and cycle > self.cfg.cycles:
            return "cycles done"
        if self.cfg.run_hours and time.time() - self.state.started >= self.cfg.run_hours * 3600:
            return f"--run-hours {self.cfg.run_hours} elapsed"
        failures = self.state.failures()
        if self.cfg.stop_on_failure and failures:
            return "--stop-on-failure: a cycle failed"
        if self.cfg.max_failures is not None and failures >= self.cfg.max_failures:
            return f"--max-failures {self.cfg.max_failures} reached"
        return None

    def _run_one(self, cycle: int, progress: SoakProgress, known_orphans: set) -> bool:
        """Run and record one cycle; False when it was interrupted (then nothing is recorded)."""
        from support.run import new_run_id
        inj = plan_injection(cycle, self.cfg.inject_failure, self.cfg.inject_every, self.cfg.inject_at_phase,
                             fault_catalog(self.cfg) if self.cfg.inject_failure else [], self.cfg.seed,
                             self.cfg.inject_param)
        run_id = new_run_id()
        progress.update(cycle, f"running {run_id}" + (f" [inject {inj.fault}]" if inj else ""))
        whole_cycle = inj is not None and inj.phase is None
        try:
            if whole_cycle and inj is not None:
                self.faults.enable(inj.fault, inj.param)
            env = {**self.env, **child_env(inj, soak_packs(self.cfg))}
            run = run_cycle(cycle, run_id, self.out, self.cfg.tags, env,
                            self.cfg.behave_args, self.cfg.cycle_timeout,
                            on_start=lambda p: setattr(self.signals, "child", p),
                            phase_fault=inj is not None and inj.phase is not None)
        finally:
            self.signals.child = None
            if inj is not None:
                self.faults.disable(inj.fault)        # safety net: never leave a fault behind
        if self.signals.forwarded or (self.signals.stop.is_set()
                                      and run.rc in (exitcodes.INTERRUPTED, exitcodes.TERMINATED)):
            return False          # cut short by us, whatever its exit code: --resume runs it again
        sample = self._sample()
        leaked = orphans(self.sandbox_pids) - known_orphans
        sample["leaked"] = [{"pid": o.pid, "cmdline": o.cmdline} for o in sorted(leaked, key=lambda o: o.pid)]
        self.metrics.write_many(cycle_records(self.state.soak_id, run, inj, sample))
        self.state.add(CycleRecord(cycle, run_id, run.status, run.rc, run.duration_s,
                                   inj.fault if inj else None))
        save_state(self.out, self.state)
        failed = [s.name for s in run.results.failed()]
        verdict = {"passed": "[green]PASS[/]", "failed": "[red]FAIL[/]"}.get(run.status, "[red]ERROR[/]")
        line = (f"cycle {cycle} {run_id} {verdict} rc={run.rc} {run.duration_s:.1f}s"
                + (f" inject={inj.describe()}" if inj else "")
                + (f" failed: {'; '.join(failed)}" if failed else "")
                + (f" LEAKED {len(leaked)}" if leaked else ""))
        progress.finished(cycle, line, run.status == "passed")
        return True

    def run(self) -> int:
        old = {s: signal.signal(s, self.signals.handler) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            self._start_environment()
            known = orphans(self.sandbox_pids)
            self.state.samples.setdefault("start", {**self._sample(), "preexisting_orphans": len(known)})
            save_state(self.out, self.state)
            cycle = self.state.next_cycle
            with SoakProgress(self.cfg.cycles, self.cfg.run_hours, cycle, self.console) as progress:
                while True:
                    reason = self._stop_reason(cycle)
                    if reason:
                        break
                    if not self._run_one(cycle, progress, known):
                        reason = "interrupted"
                        break
                    cycle += 1
                    if self.cfg.cooldown and self._stop_reason(cycle) is None:
                        progress.update(cycle, f"cooldown {self.cfg.cooldown:g}s")
                        self.signals.stop.wait(self.cfg.cooldown)
        finally:
            for s, h in old.items():
                signal.signal(s, h)
            self.state.samples["end"] = self._sample()
            self._stop_environment()
        self.state.stop_reason = reason
        self.state.status = ("interrupted" if reason == "interrupted" else
                             "finished" if reason in ("cycles done",) or reason.startswith("--run-hours")
                             else "stopped")
        save_state(self.out, self.state)
        self.console.print(f"soak {self.state.soak_id}: {reason}; {len(self.state.completed)} cycles recorded "
                           f"({self.state.failures(False)} failed, {self.state.failures()} unexpected) → {self.out}")
        if self.signals.received:
            return exitcodes.INTERRUPTED if self.signals.received[0] == signal.SIGINT else exitcodes.TERMINATED
        return exitcodes.FAILED if self.state.failures() else exitcodes.OK


def start_or_resume(cfg: SoakConfig, output: Path, resume: bool, console: Console) -> Soak:
    """A fresh soak (manifest + empty state) or the stored one; raises SoakInputError on misuse."""
    output = Path(output)
    existing = load_state(output)
    if resume:
        if existing is None:
            raise SoakInputError(f"--resume: no soak state in {output} (start one without --resume)")
        existing.resumes += 1
        existing.status = "running"
        stored = SoakConfig.from_dict(existing.config)
        check_inputs(stored)
        console.print(f"resuming soak {existing.soak_id} at cycle {existing.next_cycle} "
                      f"({len(existing.completed)} done; stored inputs win over the command line)")
        return Soak(stored, output, existing, console)
    if existing is not None:
        raise SoakInputError(f"{output} already holds a soak; use --resume or another --output")
    phases = check_inputs(cfg)
    output.mkdir(parents=True, exist_ok=True)
    state = SoakState(soak_id=output.name, config=cfg.to_dict())
    write_manifest(output, state.soak_id, cfg.to_dict(), phases)
    save_state(output, state)
    return Soak(cfg, output, state, console)
